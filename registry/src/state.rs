//! What every request handler shares.

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::content::Content;
use crate::content::locks::KeyedLocks;
use crate::hosts::Hosts;
use crate::metrics::Metrics;
use crate::policy::PolicySource;

/// The registry's shared state, behind an `Arc` in the router.
pub struct AppState {
    pub content: Content,
    pub metrics: Metrics,
    pub auth: Authenticator,
    pub policy: Arc<dyn PolicySource>,
    pub hosts: Hosts,
    /// One package creation at a time per package.
    pub package_locks: KeyedLocks,
    /// File watchers (PATs, keys) that must live as long as the state.
    pub watchers: Vec<notify::RecommendedWatcher>,
    /// In a cluster: where Package status is written.
    pub cluster: Option<crate::cluster::ClusterHandle>,
}
