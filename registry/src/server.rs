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
use crate::content::UploadStateKey;
use crate::oci::http::{API_VERSION, DOCKER_API_VERSION};
use crate::standalone::{StartError, build};
use crate::state::AppState;
use crate::storage::Storage;
use crate::storage::fs::FsStorage;
use crate::storage::s3::S3Storage;
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

/// The content of `config`'s storage backend (filesystem or S3), with its caches and
/// upload-state key. Nothing remote is contacted yet.
pub fn content(config: &Config) -> io::Result<Content> {
    let storage: Arc<dyn Storage> = match &config.s3 {
        Some(s3) => Arc::new(S3Storage::new(s3.clone())),
        None => Arc::new(FsStorage::open(&config.data_dir)?),
    };
    let mut content =
        Content::new(storage, config.limits.clone()).with_max_staleness(config.max_staleness());
    if let Some(file) = &config.upload_state_key_file {
        let text = std::fs::read(file)?;
        let key = UploadStateKey::new(text.trim_ascii().to_vec()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} holds fewer than {} bytes: too short for an upload-state key",
                    file.display(),
                    crate::content::upload_state::MIN_KEY_BYTES
                ),
            )
        })?;
        content = content.with_upload_state_key(key);
    }
    Ok(content)
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
        tokio::spawn(first_storage_check(self.state.clone()));
        let result = axum::serve(self.listener, app(self.state))
            .with_graceful_shutdown(shutdown)
            .await;
        purger.abort();
        result
    }
}

/// Checks storage once at start (creating an S3 bucket when so configured), so a
/// misconfiguration is in the log at once rather than at the first probe.
async fn first_storage_check(state: Arc<AppState>) {
    match state.content.storage().check().await {
        Ok(()) => tracing::info!("storage is ready"),
        Err(e) => tracing::warn!(error = %e, "storage is not ready"),
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
