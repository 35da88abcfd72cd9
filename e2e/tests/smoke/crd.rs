//! A CRD applied with kubectl becomes Established and validates its resources.

use anyhow::{Result, ensure};
use berth_e2e::Cluster;
use berth_e2e::wait::eventually;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::runtime::wait::{await_condition, conditions};

use super::{TIMEOUT, fixture};

const CRD: &str = "widgets.smoke.e2e.berth.dev";

#[tokio::test]
async fn crd_applied_with_kubectl_becomes_established() -> Result<()> {
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("crd").await?;
    let ns = namespace.name();
    cluster
        .kubectl(&["apply", "--server-side", "-f", &fixture("widget-crd.yaml")])
        .await?;

    let crds = Api::<CustomResourceDefinition>::all(cluster.client().await?);
    let established = tokio::time::timeout(
        TIMEOUT,
        await_condition(crds, CRD, conditions::is_crd_established()),
    )
    .await??;
    ensure!(established.is_some(), "{CRD} vanished while waiting for it");

    // The new type is served (kubectl rediscovers it), and its schema is enforced.
    let valid = "apiVersion: smoke.e2e.berth.dev/v1\nkind: Widget\nmetadata: {name: good}\nspec: {size: 3}\n";
    let invalid = "apiVersion: smoke.e2e.berth.dev/v1\nkind: Widget\nmetadata: {name: bad}\nspec: {size: 0}\n";
    let valid_file = cluster.work_dir().join(format!("{ns}-good.yaml"));
    let invalid_file = cluster.work_dir().join(format!("{ns}-bad.yaml"));
    std::fs::write(&valid_file, valid)?;
    std::fs::write(&invalid_file, invalid)?;
    let apply_valid = [
        "apply",
        "-n",
        ns,
        "-f",
        valid_file.to_str().unwrap_or_default(),
    ];
    eventually(TIMEOUT, "a Widget to be accepted", || {
        cluster.kubectl(&apply_valid)
    })
    .await?;
    let size = cluster
        .kubectl(&[
            "get",
            "widget",
            "good",
            "-n",
            ns,
            "-o",
            "jsonpath={.spec.size}",
        ])
        .await?;
    ensure!(size == "3", "read back size {size:?}");

    let rejected = cluster
        .kubectl(&[
            "apply",
            "-n",
            ns,
            "-f",
            invalid_file.to_str().unwrap_or_default(),
        ])
        .await;
    let message = format!(
        "{:#}",
        rejected
            .err()
            .ok_or_else(|| anyhow::anyhow!("an invalid Widget was accepted"))?
    );
    ensure!(
        message.contains("spec.size"),
        "rejected for another reason: {message}"
    );
    Ok(())
}
