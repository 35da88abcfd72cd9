//! Runs the server: binds, then serves `web::app` over the state `start/` assembles.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::cluster::ClusterOptions;
use crate::config::Config;
use crate::start::{StartError, Started};
use crate::state::AppState;

pub use crate::web::app;

/// A bound, not yet serving, registry: binding first lets callers learn the address
/// (port 0 picks a free one) before serving starts.
pub struct Server {
    listener: TcpListener,
    started: Started,
    tls: Option<crate::tls::Tls>,
}

impl Server {
    /// A standalone registry for `config`, bound to its address.
    pub async fn bind(config: &Config) -> Result<Server, StartError> {
        crate::start::check_format(config).await?;
        let tls = crate::tls::Tls::load(config)
            .await
            .map_err(StartError::Tls)?;
        let started = crate::start::standalone(config)?;
        let listener = TcpListener::bind(config.listen).await?;
        Ok(Server {
            listener,
            started,
            tls,
        })
    }

    /// A registry pod in a cluster for `config`, bound to its address.
    pub async fn bind_cluster(
        config: &Config,
        opts: &ClusterOptions,
    ) -> Result<Server, StartError> {
        crate::start::check_format(config).await?;
        let tls = crate::tls::Tls::load(config)
            .await
            .map_err(StartError::Tls)?;
        let started = crate::start::cluster(config, opts).await?;
        let listener = TcpListener::bind(config.listen).await?;
        Ok(Server {
            listener,
            started,
            tls,
        })
    }

    /// The admin token this start created (the very first start only).
    pub fn bootstrap_token(&self) -> Option<&str> {
        self.started.bootstrap_token.as_deref()
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, purging expired uploads meanwhile.
    pub async fn serve(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let Started {
            state, watchers, ..
        } = self.started;
        let stop_flushing = tokio_util::sync::CancellationToken::new();
        let background = Background {
            purger: tokio::spawn(purge_expired_uploads(state.clone())),
            delivery: state
                .webhooks
                .as_ref()
                // At a lower priority than requests (background.rs).
                .map(|webhooks| crate::background::handle().spawn(webhooks.clone().run())),
            flusher: tokio::spawn(flush_downloads(state.clone(), stop_flushing.clone())),
            stop_flushing,
        };
        if state.gc.enabled {
            tokio::spawn(collect_garbage(state.clone()));
        }
        tokio::spawn(first_storage_check(state.clone()));
        if let Some(tls) = self.tls {
            let result = tls.serve(self.listener, app(state.clone()), shutdown).await;
            return finish(state, background, watchers, result).await;
        }
        // Nagle's algorithm holds the last segment of a streamed body until the client's
        // delayed ACK (40 ms) on keep-alive connections: a 1 MB blob pull took 44 ms
        // instead of 1. Every response is written in large frames, so nothing is lost.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::warn!(error = %e, "cannot set TCP_NODELAY");
            }
        });
        // The peer's address is a sign-in limit's key (`AppState::client_address`).
        let service = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        finish(state, background, watchers, result).await
    }
}

/// The work a server does beside answering requests, stopped when it stops.
struct Background {
    purger: tokio::task::JoinHandle<()>,
    delivery: Option<tokio::task::JoinHandle<()>>,
    stop_flushing: tokio_util::sync::CancellationToken,
    flusher: tokio::task::JoinHandle<()>,
}

/// After serving: the background work stopped, the last download counts written.
async fn finish(
    state: Arc<AppState>,
    background: Background,
    watchers: Vec<notify::RecommendedWatcher>,
    result: io::Result<()>,
) -> io::Result<()> {
    let Background {
        purger,
        delivery,
        stop_flushing,
        flusher,
    } = background;
    purger.abort();
    // Stopped anywhere (an event sent and not yet recorded goes again: at least once),
    // then its lanes' claims released, so other replicas need not wait for them to
    // expire.
    if let (Some(delivery), Some(webhooks)) = (delivery, &state.webhooks) {
        delivery.abort();
        let _ = delivery.await;
        webhooks.release_all().await;
    }
    // Stopped between flushes, never inside one (its batch would be lost).
    stop_flushing.cancel();
    let _ = flusher.await;
    // The counts of the last interval, so a clean shutdown loses none.
    if let Err(e) = state.packages().flush_downloads().await {
        tracing::warn!(error = %e, "flushing download counts at shutdown failed");
    }
    // The watchers reload PATs and keys for as long as the server runs.
    drop(watchers);
    result
}

