//! TLS in `registry serve` itself, for a registry without an ingress in front: rustls
//! (ring) through axum-server, HTTP/2 by ALPN, and the certificate reloaded when its
//! files change (cert-manager and certbot replace them in place), so rotation needs no
//! restart. A bad pair is refused at start naming both files; a bad pair written later
//! is logged and the last good one stays in force.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use axum::Router;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::net::TcpListener;

use crate::config::{Config, TlsFiles};

/// How long open connections get to finish at shutdown.
const DRAIN: Duration = Duration::from_secs(10);

pub struct Tls {
    config: RustlsConfig,
    files: TlsFiles,
}

impl Tls {
    /// The certificate and key `config` names, if it names them; the error says which
    /// files and what is wrong.
    pub async fn load(config: &Config) -> Result<Option<Tls>, String> {
        let Some(files) = &config.tls else {
            return Ok(None);
        };
        let rustls = RustlsConfig::from_pem_file(&files.cert, &files.key)
            .await
            .map_err(|e| bad_pair(files, &e))?;
        Ok(Some(Tls {
            config: rustls,
            files: files.clone(),
        }))
    }

    /// Serves `app` over TLS on `listener` until `shutdown`.
    pub async fn serve(
        self,
        listener: TcpListener,
        app: Router,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let _watcher = self.watch();
        let handle = axum_server::Handle::new();
        let stopping = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            stopping.graceful_shutdown(Some(DRAIN));
        });
        // TCP_NODELAY as on the plain listener (see `server.rs`).
        let acceptor = RustlsAcceptor::new(self.config).acceptor(NoDelayAcceptor::new());
        // Every URL the registry writes (the token realm, Location, Link) says https.
        let app = app.layer(tower_http::set_header::SetRequestHeaderLayer::overriding(
            axum::http::HeaderName::from_static("x-forwarded-proto"),
            axum::http::HeaderValue::from_static("https"),
        ));
        axum_server::from_tcp(listener.into_std()?)?
            .acceptor(acceptor)
            .handle(handle)
            .serve(app.into_make_service_with_connect_info::<SocketAddr>())
            .await
    }

    /// Reloads the pair when a file in their directories changes.
    fn watch(&self) -> Vec<notify::RecommendedWatcher> {
        let runtime = tokio::runtime::Handle::current();
        let mut dirs: Vec<&Path> = [&self.files.cert, &self.files.key]
            .iter()
            .filter_map(|f| f.parent())
            .collect();
        dirs.dedup();
        dirs.into_iter()
            .filter_map(|dir| {
                let (config, files) = (self.config.clone(), self.files.clone());
                let runtime = runtime.clone();
                crate::watch::watch_dir(dir, move || {
                    let (config, files) = (config.clone(), files.clone());
                    runtime.spawn(async move {
                        match config.reload_from_pem_file(&files.cert, &files.key).await {
                            Ok(()) => tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded"),
                            Err(e) => tracing::warn!(
                                error = %bad_pair(&files, &e),
                                "TLS certificate not reloaded; the last good one stays in force"
                            ),
                        }
                    });
                })
                .map_err(|e| tracing::warn!(dir = %dir.display(), error = %e, "cannot watch the TLS files; a new certificate applies at restart"))
                .ok()
            })
            .collect()
    }
}

fn bad_pair(files: &TlsFiles, e: &io::Error) -> String {
    format!(
        "cannot serve TLS with --tls-cert {} and --tls-key {}: {e} (both PEM: the certificate chain, then its private key)",
        files.cert.display(),
        files.key.display()
    )
}
