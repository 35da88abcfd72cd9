//! The chart lints, renders to objects the API server accepts, and the CRDs refuse what a
//! user can get wrong with a clear message.

use anyhow::Result;
use berth_e2e::Cluster;

use super::support::chart_dir;

#[tokio::test(flavor = "multi_thread")]
async fn the_chart_lints_and_renders_what_the_api_server_accepts() -> Result<()> {
    let cluster = Cluster::shared().await?;
    let ns = cluster.namespace("chart").await?;
    let lint = cluster.helm(&["lint", &chart_dir(), "--strict"]).await?;
    assert!(lint.contains("0 chart(s) failed"), "{lint}");
    // The CRDs first (as helm does), then everything the chart renders, dry-run.
    let crds = format!("{}/crds", chart_dir());
    cluster
        .kubectl(&["apply", "--server-side", "-f", &crds])
        .await?;
    let rendered = cluster
        .helm(&[
            "template",
            "berth",
            &chart_dir(),
            "--namespace",
            ns.name(),
            "--set",
            "registry.create=true",
        ])
        .await?;
    let file = cluster
        .work_dir()
        .join(format!("rendered-{}.yaml", ns.name()));
    std::fs::write(&file, rendered)?;
    let out = cluster
        .kubectl(&[
            "apply",
            "--dry-run=server",
            "-n",
            ns.name(),
            "-f",
            file.to_str().unwrap(),
        ])
        .await?;
    for kind in [
        "serviceaccount",
        "clusterrole",
        "clusterrolebinding",
        "deployment",
        "registry",
    ] {
        assert!(out.contains(kind), "{kind} missing from:\n{out}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_server_refuses_invalid_resources_with_clear_messages() -> Result<()> {
    let cluster = Cluster::shared().await?;
    let ns = cluster.namespace("crds").await?;
    let crds = format!("{}/crds", chart_dir());
    cluster
        .kubectl(&["apply", "--server-side", "-f", &crds])
        .await?;
    let cases = [
        (
            "kind: Package\nmetadata: {name: a}\nspec: {owner: acme, name: app, visibility: secret}",
            "visibility",
        ),
        (
            "kind: Package\nmetadata: {name: b}\nspec: {owner: acme, name: app, access: [{user: a, role: superuser}]}",
            "role",
        ),
        (
            "kind: Package\nmetadata: {name: c}\nspec: {owner: acme, name: app, access: [{user: a, team: b, role: read}]}",
            "exactly one of user or team",
        ),
        (
            "kind: Package\nmetadata: {name: d}\nspec: {owner: Acme, name: app}",
            "owner",
        ),
        (
            "kind: Registry\nmetadata: {name: e}\nspec: {host: 'Not A Host'}",
            "host",
        ),
        (
            "kind: Registry\nmetadata: {name: f}\nspec: {host: a.example, replicas: -2}",
            "replicas",
        ),
    ];
    for (yaml, field) in cases {
        let file = cluster
            .work_dir()
            .join(format!("invalid-{}.yaml", ns.name()));
        std::fs::write(&file, format!("apiVersion: berth.dev/v1alpha1\n{yaml}\n"))?;
        let err = cluster
            .kubectl(&["apply", "-n", ns.name(), "-f", file.to_str().unwrap()])
            .await
            .expect_err(yaml);
        let text = format!("{err:#}");
        assert!(text.contains(field), "{yaml}: {text}");
    }
    // An immutable field cannot change.
    let file = cluster.work_dir().join(format!("pkg-{}.yaml", ns.name()));
    std::fs::write(
        &file,
        "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {name: g}\nspec: {owner: acme, name: app}\n",
    )?;
    cluster
        .kubectl(&["apply", "-n", ns.name(), "-f", file.to_str().unwrap()])
        .await?;
    std::fs::write(
        &file,
        "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {name: g}\nspec: {owner: other, name: app}\n",
    )?;
    let err = cluster
        .kubectl(&["apply", "-n", ns.name(), "-f", file.to_str().unwrap()])
        .await
        .expect_err("immutable");
    assert!(
        format!("{err:#}").contains("owner cannot change"),
        "{err:#}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gitops_example_is_accepted_as_is() -> Result<()> {
    let cluster = Cluster::shared().await?;
    let ns = cluster.namespace("gitops").await?;
    let crds = format!("{}/crds", chart_dir());
    cluster
        .kubectl(&["apply", "--server-side", "-f", &crds])
        .await?;
    let example = format!("{}/docs/examples/gitops", env!("CARGO_MANIFEST_DIR"));
    let out = cluster
        .kubectl(&["apply", "--dry-run=server", "-n", ns.name(), "-k", &example])
        .await?;
    for object in [
        "registry.berth.dev/main",
        "organization.berth.dev/acme",
        "package.berth.dev/acme.app",
    ] {
        assert!(out.contains(object), "{object} missing from:\n{out}");
    }
    Ok(())
}
