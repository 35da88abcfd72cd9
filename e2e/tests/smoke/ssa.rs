//! Server-side apply from kube-rs: field ownership is recorded and enforced.

use anyhow::{Result, ensure};
use berth_e2e::Cluster;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

const MANAGER: &str = "berth-e2e-smoke";

fn config_map(data: serde_json::Value) -> Patch<serde_json::Value> {
    Patch::Apply(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": { "name": "applied" },
        "data": data,
    }))
}

#[tokio::test]
async fn server_side_apply_records_its_field_manager() -> Result<()> {
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("ssa").await?;
    let maps = Api::<ConfigMap>::namespaced(cluster.client().await?, namespace.name());
    let ours = PatchParams::apply(MANAGER).force();

    maps.patch("applied", &ours, &config_map(json!({ "a": "1", "b": "2" })))
        .await?;
    let read = maps.get("applied").await?;
    let data = read.data.clone().unwrap_or_default();
    ensure!(
        data.get("a").map(String::as_str) == Some("1"),
        "data {data:?}"
    );
    ensure!(
        data.get("b").map(String::as_str) == Some("2"),
        "data {data:?}"
    );
    let managers = read.metadata.managed_fields.unwrap_or_default();
    ensure!(
        managers
            .iter()
            .any(|entry| entry.manager.as_deref() == Some(MANAGER)
                && entry.operation.as_deref() == Some("Apply")),
        "no Apply entry for {MANAGER} in {managers:?}"
    );

    // Applying without a field we own removes it: the manager's intent is the whole set.
    maps.patch("applied", &ours, &config_map(json!({ "a": "1" })))
        .await?;
    let data = maps.get("applied").await?.data.unwrap_or_default();
    ensure!(
        !data.contains_key("b"),
        "b survived a reapply without it: {data:?}"
    );

    // Another manager may not take our field without forcing.
    let theirs = PatchParams::apply("someone-else");
    let conflict = maps
        .patch("applied", &theirs, &config_map(json!({ "a": "2" })))
        .await;
    ensure!(
        matches!(&conflict, Err(kube::Error::Api(status)) if status.code == 409),
        "expected a 409 conflict, got {conflict:?}"
    );
    Ok(())
}