/// Checks storage once at start (creating an S3 bucket when so configured), so a
/// misconfiguration is in the log at once rather than at the first probe.
async fn first_storage_check(state: Arc<AppState>) {
    match state.content.check().await {
        Ok(()) => tracing::info!("storage is ready"),
        Err(e) => tracing::warn!(error = %e, "storage is not ready"),
    }
}

/// Writes the download counts every `FLUSH_INTERVAL`.
async fn flush_downloads(state: Arc<AppState>, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(crate::packages::downloads::FLUSH_INTERVAL);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.cancelled() => return,
        }
        if let Err(e) = state.packages().flush_downloads().await {
            tracing::warn!(error = %e, "flushing download counts failed; they stay pending");
        }
    }
}

/// Collects garbage every `spec.garbageCollection.interval`, first one interval after
/// start, when it is this process's turn (in a cluster, one pod's by a Lease). Runs on
/// one store are safe together (`maintenance::gc`); the turn only spares redundant ones.
async fn collect_garbage(state: Arc<AppState>) {
    let gc = state.gc;
    let options = crate::maintenance::gc::Options {
        restore_window: state.restore_window,
        grace: gc.grace,
        takeover: crate::maintenance::gc::Options::TAKEOVER,
        parallel: crate::maintenance::gc::Options::SCHEDULED_PARALLEL,
    };
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + gc.interval, gc.interval);
    // Held past the next tick, so the holder keeps it unless it misses one.
    let hold = gc.interval + gc.interval / 2;
    loop {
        tick.tick().await;
        if let Some(turn) = &state.gc_turn
            && !turn.take(hold).await
        {
            tracing::debug!("another process has the garbage collection's turn");
            continue;
        }
        // Retention first: what it deletes is restorable, so the sweep keeps its bytes.
        apply_retention(&state).await;
        let started = std::time::Instant::now();
        if gc.dry_run {
            match crate::maintenance::gc::plan_now(&state.content, options).await {
                Ok(plan) => tracing::info!(
                    blobs = plan.blobs().count(),
                    bytes = plan.reclaimed_bytes(),
                    links = plan.links().count(),
                    expired_versions = plan.expired_versions.len(),
                    "garbage collection (dry run) would remove"
                ),
                Err(e) => tracing::warn!(error = %e, "garbage collection (dry run) failed"),
            }
            continue;
        }
        let pause_after_removing = gc.pause_after_removing;
        let result =
            crate::maintenance::gc::sweep(&state.content, options, async move |step, done| {
                if pause_after_removing
                    && step == crate::maintenance::gc::Step::Removed
                    && !done.blobs.is_empty()
                {
                    tracing::warn!(
                        blobs = done.blobs.len(),
                        "garbage collection paused after removing (--gc-pause-after-removing); \
                     it stays here until the process ends"
                    );
                    std::future::pending::<()>().await;
                }
            })
            .await;
        state.metrics.gc_run(
            started.elapsed(),
            result
                .as_ref()
                .ok()
                .map(|r| (r.blobs.len() as u64, r.reclaimed_bytes())),
        );
        match result {
            Ok(report) => tracing::info!(
                blobs = report.blobs.len(),
                bytes = report.reclaimed_bytes(),
                links = report.links.len(),
                expired_versions = report.expired_versions.len(),
                kept_by_requests = report.kept_by_requests,
                seconds = started.elapsed().as_secs_f64(),
                "garbage collection removed"
            ),
            Err(e) => tracing::warn!(error = %e, "garbage collection failed; the next run resumes"),
        }
    }
}

/// Runs every package's `spec.retention`; a package whose rules do not compile is
/// skipped with the reason (the operator reports it as a condition).
async fn apply_retention(state: &AppState) {
    let snapshot = state.policy.snapshot();
    for package in snapshot.packages() {
        let Some(spec) = &package.retention else {
            continue;
        };
        let Ok(repo) =
            crate::oci::reference::RepoName::parse(&format!("{}/{}", package.owner, package.name))
        else {
            continue;
        };
        if package.deleted {
            continue;
        }
        let rules = match crate::packages::retention::Rules::compile(spec) {
            Ok(r) => r,
            Err(why) => {
                tracing::warn!(package = %repo, %why, "retention rules skipped");
                continue;
            }
        };
        match state
            .packages()
            .apply_retention(&repo, &rules, jiff::Timestamp::now())
            .await
        {
            Ok(None) => {}
            Ok(Some(s)) => {
                tracing::info!(package = %repo, dry_run = s.dry_run, deleted = s.deleted_count, "retention ran")
            }
            Err(e) => {
                tracing::warn!(package = %repo, error = %e, "retention failed; the next run tries again")
            }
        }
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
