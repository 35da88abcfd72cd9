//! Whose turn the garbage collection is among a Registry's pods: the Lease
//! `<registry>-gc` (coordination.k8s.io), taken by the pod that finds it free or
//! expired, renewed by its holder at each run. Collections are safe together, so this
//! only spares redundant runs; a pod that cannot reach the API server skips its run.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use kube::{Client, Error};

use crate::maintenance::gc::Turn;

/// The Lease turn of one pod.
pub struct LeaseTurn {
    api: Api<Lease>,
    name: String,
    /// This pod (its hostname, which is the pod's name).
    identity: String,
}

impl LeaseTurn {
    pub fn new(client: Client, namespace: &str, registry: &str) -> Self {
        LeaseTurn {
            api: Api::namespaced(client, namespace),
            name: berth_crds::names::gc_lease(registry),
            identity: std::env::var("HOSTNAME")
                .unwrap_or_else(|_| format!("registry-{}", uuid::Uuid::new_v4().simple())),
        }
    }

    async fn try_take(&self, hold: Duration) -> Result<bool, Error> {
        let now = jiff::Timestamp::now();
        let mine = LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(i32::try_from(hold.as_secs().max(1)).unwrap_or(i32::MAX)),
            renew_time: Some(MicroTime(now)),
            ..LeaseSpec::default()
        };
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    acquire_time: Some(MicroTime(now)),
                    ..mine
                }),
            };
            return conflict_is_no(self.api.create(&PostParams::default(), &lease).await);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref();
        if holder.is_some_and(|h| h != self.identity) && !expired(&spec, now) {
            return Ok(false);
        }
        let acquire_time = if holder == Some(self.identity.as_str()) {
            spec.acquire_time
        } else {
            Some(MicroTime(now))
        };
        lease.spec = Some(LeaseSpec {
            acquire_time,
            ..mine
        });
        // The read's resourceVersion goes with the update: of two pods taking an
        // expired Lease, one gets a conflict.
        conflict_is_no(
            self.api
                .replace(&self.name, &PostParams::default(), &lease)
                .await,
        )
    }
}

/// Whether the holder of `spec` let it lapse by `now`.
fn expired(spec: &LeaseSpec, now: jiff::Timestamp) -> bool {
    let (Some(renewed), Some(secs)) = (&spec.renew_time, spec.lease_duration_seconds) else {
        return true;
    };
    renewed.0 + jiff::SignedDuration::from_secs(i64::from(secs)) < now
}

/// Another pod creating or updating the Lease first is a "no", not an error.
fn conflict_is_no(result: Result<Lease, Error>) -> Result<bool, Error> {
    match result {
        Ok(_) => Ok(true),
        Err(Error::Api(e)) if e.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

#[async_trait::async_trait]
impl Turn for LeaseTurn {
    async fn take(&self, hold: Duration) -> bool {
        match self.try_take(hold).await {
            Ok(taken) => taken,
            Err(e) => {
                tracing::warn!(lease = %self.name, error = %e, "cannot take the garbage collection's Lease; this pod skips the run");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_expires_once_its_duration_passes_its_renewal() {
        let at: jiff::Timestamp = "2026-12-02T00:00:00Z".parse().unwrap();
        let spec = LeaseSpec {
            renew_time: Some(MicroTime(at)),
            lease_duration_seconds: Some(30),
            ..LeaseSpec::default()
        };
        assert!(!expired(&spec, at + jiff::SignedDuration::from_secs(30)));
        assert!(expired(&spec, at + jiff::SignedDuration::from_secs(31)));
        assert!(expired(&LeaseSpec::default(), at), "never renewed");
    }
}
