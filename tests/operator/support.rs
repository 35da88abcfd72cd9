//! Helpers for the operator tests.

#![allow(dead_code)] // each test module uses a different subset

use std::time::Duration;

use anyhow::{Context as _, Result};
use berth_e2e::process::Process;
use berth_e2e::{Cluster, free_port};
use kube::Resource;
use kube::api::{Api, Patch, PatchParams};
use kube::core::NamespaceResourceScope;
use serde::de::DeserializeOwned;

/// The image the chart and the Registry name; the pod runner maps it to this build.
pub const IMAGE_REPOSITORY: &str = "berth-e2e";
pub const IMAGE_TAG: &str = "test";

/// How long the cluster gets for anything it does.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The chart in this repository.
pub fn chart_dir() -> String {
    format!("{}/charts/berth", env!("CARGO_MANIFEST_DIR"))
}

/// Images the pod runner may run: this build of `berth`.
pub fn images() -> berth_e2e::Images {
    berth_e2e::Images::new().map(
        format!("{IMAGE_REPOSITORY}:{IMAGE_TAG}"),
        env!("CARGO_BIN_EXE_berth"),
    )
}

/// Server-side applies a YAML document as `manager`.
pub async fn apply_yaml<K>(cluster: &Cluster, ns: &str, manager: &str, yaml: &str) -> Result<K>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + DeserializeOwned
        + serde::Serialize,
{
    let obj: K = serde_saphyr::from_str(yaml).context("test YAML")?;
    let name = obj.meta().name.clone().context("a name")?;
    let api: Api<K> = Api::namespaced(cluster.client().await?, ns);
    Ok(api
        .patch(
            &name,
            &PatchParams::apply(manager).force(),
            &Patch::Apply(&obj),
        )
        .await?)
}

/// A counter from a Prometheus text page (summing the series whose labels contain
/// `labels`), 0 when absent.
pub fn counter(page: &str, name: &str, labels: &str) -> f64 {
    page.lines()
        .filter(|l| l.starts_with(name) && l.contains(labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// GET `url`'s body (for health and metrics of local processes).
pub async fn get_text(url: &str) -> Result<(u16, String)> {
    let r = reqwest::get(url).await?;
    Ok((r.status().as_u16(), r.text().await?))
}

/// One replica of the `main` registry Deployment, run by the pod runner on its own port,
/// once its `/readyz` answers.
pub async fn registry_replica(cluster: &Cluster, ns: &str) -> Result<(berth_e2e::RunningPod, u16)> {
    let port = berth_e2e::free_port()?;
    let pod = berth_e2e::PodRunner::new(images())
        .env("BERTH_LISTEN", format!("127.0.0.1:{port}"))
        .env("BERTH_LOG_FORMAT", "text")
        .run(cluster, ns, "main")
        .await?;
    berth_e2e::wait::until(TIMEOUT, "a registry replica to be ready", || async {
        Ok(get_text(&format!("http://127.0.0.1:{port}/readyz"))
            .await
            .ok()
            .filter(|(s, _)| *s == 200))
    })
    .await
    .with_context(|| pod.stderr())?;
    Ok((pod, port))
}

/// A PAT for `user` on the Registry `main` in `ns`, made as a user would: `berth token
/// create --kubeconfig` (the Secret holds only its hash).
pub fn cluster_token(cluster: &Cluster, ns: &str, user: &str, scopes: &str) -> String {
    let kubeconfig = cluster.kubeconfig().to_str().expect("a UTF-8 path");
    crate::common::run_stdout(
        std::process::Command::new(env!("CARGO_BIN_EXE_berth")).args([
            "token",
            "create",
            "--kubeconfig",
            kubeconfig,
            "--namespace",
            ns,
            "--registry",
            "main",
            "--user",
            user,
            "--scopes",
            scopes,
        ]),
    )
    .trim()
    .to_owned()
}

/// This chart's CRDs, and the operator as a local process with the admin's kubeconfig,
/// on namespace `ns`; its logs live as long as the returned directory.
pub async fn operator_on(cluster: &Cluster, ns: &str) -> Result<(Process, tempfile::TempDir)> {
    cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "-f",
            &format!("{}/crds", chart_dir()),
        ])
        .await?;
    let op_port = free_port()?;
    let logs = tempfile::tempdir()?;
    let mut command = berth_e2e::process::command(env!("CARGO_BIN_EXE_berth"))?;
    command
        .args(["operator", "--namespace", ns, "--listen"])
        .arg(format!("127.0.0.1:{op_port}"))
        .env("KUBECONFIG", cluster.kubeconfig());
    let operator = Process::spawn("operator", command, logs.path())?;
    Ok((operator, logs))
}

/// The Registry `main` (as the pod runner's image) with `replicas` on the S3 storage
/// `s3` (flow YAML fields), and `extra` spec lines (each `  field: value\n`).
pub fn registry_on_s3(replicas: u32, extra: &str, s3: &str) -> String {
    format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {{name: main}}\nspec:\n  \
         host: pages.localhost\n  containersHost: localhost\n  image: '{IMAGE_REPOSITORY}:{IMAGE_TAG}'\n  \
         replicas: {replicas}\n{extra}  storage:\n    s3: {{{s3}}}\n"
    )
}

