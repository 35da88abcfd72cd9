//! `GET /v2/`: the API version check.

use axum::Json;
use axum::response::{IntoResponse, Response};

pub async fn handle() -> Response {
    Json(serde_json::json!({})).into_response()
}
