//! `berth operator`: the controllers, behind leader election, with health and metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use berth_crds::Registry;
use berth_crds::organization::Organization;
use futures_util::StreamExt;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client};

use crate::context::Context;

/// How the operator runs.
pub struct Options {
    /// Watch one namespace, or all of them.
    pub namespace: Option<String>,
    /// The registry image for Registries that name none.
    pub image: String,
    /// Health and metrics.
    pub listen: SocketAddr,
    /// Take a Lease before reconciling, so several replicas are safe.
    pub leader_election: bool,
    /// Where the Lease lives.
    pub lease_namespace: String,
}

/// Why the operator stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("connecting to the Kubernetes API: {0}")]
    Client(#[from] kube::Error),
    #[error("serving health and metrics on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
    #[error("leader election: {0}")]
    Lease(String),
    #[error("lost the leader Lease; exiting so another replica takes over")]
    LostLease,
}

pub async fn run(opts: Options) -> Result<(), RunError> {
    let client = Client::try_default().await?;
    let ctx = Arc::new(Context::new(client.clone(), opts.image.clone()));
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| RunError::Listen(opts.listen, e))?;
    tokio::spawn(crate::health::serve(listener, ctx.clone()));
    tracing::info!(listen = %opts.listen, namespace = opts.namespace.as_deref().unwrap_or("(all)"), "berth operator starting");

    let mut leadership = None;
    if opts.leader_election {
        let manager =
            kube_lease_manager::LeaseManagerBuilder::new(client.clone(), "berth-operator")
                .with_namespace(&opts.lease_namespace)
                .with_duration(15)
                .with_grace(5)
                .build()
                .await
                .map_err(|e| RunError::Lease(e.to_string()))?;
        let (mut rx, task) = manager.watch().await;
        while !*rx.borrow_and_update() {
            tracing::info!("waiting for the leader Lease");
            rx.changed()
                .await
                .map_err(|e| RunError::Lease(e.to_string()))?;
        }
        tracing::info!("leader Lease acquired");
        leadership = Some((rx, task));
    }

    let ns = opts.namespace.as_deref();
    let (orgs, orgs_writer) = reflector::store::<Organization>();
    let (registries, registries_writer) = reflector::store::<Registry>();
    let orgs_feed = reflector(
        orgs_writer,
        watcher(
            crate::scoped::<Organization>(&client, ns),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .touched_objects()
    .for_each(|_| async {});
    let registries_feed = reflector(
        registries_writer,
        watcher(
            crate::scoped::<Registry>(&client, ns),
            watcher::Config::default(),
        ),
    )
    .default_backoff()
    .touched_objects()
    .for_each(|_| async {});
    ctx.ready.store(true, std::sync::atomic::Ordering::Release);
    let controllers = async {
        tokio::join!(
            orgs_feed,
            registries_feed,
            crate::registry::controller::run(ctx.clone(), ns),
            crate::package::run(ctx.clone(), ns, orgs, registries),
            crate::organization::run(ctx.clone(), ns),
        );
    };
    match leadership {
        None => {
            controllers.await;
            Ok(())
        }
        Some((mut rx, _task)) => {
            let lost = async {
                loop {
                    if rx.changed().await.is_err() || !*rx.borrow_and_update() {
                        return;
                    }
                }
            };
            tokio::select! {
                () = controllers => Ok(()),
                () = lost => {
                    // Give in-flight writes a moment, then leave: the next leader resumes.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Err(RunError::LostLease)
                }
            }
        }
    }
}

/// `Api` for `namespace`, or for all namespaces.
pub fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}
