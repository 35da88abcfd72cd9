//! `helm install` of a small chart creates its objects.

use anyhow::{Result, ensure};
use berth_e2e::Cluster;
use k8s_openapi::api::core::v1::{ConfigMap, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::Api;

use super::fixture;

#[tokio::test]
async fn helm_installs_a_chart() -> Result<()> {
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("helm").await?;
    let ns = namespace.name();
    let chart = fixture("smoke-chart");
    let args = [
        "install",
        "smoke",
        &chart,
        "--namespace",
        ns,
        "--set",
        "greeting=ahoy",
        "--wait",
        "--timeout",
        "60s",
    ];
    cluster.helm(&args).await?;

    let client = cluster.client().await?;
    let greeting = Api::<ConfigMap>::namespaced(client.clone(), ns)
        .get("smoke-greeting")
        .await?;
    let data = greeting.data.unwrap_or_default();
    ensure!(
        data.get("greeting").map(String::as_str) == Some("ahoy"),
        "data {data:?}"
    );
    Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .get("smoke")
        .await?;
    Api::<RoleBinding>::namespaced(client, ns)
        .get("smoke-reader")
        .await?;

    let status = cluster
        .helm(&["status", "smoke", "--namespace", ns, "-o", "json"])
        .await?;
    let status: serde_json::Value = serde_json::from_str(&status)?;
    ensure!(
        status["info"]["status"] == "deployed",
        "release status {}",
        status["info"]
    );
    Ok(())
}
