//! What every request handler shares.

use crate::content::Content;
use crate::metrics::Metrics;

/// The registry's shared state, behind an `Arc` in the router.
pub struct AppState {
    pub content: Content,
    pub metrics: Metrics,
}
