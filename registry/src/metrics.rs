//! Prometheus metrics: requests, latencies and bytes by route, method and status.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::oci::path::parse_route;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

type Histograms = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The registry's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Histograms,
    bytes_in: Family<RouteLabels, Counter>,
    bytes_out: Family<RouteLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("berth");
        let requests = Family::<RequestLabels, Counter>::default();
        let durations: Histograms =
            Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.0002, 2.5, 14)));
        let bytes_in = Family::<RouteLabels, Counter>::default();
        let bytes_out = Family::<RouteLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests handled", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to the response headers",
            durations.clone(),
        );
        registry.register(
            "http_request_bytes",
            "Request body bytes received",
            bytes_in.clone(),
        );
        registry.register(
            "http_response_bytes",
            "Response body bytes sent",
            bytes_out.clone(),
        );
        Metrics {
            registry,
            requests,
            durations,
            bytes_in,
            bytes_out,
        }
    }
}

impl Metrics {
    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The route label of a path: the OCI endpoint family, or the fixed paths.
fn route_label(path: &str) -> &'static str {
    match path {
        "/v2" => "base",
        "/metrics" => "metrics",
        "/livez" | "/readyz" => "health",
        p => p
            .strip_prefix("/v2/")
            .and_then(parse_route)
            .map_or("other", |r| r.label()),
    }
}

/// Middleware recording every request.
pub async fn track(
    State(state): State<std::sync::Arc<crate::state::AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let m = &state.metrics;
    let start = Instant::now();
    let route = route_label(request.uri().path());
    let method = request.method().to_string();
    let bytes_in = m.bytes_in.get_or_create(&RouteLabels { route }).clone();
    let request = request.map(|body| Body::new(count(body, bytes_in)));
    let response = next.run(request).await;
    let labels = RequestLabels {
        route,
        method,
        status: response.status().as_u16(),
    };
    m.requests.get_or_create(&labels).inc();
    m.durations
        .get_or_create(&labels)
        .observe(start.elapsed().as_secs_f64());
    let bytes_out = m.bytes_out.get_or_create(&RouteLabels { route }).clone();
    response.map(|body| Body::new(count(body, bytes_out)))
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
