//! A Registry on S3 through the operator: Degraded until its credentials Secret exists,
//! then no claim, the Secret in the pods' environment, and two replicas run by the pod
//! runner on one MinIO bucket, where an image pushed through one pod is pulled through
//! the other.

use anyhow::{Context as _, Result, ensure};
use berth_crds::Registry;
use berth_e2e::process::Process;
use berth_e2e::wait::until;
use berth_e2e::{Cluster, report_ready};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::{Api, PostParams};

use super::support::{
    TIMEOUT, apply_yaml, cluster_token, operator_on, registry_on_s3, registry_replica,
};
use crate::common::minio::{ACCESS_KEY, Minio, SECRET_KEY, bucket_name};
use crate::common::podman::Podman;
use crate::common::wait_until;

/// The Registry's `Degraded=True` condition, once it has one.
async fn degraded(registries: &Api<Registry>, operator: &Process) -> Result<Condition> {
    until(TIMEOUT, "the Registry to be Degraded", || async {
        let r = registries.get("main").await?;
        Ok(r.status
            .into_iter()
            .flat_map(|s| s.conditions)
            .find(|c| c.type_ == "Degraded" && c.status == "True"))
    })
    .await
    .with_context(|| operator.stderr())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_ca_for_s3_waits_for_its_secret_key_then_is_mounted() -> Result<()> {
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("operator-s3-ca").await?;
    let ns = namespace.name();
    let client = cluster.client().await?;
    let (operator, _logs) = operator_on(cluster, ns).await?;
    let registry = registry_on_s3(
        1,
        "",
        "bucket: b, endpoint: 'https://s3.internal', caBundleFrom: {secret: s3-ca, key: ca.crt}",
    );
    apply_yaml::<Registry>(cluster, ns, "kubectl", &registry).await?;
    let registries: Api<Registry> = Api::namespaced(client.clone(), ns);
    let c = degraded(&registries, &operator).await?;
    ensure!(
        c.reason == "MissingCaBundle" && c.message.contains("key \"ca.crt\" of Secret \"s3-ca\""),
        "{c:?}"
    );

    // The Secret without the key is still missing it; with the key, the pods get it.
    let secrets = Api::<Secret>::namespaced(client.clone(), ns);
    let mut secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "s3-ca"}, "stringData": {"other": "x"},
    }))?;
    secrets.create(&PostParams::default(), &secret).await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    ensure!(
        deployments.get_opt("main").await?.is_none(),
        "no pods that could not start"
    );
    secret.string_data = Some(
        [(
            "ca.crt".to_owned(),
            "-----BEGIN CERTIFICATE-----\n".to_owned(),
        )]
        .into(),
    );
    secrets
        .replace("s3-ca", &PostParams::default(), &secret)
        .await?;
    let d = until(TIMEOUT, "the registry Deployment", || async {
        Ok(deployments.get_opt("main").await?)
    })
    .await
    .with_context(|| operator.stderr())?;
    let pod = d.spec.template.spec.context("a pod spec")?;
    let ca = pod
        .volumes
        .unwrap_or_default()
        .into_iter()
        .find(|v| v.name == "s3-ca")
        .and_then(|v| v.secret)
        .context("the CA volume")?;
    ensure!(ca.secret_name.as_deref() == Some("s3-ca"), "{ca:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_on_s3_share_one_bucket() -> Result<()> {
    let minio = tokio::task::spawn_blocking(Minio::shared).await?;
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("operator-s3").await?;
    let ns = namespace.name();
    let client = cluster.client().await?;

    let (operator, _logs) = operator_on(cluster, ns).await?;

    let registry = registry_on_s3(
        2,
        "",
        &format!(
            "bucket: {}, endpoint: '{}', pathStyle: true, createBucket: true, credentialsSecret: berth-s3",
            bucket_name(),
            minio.endpoint()
        ),
    );
    apply_yaml::<Registry>(cluster, ns, "kubectl", &registry).await?;

    // Before its credentials Secret exists: Degraded, naming it, and no Deployment.
    let registries: Api<Registry> = Api::namespaced(client.clone(), ns);
    let degraded = degraded(&registries, &operator).await?;
    ensure!(
        degraded.reason == "MissingCredentials" && degraded.message.contains("\"berth-s3\""),
        "{degraded:?}"
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    ensure!(deployments.get_opt("main").await?.is_none());

    let mut secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "berth-s3"},
        "stringData": {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
    }))?;
    secret.metadata.namespace = Some(ns.to_owned());
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await?;

    let d = until(TIMEOUT, "the registry Deployment", || async {
        Ok(deployments.get_opt("main").await?)
    })
    .await
    .with_context(|| operator.stderr())?;
    ensure!(d.spec.replicas == Some(2), "replicas {:?}", d.spec.replicas);
    let strategy = d.spec.strategy.and_then(|s| s.type_);
    ensure!(
        strategy.as_deref() == Some("RollingUpdate"),
        "a rolling update (no volume ties old pods to new): {strategy:?}"
    );
    let claims = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns)
        .list(&Default::default())
        .await?;
    ensure!(claims.items.is_empty(), "no claim on S3");

    // Two pods, as the kubelet would run them, with the Secret in their environment.
    let (_a, port_a) = registry_replica(cluster, ns).await?;
    let (_b, port_b) = registry_replica(cluster, ns).await?;
    report_ready(client.clone(), ns, "main", 2).await?;

    let token = &cluster_token(cluster, ns, "alice", "write:packages");
    let (host_a, host_b) = (format!("localhost:{port_a}"), format!("localhost:{port_b}"));
    let pusher = Podman::new();
    let puller = Podman::new();
    wait_until(
        "alice's token to reach both replicas",
        std::time::Duration::from_secs(10),
        || {
            pusher.try_login(&host_a, "alice", token).status.success()
                && puller.try_login(&host_b, "alice", token).status.success()
        },
    );
    pusher.build(
        &format!("{host_a}/alice/app:v1"),
        "linux/amd64",
        "stored in the bucket\n",
        &[],
    );
    let digest = pusher.push(&format!("{host_a}/alice/app:v1"), &[]);
    let image_b = format!("{host_b}/alice/app:v1");
    puller.pull(&image_b, &[]);
    ensure!(puller.inspect(&image_b, "{{.Digest}}") == digest);
    Ok(())
}
