//! `berth operator`: the controllers, behind leader election, with health and metrics.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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

    let leadership = if opts.leader_election {
        Some(acquire_lease(&client, &opts.lease_namespace).await?)
    } else {
        None
    };

    let ns = opts.namespace.as_deref();
    // The Package controller reads Registries and Organizations from the caches of their
    // own controllers: one watch each feeds both. (The Package controller's trigger on
    // Organizations is a watch of its own: sharing that one needs kube's unstable
    // `unstable-runtime-subscribe`.)
    let registries = crate::registry::controller::controller(&client, ns);
    let organizations = crate::organization::controller(&client, ns);
    let (registry_cache, organization_cache) = (registries.store(), organizations.store());
    ctx.ready.store(true, std::sync::atomic::Ordering::Release);
    let controllers = async {
        tokio::join!(
            crate::registry::controller::run(registries, ctx.clone()),
            crate::package::run(ctx.clone(), ns, organization_cache, registry_cache),
            crate::organization::run(organizations, ctx.clone()),
        );
    };
    match leadership {
        None => {
            controllers.await;
            Ok(())
        }
        Some(mut lease) => {
            tokio::select! {
                () = controllers => Ok(()),
                () = lease.lost() => {
                    // Give in-flight writes a moment, then leave: the next leader resumes.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Err(RunError::LostLease)
                }
            }
        }
    }
}

/// The leader Lease, held while this value lives (its renewing task with it).
struct Lease {
    held: tokio::sync::watch::Receiver<bool>,
    _task: tokio::task::JoinHandle<kube_lease_manager::Result<kube_lease_manager::LeaseManager>>,
}

impl Lease {
    /// Returns once the Lease is lost (or its manager stops).
    async fn lost(&mut self) {
        loop {
            if self.held.changed().await.is_err() || !*self.held.borrow_and_update() {
                return;
            }
        }
    }
}

/// Waits until this replica holds the leader Lease in `namespace`.
async fn acquire_lease(client: &Client, namespace: &str) -> Result<Lease, RunError> {
    let manager = kube_lease_manager::LeaseManagerBuilder::new(client.clone(), "berth-operator")
        .with_namespace(namespace)
        .with_duration(15)
        .with_grace(5)
        .build()
        .await
        .map_err(|e| RunError::Lease(e.to_string()))?;
    let (mut held, task) = manager.watch().await;
    while !*held.borrow_and_update() {
        tracing::info!("waiting for the leader Lease");
        held.changed()
            .await
            .map_err(|e| RunError::Lease(e.to_string()))?;
    }
    tracing::info!("leader Lease acquired");
    Ok(Lease { held, _task: task })
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