/// The name of the Package resource for `owner/name` in `ns`, once there is one (a
/// first push creates it).
pub async fn package_resource(
    client: &kube::Client,
    ns: &str,
    owner: &str,
    name: &str,
) -> Result<String> {
    let packages: kube::Api<berth_crds::package::Package> =
        kube::Api::namespaced(client.clone(), ns);
    berth_e2e::wait::until(TIMEOUT, &format!("the Package {owner}/{name}"), || async {
        Ok(packages
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .find(|p| p.spec.owner == owner && p.spec.name == name)
            .map(|p| kube::ResourceExt::name_any(&p)))
    })
    .await
}

/// The Registry `main` on a fresh bucket of `minio` with `extra` spec lines, its S3
/// credentials Secret, and one replica of it running here: the pod and its port.
pub async fn registry_pod_on_s3(
    cluster: &Cluster,
    ns: &str,
    minio: &crate::common::minio::Minio,
    extra: &str,
    operator: &Process,
) -> Result<(berth_e2e::RunningPod, u16)> {
    use crate::common::minio::{ACCESS_KEY, SECRET_KEY, bucket_name};
    let client = cluster.client().await?;
    let registry = registry_on_s3(
        1,
        extra,
        &format!(
            "bucket: {}, endpoint: '{}', pathStyle: true, createBucket: true, credentialsSecret: berth-s3",
            bucket_name(),
            minio.endpoint()
        ),
    );
    let credentials: k8s_openapi::api::core::v1::Secret =
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "berth-s3"},
            "stringData": {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
        }))?;
    kube::Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), ns)
        .create(&Default::default(), &credentials)
        .await?;
    apply_yaml::<berth_crds::Registry>(cluster, ns, "kubectl", &registry).await?;
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client.clone(), ns);
    berth_e2e::wait::until(TIMEOUT, "the registry Deployment", || async {
        Ok(deployments.get_opt("main").await?)
    })
    .await
    .with_context(|| operator.stderr())?;
    let (pod, port) = registry_replica(cluster, ns).await?;
    berth_e2e::report_ready(client, ns, "main", 1).await?;
    Ok((pod, port))
}

/// `user`'s PAT with `scopes` on the Registry `main` in `ns`, and podman logged in with it
/// to the pod on `port` (once the token's Secret has reached the pod): the token, the
/// registry's `localhost:PORT`, and the podman.
pub fn podman_on_pod(
    cluster: &Cluster,
    ns: &str,
    port: u16,
    user: &str,
    scopes: &str,
) -> (String, String, crate::common::podman::Podman) {
    let token = cluster_token(cluster, ns, user, scopes);
    let host = format!("localhost:{port}");
    let podman = crate::common::podman::Podman::new();
    crate::common::wait_until(
        &format!("{user}'s token to reach the pod"),
        Duration::from_secs(10),
        || podman.try_login(&host, user, &token).status.success(),
    );
    (token, host, podman)
}

/// Applies `spec` to the Package `resource` under the field manager `gitops`, as a GitOps
/// tool keeping it in Git would.
pub async fn apply_as_gitops(
    packages: &Api<berth_crds::package::Package>,
    resource: &str,
    spec: serde_json::Value,
) -> Result<()> {
    let patch = serde_json::json!({
        "apiVersion": "berth.dev/v1alpha1", "kind": "Package",
        "metadata": {"name": resource},
        "spec": spec,
    });
    let params = PatchParams::apply("gitops").force();
    packages
        .patch(resource, &params, &Patch::Apply(&patch))
        .await?;
    Ok(())
}
