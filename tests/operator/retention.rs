//! Retention in a cluster: `spec.retention` applied to a Package by another field manager
//! (as a GitOps tool would) runs in the registry pod at its garbage collection, deletes
//! the tags past their count through the API's soft delete, and `status.retention` on
//! the Package shows the run and what it deleted.

use anyhow::{Context as _, Result, ensure};
use berth_crds::package::Package;
use berth_e2e::Cluster;
use berth_e2e::wait::until;
use kube::api::Api;

use super::support::{
    TIMEOUT, apply_as_gitops, operator_on, package_resource, podman_on_pod, registry_pod_on_s3,
};
use crate::common::minio::Minio;

#[tokio::test(flavor = "multi_thread")]
async fn retention_on_a_package_shows_its_run_in_the_status() -> Result<()> {
    let minio = tokio::task::spawn_blocking(Minio::shared).await?;
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("operator-retention").await?;
    let ns = namespace.name();
    let client = cluster.client().await?;
    let (operator, _logs) = operator_on(cluster, ns).await?;

    let (pod, port) = registry_pod_on_s3(
        cluster,
        ns,
        minio,
        "  garbageCollection: {interval: 2s}\n",
        &operator,
    )
    .await?;

    let (_, host, alice) = podman_on_pod(cluster, ns, port, "alice", "write:packages");
    let old = alice.publish(&format!("{host}/alice/app:pr-1"), "the older\n", &[]);
    let new = alice.publish(&format!("{host}/alice/app:pr-2"), "the newer\n", &[]);

    let packages: Api<Package> = Api::namespaced(client.clone(), ns);
    let resource = package_resource(&client, ns, "alice", "app").await?;
    // Applied by its own field manager, as Git would hold it.
    apply_as_gitops(&packages, &resource, serde_json::json!({"owner": "alice", "name": "app", "retention": {"tags": {"keepLatest": 1}}})).await?;

    let status = until(TIMEOUT, "status.retention to show a deletion", || async {
        let p = packages.get_status(&resource).await?;
        Ok(p.status
            .and_then(|s| s.retention)
            .filter(|r| r.deleted_count == 1))
    })
    .await
    .with_context(|| pod.stderr())?;
    ensure!(
        status.deleted == [old.clone()] && !status.dry_run && status.last_run.is_some(),
        "{status:?}"
    );
    let gone = alice.try_pull(&format!("{host}/alice/app:pr-1"));
    ensure!(!gone.status.success(), "pr-1 went with its version");
    alice.pull(&format!("{host}/alice/app@{new}"), &[]);
    Ok(())
}
