//! `GET /v2/`: the API version check.

use axum::Json;
use axum::response::{IntoResponse, Response};

pub fn handle() -> Response {
    Json(serde_json::json!({})).into_response()
}
