//! Garbage collection in a cluster: of a Registry's pods, the one holding the Lease
//! `<registry>-gc` collects and the others skip; when the holder dies, another takes
//! the Lease over once it lapses, and collects.

use anyhow::{Context as _, Result, ensure};
use berth_e2e::Cluster;
use berth_e2e::wait::until;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;

use super::support::{TIMEOUT, operator_on, registry_pod_on_s3, registry_replica};
use crate::common::minio::Minio;

const RAN: &str = "garbage collection removed";

#[tokio::test(flavor = "multi_thread")]
async fn one_pod_at_a_time_collects_by_a_lease() -> Result<()> {
    let minio = tokio::task::spawn_blocking(Minio::shared).await?;
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("operator-gc").await?;
    let ns = namespace.name();
    let client = cluster.client().await?;
    let (operator, _logs) = operator_on(cluster, ns).await?;
    let extra = "  garbageCollection: {interval: 1s}\n";
    let (first, _) = registry_pod_on_s3(cluster, ns, minio, extra, &operator).await?;
    let (second, _) = registry_replica(cluster, ns).await?;
    let mut pods = vec![first, second];

    let leases: Api<Lease> = Api::namespaced(client.clone(), ns);
    let holder = |leases: Api<Lease>| async move {
        Ok::<_, anyhow::Error>(
            leases
                .get_opt("main-gc")
                .await?
                .and_then(|l| l.spec?.holder_identity),
        )
    };
    let held_by = until(TIMEOUT, "the Lease main-gc to have a holder", || {
        holder(leases.clone())
    })
    .await?;
    let at = pods
        .iter()
        .position(|p| p.name() == held_by)
        .with_context(|| format!("the holder {held_by} is one of the pods"))?;
    let runs = |pod: &berth_e2e::RunningPod| pod.stderr().matches(RAN).count();
    until(TIMEOUT, "three collections by the holder", || async {
        Ok((runs(&pods[at]) >= 3).then_some(()))
    })
    .await?;
    let other = 1 - at;
    ensure!(
        runs(&pods[other]) == 0,
        "only the holder collects: {}",
        pods[other].stderr()
    );

    // The holder dies: the other takes the Lease once it lapses (1.5 intervals).
    drop(pods.remove(at));
    let survivor = &pods[0];
    until(TIMEOUT, "the other pod to take the Lease", || async {
        Ok(holder(leases.clone())
            .await?
            .filter(|h| h == survivor.name()))
    })
    .await?;
    until(TIMEOUT, "a collection by the new holder", || async {
        Ok((runs(survivor) >= 1).then_some(()))
    })
    .await
    .with_context(|| survivor.stderr())?;
    Ok(())
}
