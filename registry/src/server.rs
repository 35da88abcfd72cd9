//! Assembles the router and runs the server.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::config::Config;
use crate::content::Content;
use crate::metrics::Metrics;
use crate::oci::http::{API_VERSION, DOCKER_API_VERSION};
use crate::state::AppState;
use crate::storage::fs::FsStorage;
use crate::{health, metrics, oci};

/// The whole HTTP surface over `state`.
pub fn app(state: Arc<AppState>) -> Router {
    let oci = oci::routes::router().layer(SetResponseHeaderLayer::overriding(
        DOCKER_API_VERSION,
        API_VERSION,
    ));
    Router::new()
        .merge(oci)
        .merge(health::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Builds the registry's state for `config` (filesystem storage).
pub fn state(config: &Config) -> io::Result<Arc<AppState>> {
    let storage = Arc::new(FsStorage::open(&config.data_dir)?);
    Ok(Arc::new(AppState {
        content: Content::new(storage, config.limits.clone()),
        metrics: Metrics::default(),
    }))
}

/// A bound, not yet serving, registry: binding first lets callers learn the address
/// (port 0 picks a free one) before serving starts.
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl Server {
    pub async fn bind(config: &Config) -> io::Result<Server> {
        let state = state(config)?;
        let listener = TcpListener::bind(config.listen).await?;
        Ok(Server { listener, state })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, purging expired uploads meanwhile.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let purger = tokio::spawn(purge_expired_uploads(self.state.clone()));
        let result = axum::serve(self.listener, app(self.state))
            .with_graceful_shutdown(shutdown)
            .await;
        purger.abort();
        result
    }
}

/// Expired upload sessions are purged at least this often (and twice per timeout).
const PURGE_INTERVAL: Duration = Duration::from_secs(60);

async fn purge_expired_uploads(state: Arc<AppState>) {
    let every = PURGE_INTERVAL.min(state.content.limits().upload_timeout / 2);
    let mut tick = tokio::time::interval(every.max(Duration::from_secs(1)));
    loop {
        tick.tick().await;
        match state.content.purge_expired_uploads().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "purged expired upload sessions"),
            Err(e) => tracing::warn!(error = %e, "purging expired uploads failed"),
        }
    }
}
