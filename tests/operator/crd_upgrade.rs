//! Upgrading the CRDs with a release, as docs/kubernetes.md says to: a release installed
//! with the previous CRDs (`fixtures/crds-39bea83/`, the last ones before
//! `restoreWindow`, `downloadCount` and `deletedAt`), resources made with them, then
//! `kubectl apply --server-side --force-conflicts -f charts/berth/crds` and
//! `helm upgrade`: nothing is lost and the new fields are stored.
//!
//! CRDs are cluster-wide, so this runs on a control plane of its own: the shared one's
//! tests must never see the old schemas.

use anyhow::{Context as _, Result, ensure};
use berth_e2e::Cluster;
use serde_json::{Value, json};

use super::support::{IMAGE_REPOSITORY, IMAGE_TAG, chart_dir};

const OLD_CRDS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/operator/fixtures/crds-39bea83"
);
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/examples/gitops");
const NS: &str = "berth";

/// Every Berth resource in the namespace, by `kind/name`: spec, labels and status.
async fn resources(cluster: &Cluster) -> Result<Vec<(String, Value)>> {
    let mut out = Vec::new();
    for kind in ["registries", "packages", "organizations"] {
        let list: Value = serde_json::from_str(
            &cluster
                .kubectl(&["get", kind, "-n", NS, "-o", "json"])
                .await?,
        )?;
        for item in list["items"].as_array().context("a list")? {
            let name = item["metadata"]["name"].as_str().context("a name")?;
            let kept = json!({
                "spec": item["spec"],
                "labels": item["metadata"]["labels"],
                "status": item["status"],
            });
            out.push((format!("{kind}/{name}"), kept));
        }
    }
    Ok(out)
}

async fn get(cluster: &Cluster, what: &str) -> Result<Value> {
    Ok(serde_json::from_str(
        &cluster
            .kubectl(&["get", what, "-n", NS, "-o", "json"])
            .await?,
    )?)
}

/// Sets the Registry's `spec.restoreWindow` (a field the previous CRDs lack); the spec
/// as stored.
async fn set_restore_window(cluster: &Cluster) -> Result<Value> {
    let patch = json!({"spec": {"restoreWindow": "7days"}}).to_string();
    let args = [
        "patch",
        "registry",
        "main",
        "-n",
        NS,
        "--type=merge",
        "-p",
        &patch,
    ];
    cluster.kubectl(&args).await?;
    Ok(get(cluster, "registry/main").await?["spec"].clone())
}

/// The status a registry pod writes (the status subresource), with `extra` fields.
async fn set_status(cluster: &Cluster, package: &str, extra: Value) -> Result<()> {
    let mut status = json!({"tagCount": 2, "versionCount": 3, "size": 1234});
    status
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let patch = json!({"status": status}).to_string();
    cluster
        .kubectl(&[
            "patch",
            "package",
            package,
            "-n",
            NS,
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch,
        ])
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn crds_upgrade_in_place_keeping_every_resource_and_taking_the_new_fields() -> Result<()> {
    let cluster = Cluster::start().await?;

    // The previous release: its chart (this chart with the old CRDs) installed by helm.
    let old_chart = tempfile::tempdir()?;
    let chart = old_chart.path().join("berth");
    copy_dir(std::path::Path::new(&chart_dir()), &chart)?;
    std::fs::remove_dir_all(chart.join("crds"))?;
    copy_dir(std::path::Path::new(OLD_CRDS), &chart.join("crds"))?;
    let image = [
        "--set",
        &format!("image.repository={IMAGE_REPOSITORY}"),
        "--set",
        &format!("image.tag={IMAGE_TAG}"),
    ]
    .map(str::to_owned);
    let mut install = vec![
        "install",
        "berth",
        chart.to_str().unwrap(),
        "-n",
        NS,
        "--create-namespace",
    ];
    install.extend(image.iter().map(String::as_str));
    cluster.helm(&install).await?;

    // Resources kept in Git, applied as the examples say, and the status pods write.
    cluster
        .kubectl(&["apply", "-n", NS, "-k", EXAMPLES])
        .await?;
    set_status(&cluster, "acme.app", json!({"downloadCount": 7})).await?;
    let old_package = get(&cluster, "package/acme.app").await?;
    ensure!(
        old_package["status"]["tagCount"] == 2
            && old_package["status"].get("downloadCount").is_none(),
        "the old schema is in force (it prunes the new status field): {}",
        old_package["status"]
    );
    ensure!(
        set_restore_window(&cluster)
            .await?
            .get("restoreWindow")
            .is_none(),
        "the old schema prunes spec.restoreWindow"
    );
    let before = resources(&cluster).await?;
    ensure!(before.len() >= 4, "the examples made resources: {before:?}");

    // The upgrade, exactly as docs/kubernetes.md gives it.
    let new_crds = format!("{}/crds", chart_dir());
    cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-f",
            &new_crds,
        ])
        .await?;
    let chart_path = chart_dir();
    let mut upgrade = vec!["upgrade", "berth", &chart_path, "-n", NS, "--reuse-values"];
    upgrade.extend(image.iter().map(String::as_str));
    cluster.helm(&upgrade).await?;

    // Nothing lost: every resource has the spec, labels and status it had.
    let after = resources(&cluster).await?;
    ensure!(
        after == before,
        "resources changed in the upgrade:\nbefore {before:?}\nafter {after:?}"
    );
    let crd: Value = serde_json::from_str(
        &cluster
            .kubectl(&["get", "crd", "packages.berth.dev", "-o", "json"])
            .await?,
    )?;
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"];
    ensure!(
        schema.get("downloadCount").is_some(),
        "the new schema is in force"
    );

    // The new fields are usable at once.
    let spec = set_restore_window(&cluster).await?;
    ensure!(spec["restoreWindow"] == "7days", "{spec}");
    set_status(
        &cluster,
        "acme.app",
        json!({"downloadCount": 7, "deletedAt": "2026-12-01T00:00:00Z"}),
    )
    .await?;
    let package = get(&cluster, "package/acme.app").await?;
    ensure!(
        package["status"]["downloadCount"] == 7
            && package["status"]["deletedAt"] == "2026-12-01T00:00:00Z",
        "{}",
        package["status"]
    );
    Ok(())
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
