//! `/livez`, `/readyz` and `/metrics`: on every host, outside the surfaces' tracing,
//! request metrics and host isolation (see `web::app`).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::state::AppState;

pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// Ready when storage answers with a layout this binary reads and the policy has been read. The body names what is
/// wrong, and lists policy problems (the last good policy stays in force meanwhile, so
/// they do not make the registry unready).
async fn readyz(State(app): State<Arc<AppState>>) -> Response {
    if let Err(e) = app.content.check().await {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("storage: {e}\n")).into_response();
    }
    if !app.policy.is_synced() {
        return (StatusCode::SERVICE_UNAVAILABLE, "policy: not read yet\n").into_response();
    }
    let mut body = String::from("ok\n");
    for p in app.policy.problems() {
        body.push_str(&format!("policy problem: {p}\n"));
    }
    (StatusCode::OK, body).into_response()
}

async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
        .into_response()
}
