//! RBAC is enforced for a ServiceAccount authenticating with a TokenRequest token.

use anyhow::{Result, ensure};
use berth_e2e::Cluster;
use berth_e2e::wait::eventually;
use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{ListParams, PostParams};

use super::{TIMEOUT, is_forbidden, meta, service_account_with_role};

#[tokio::test]
async fn service_account_gets_only_what_its_role_grants() -> Result<()> {
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("rbac").await?;
    let ns = namespace.name();
    let admin = cluster.client().await?;
    service_account_with_role(&admin, ns, "reader", &["configmaps"], &["get", "list"]).await?;

    let reader = cluster.service_account_client(ns, "reader").await?;
    let review = Api::<SelfSubjectReview>::all(reader.clone())
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await?;
    let user = review
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username);
    ensure!(
        user.as_deref() == Some(format!("system:serviceaccount:{ns}:reader").as_str()),
        "authenticated as {user:?}"
    );

    // Granted: allowed once the authorizer has seen the new binding.
    let maps = Api::<ConfigMap>::namespaced(reader.clone(), ns);
    let list = ListParams::default();
    eventually(TIMEOUT, "the reader to list ConfigMaps", || {
        maps.list(&list)
    })
    .await?;

    // Not granted: another resource, another verb, another namespace.
    let secrets = Api::<Secret>::namespaced(reader.clone(), ns)
        .list(&ListParams::default())
        .await;
    ensure!(is_forbidden(&secrets), "listing Secrets: {secrets:?}");
    let create = maps
        .create(
            &PostParams::default(),
            &ConfigMap {
                metadata: meta("written"),
                ..Default::default()
            },
        )
        .await;
    ensure!(is_forbidden(&create), "creating a ConfigMap: {create:?}");
    let elsewhere = Api::<ConfigMap>::namespaced(reader, "default")
        .list(&ListParams::default())
        .await;
    ensure!(
        is_forbidden(&elsewhere),
        "listing ConfigMaps in default: {elsewhere:?}"
    );
    Ok(())
}
