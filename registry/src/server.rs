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
use crate::oci::http::{API_VERSION, DOCKER_API_VERSION};
use crate::standalone::{StartError, build};
use crate::state::AppState;
use crate::{auth, health, hosts, metrics, oci, site};

/// The whole HTTP surface over `state`.
pub fn app(state: Arc<AppState>) -> Router {
    let oci = oci::routes::router().layer(SetResponseHeaderLayer::overriding(
        DOCKER_API_VERSION,
        API_VERSION,
    ));
    Router::new()
        .merge(oci)
        .merge(auth::token_route::router())
        .merge(site::router())
        .merge(health::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hosts::isolate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A bound, not yet serving, registry: binding first lets callers learn the address
/// (port 0 picks a free one) before serving starts.
pub struct Server {
    listener: TcpListener,
    state: Arc<AppState>,
    bootstrap_token: Option<String>,
}

impl Server {
    /// A standalone registry for `config`, bound to its address.
    pub async fn bind(config: &Config) -> Result<Server, StartError> {
        let standalone = build(config)?;
        let listener = TcpListener::bind(config.listen).await?;
        Ok(Server {
            listener,
            state: standalone.state,
            bootstrap_token: standalone.bootstrap_token,
        })
    }

    /// A registry pod in a cluster for `config`, bound to its address.
    pub async fn bind_cluster(
        config: &Config,
        opts: &crate::cluster::ClusterOptions,
    ) -> Result<Server, StartError> {
        let state = crate::cluster::build(config, opts).await?;
        let listener = TcpListener::bind(config.listen).await?;
        Ok(Server {
            listener,
            state,
            bootstrap_token: None,
        })
    }

    /// The admin token this start created (the very first start only).
    pub fn bootstrap_token(&self) -> Option<&str> {
        self.bootstrap_token.as_deref()
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
