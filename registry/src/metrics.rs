//! Prometheus metrics: requests, latencies and bytes by route, method and status.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Garbage collection's runs by this process.
#[derive(Default)]
struct GcMetrics {
    runs: Family<OutcomeLabels, Counter>,
    seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    blobs: Counter,
    bytes: Counter,
    last_success: Gauge<f64, std::sync::atomic::AtomicU64>,
}

type Histograms = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The registry's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Histograms,
    bytes_in: Family<RouteLabels, Counter>,
    bytes_out: Family<RouteLabels, Counter>,
    gc: GcMetrics,
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
        let gc = GcMetrics::default();
        registry.register(
            "gc_runs",
            "Garbage collection runs, by outcome",
            gc.runs.clone(),
        );
        registry.register(
            "gc_duration_seconds",
            "Time spent collecting garbage",
            gc.seconds.clone(),
        );
        registry.register(
            "gc_reclaimed_blobs",
            "Blobs removed by garbage collection",
            gc.blobs.clone(),
        );
        registry.register(
            "gc_reclaimed_bytes",
            "Bytes of the blobs removed by garbage collection",
            gc.bytes.clone(),
        );
        registry.register(
            "gc_last_success_timestamp_seconds",
            "When the last successful garbage collection ended (Unix time)",
            gc.last_success.clone(),
        );
        Metrics {
            gc,
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

    /// Records a garbage collection run that took `elapsed` and, if it succeeded,
    /// removed `(blobs, bytes)`.
    pub fn gc_run(&self, elapsed: Duration, reclaimed: Option<(u64, u64)>) {
        let outcome = if reclaimed.is_some() {
            "success"
        } else {
            "failure"
        };
        self.gc.runs.get_or_create(&OutcomeLabels { outcome }).inc();
        self.gc.seconds.inc_by(elapsed.as_secs_f64());
        if let Some((blobs, bytes)) = reclaimed {
            self.gc.blobs.inc_by(blobs);
            self.gc.bytes.inc_by(bytes);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            self.gc.last_success.set(now.as_secs_f64());
        }
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
