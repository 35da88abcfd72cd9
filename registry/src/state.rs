//! What every request handler shares. Built by `start/`, read by the surfaces in `web/`;
//! it holds values only (no lifetimes, no cluster handle), so it imports nothing above
//! the domain modules.

use std::sync::Arc;

use crate::auth::Authenticator;
use crate::content::Content;
use crate::content::locks::KeyedLocks;
use crate::hosts::Hosts;
use crate::metrics::Metrics;
use crate::packages::downloads::Downloads;
use crate::packages::{PackageStatusSink, Packages};
use crate::policy::PolicySource;

/// The registry's shared state, behind an `Arc` in the router.
pub struct AppState {
    pub content: Arc<Content>,
    pub metrics: Metrics,
    pub auth: Arc<Authenticator>,
    pub policy: Arc<dyn PolicySource>,
    pub hosts: Hosts,
    /// One package creation at a time per package.
    pub package_locks: KeyedLocks,
    /// In a cluster: where Package status is written after a push.
    pub package_status: Option<Arc<dyn PackageStatusSink>>,
    /// How long deleted versions and packages can be restored.
    pub restore_window: std::time::Duration,
    /// When the server collects garbage.
    pub gc: crate::config::GcConfig,
    /// Whose turn the collection is, when several processes serve one store.
    pub gc_turn: Option<Arc<dyn crate::maintenance::gc::Turn>>,
    /// Manifest downloads counted here, flushed in batches by the server.
    pub downloads: Downloads,
    /// Whether a client's address is the last `X-Forwarded-For` entry (set by the
    /// ingress in front of a cluster's pods) rather than the connection's peer.
    pub trust_forwarded_for: bool,
    /// Webhook deliveries: events recorded on push, delivered by the server's task.
    pub webhooks: Option<Arc<crate::webhooks::Webhooks>>,
}

impl AppState {
    /// The address a request came from, for the sign-in limits: the connection's peer
    /// (`None` in process, without one), or behind the cluster's ingress the address it
    /// appended to `X-Forwarded-For`.
    pub fn client_address(&self, parts: &http::request::Parts) -> Option<std::net::IpAddr> {
        if self.trust_forwarded_for
            && let Some(last) = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .next_back()
            && let Ok(address) = last.trim().parse()
        {
            return Some(address);
        }
        parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
    }

    /// Records `action` by `entry` in the audit trail, and for an act on a package, in
    /// the package status sink too (in a cluster, an Event on the Package). The sink
    /// runs on its own task: the request is not held up by it.
    pub fn audit(&self, action: crate::audit::Action, entry: &crate::audit::Entry<'_>) {
        crate::audit::record(action, entry, "ok");
        let (Some(sink), Some(package)) = (&self.package_status, entry.package) else {
            return;
        };
        let Ok(repo) = crate::oci::reference::RepoName::parse(package) else {
            return;
        };
        let (sink, act) = (sink.clone(), crate::audit::PackageAct::of(action, entry));
        tokio::spawn(async move { sink.audited(&repo, &act).await });
    }

    /// The package use-cases over this state.
    pub fn packages(&self) -> Packages<'_> {
        Packages {
            content: &self.content,
            policy: &*self.policy,
            locks: &self.package_locks,
            status: self.package_status.as_deref(),
            restore_window: self.restore_window,
            downloads: &self.downloads,
            events: self
                .webhooks
                .as_deref()
                .map(|w| w as &dyn crate::packages::events::EventSink),
        }
    }
}
