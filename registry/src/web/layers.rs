//! The middleware every surface shares: host isolation by surface, and request metrics
//! by the route label the surface set on its response.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use prometheus_client::metrics::counter::Counter;

use super::Surface;
use crate::hosts::request_host;
use crate::metrics::{Metrics, RouteLabel};
use crate::state::AppState;
use crate::web::oci::error::OciError;

/// `router` answering only on its surface's host: elsewhere its paths are a 404, so
/// pushed content can never be served from the pages' origin.
pub fn on_its_host(
    surface: Surface,
    router: Router<Arc<AppState>>,
    state: &Arc<AppState>,
) -> Router<Arc<AppState>> {
    router.route_layer(axum::middleware::from_fn_with_state(
        (state.clone(), surface),
        isolate,
    ))
}

/// `router` with its request bodies counted and `label` on each of its responses, for
/// metrics (a surface whose routes are all one family).
pub fn labelled(
    router: Router<Arc<AppState>>,
    label: &'static str,
    state: &Arc<AppState>,
) -> Router<Arc<AppState>> {
    let route = RouteLabel(label);
    router.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        move |State(app): State<Arc<AppState>>, request: Request, next: Next| async move {
            let request = request.map(|body| count_received(&app.metrics, route, body));
            let mut response = next.run(request).await;
            response.extensions_mut().insert(route);
            response
        },
    ))
}

async fn isolate(
    State((app, surface)): State<(Arc<AppState>, Surface)>,
    request: Request,
    next: Next,
) -> Response {
    let host = request_host(request.headers(), request.uri());
    if app.hosts.admits(surface.host(), host.as_deref()) {
        next.run(request).await
    } else {
        OciError::NotFound.into_response()
    }
}

/// Records every request that reaches a surface (or none): count and time to the
/// response headers by the route label the response carries, and the response body's
/// bytes. Request bodies are counted by the surface, which knows the route before it
/// reads them ([`count_received`]), so an upload's bytes show while they stream.
pub async fn track(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().to_string();
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .copied()
        .unwrap_or(RouteLabel::OTHER);
    state
        .metrics
        .record(route, method, response.status().as_u16(), start.elapsed());
    let sent = state.metrics.bytes_out(route);
    response.map(|body| Body::new(count(body, sent)))
}

/// `body`, counted into `route`'s received bytes as it is read.
pub fn count_received(metrics: &Metrics, route: RouteLabel, body: Body) -> Body {
    Body::new(count(body, metrics.bytes_in(route)))
}

fn count(
    body: Body,
    counter: Counter,
) -> impl http_body::Body<Data = bytes::Bytes, Error = axum::Error> {
    body.map_frame(move |frame| {
        if let Some(data) = frame.data_ref() {
            counter.inc_by(data.len() as u64);
        }
        frame
    })
}
