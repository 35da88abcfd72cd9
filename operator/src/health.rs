//! `/livez`, `/readyz` and `/metrics` for the operator.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::context::Context;

pub async fn serve(listener: tokio::net::TcpListener, ctx: Arc<Context>) {
    let app = Router::new()
        .route("/livez", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(|State(ctx): State<Arc<Context>>| async move {
                if ctx.ready.load(Ordering::Acquire) {
                    (StatusCode::OK, "ok\n")
                } else {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "starting (or waiting for the leader Lease)\n",
                    )
                }
            }),
        )
        .route(
            "/metrics",
            get(|State(ctx): State<Arc<Context>>| async move {
                (
                    [(
                        header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    ctx.metrics.encode(),
                )
                    .into_response()
            }),
        )
        .with_state(ctx);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the health server stopped");
    }
}
