//! Prometheus metrics: requests, latencies and bytes by route, method and status.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

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

/// The route family a response came from, set by the surface that served it; requests
/// are labelled with it, so no path is classified twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteLabel(pub &'static str);

impl RouteLabel {
    /// A response no surface claimed (an unknown path).
    pub const OTHER: RouteLabel = RouteLabel("other");
}

impl Metrics {
    /// Records a request whose response headers are ready: its count and time.
    pub fn record(&self, route: RouteLabel, method: String, status: u16, elapsed: Duration) {
        let labels = RequestLabels {
            route: route.0,
            method,
            status,
        };
        self.requests.get_or_create(&labels).inc();
        self.durations
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The counter of request body bytes for `route`.
    pub fn bytes_in(&self, route: RouteLabel) -> Counter {
        self.bytes_in
            .get_or_create(&RouteLabels { route: route.0 })
            .clone()
    }

    /// The counter of response body bytes for `route`.
    pub fn bytes_out(&self, route: RouteLabel) -> Counter {
        self.bytes_out
            .get_or_create(&RouteLabels { route: route.0 })
            .clone()
    }
}
