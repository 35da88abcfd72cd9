//! Issue 6's sequence, in order, on one control plane: install, apply a Registry, run its
//! pod, push and pull, make a package public, revoke a grant, repair drift, refuse an
//! invalid Package without a hot loop, and restart the operator without changing anything.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use berth_crds::Registry;
use berth_crds::package::Package;
use berth_e2e::wait::until;
use berth_e2e::{Cluster, PodRunner, RunningPod, free_port, report_ready};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams};
use kube::{Client, ResourceExt};

use super::support::{
    IMAGE_REPOSITORY, IMAGE_TAG, TIMEOUT, apply_yaml, chart_dir, cluster_token, counter, get_text,
    images,
};
use crate::common::podman::Podman;
use crate::common::wait_until;

/// Issue 11 in a cluster: the pull of step 3 reaches `alice.app`'s status (flushed within
/// 10 s); a package delete through the REST API removes the Package the registry made,
/// and the restore makes it again with its publisher.
async fn delete_and_restore(packages: &Api<Package>, port: u16, token: &str) -> Result<()> {
    until(
        TIMEOUT,
        "the pull's download in the Package's status",
        || async {
            let p = packages.get("alice.app").await?;
            Ok(p.status.and_then(|s| s.download_count).filter(|n| *n >= 1))
        },
    )
    .await?;
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/v3/users/alice/packages/container/app");
    // The API is on the site's host; the token may take a moment to reach the registry.
    let call = |method: reqwest::Method, url: String| {
        http.request(method, url)
            .header("Host", "pages.localhost")
            .bearer_auth(token)
            .send()
    };
    until(
        TIMEOUT,
        "the package delete through the REST API",
        || async {
            let r = call(reqwest::Method::DELETE, url.clone()).await?;
            Ok((r.status() == 204).then_some(()))
        },
    )
    .await?;
    until(TIMEOUT, "the registry's Package to go", || async {
        Ok(packages.get_opt("alice.app").await?.is_none().then_some(()))
    })
    .await?;
    let r = call(reqwest::Method::POST, format!("{url}/restore")).await?;
    let status = r.status();
    ensure!(status == 204, "restore: {status} {}", r.text().await?);
    let back = until(TIMEOUT, "the Package back with its publisher", || async {
        Ok(packages.get_opt("alice.app").await?.filter(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.publisher.as_ref())
                .is_some_and(|pb| pb.user.as_deref() == Some("alice"))
        }))
    })
    .await?;
    ensure!(back.created_by_registry(), "{back:?}");
    let r = call(reqwest::Method::GET, url).await?;
    ensure!(r.status() == 200, "the restored package: {}", r.status());
    Ok(())
}

/// A running operator: its process and where its metrics are.
struct Operator {
    pod: RunningPod,
    url: String,
}

async fn start_operator(cluster: &Cluster, ns: &str, deployment: &str) -> Result<Operator> {
    let port = free_port()?;
    let pod = PodRunner::new(images())
        .env("BERTH_OPERATOR_LISTEN", format!("127.0.0.1:{port}"))
        .env("BERTH_LOG_FORMAT", "text")
        .run(cluster, ns, deployment)
        .await?;
    let url = format!("http://127.0.0.1:{port}");
    until(TIMEOUT, "the operator to be ready", || async {
        Ok(get_text(&format!("{url}/readyz"))
            .await
            .ok()
            .filter(|(s, _)| *s == 200))
    })
    .await
    .with_context(|| pod.stderr())?;
    Ok(Operator { pod, url })
}

async fn reconciles(op: &Operator, kind: &str) -> Result<f64> {
    let (_, page) = get_text(&format!("{}/metrics", op.url)).await?;
    Ok(counter(
        &page,
        "berth_operator_reconciles_total",
        &format!("kind=\"{kind}\""),
    ))
}

/// A Registry pod run by the harness, reported ready once it is.
async fn start_registry_pod(
    cluster: &Cluster,
    client: &Client,
    ns: &str,
) -> Result<(RunningPod, u16)> {
    let (pod, port) = super::support::registry_replica(cluster, ns).await?;
    report_ready(client.clone(), ns, "main", 1).await?;
    Ok((pod, port))
}

/// Waits for the operator to have made `name` (it applies its objects one after another).
async fn appears<K>(op: &Operator, client: &Client, ns: &str, name: &str) -> Result<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let what = format!("{} {name}", K::kind(&()));
    until(TIMEOUT, &what, || async { Ok(api.get_opt(name).await?) })
        .await
        .with_context(|| format!("the operator's log:\n{}", op.pod.stderr()))
}

/// The resourceVersion of everything the operator makes, and of the resources it writes.
async fn versions(client: &Client, ns: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    macro_rules! record {
        ($($k:ty),*) => {$(
            for o in Api::<$k>::namespaced(client.clone(), ns).list(&Default::default()).await?.items {
                out.insert(format!("{}/{}", stringify!($k), o.name_any()), o.resource_version().unwrap_or_default());
            }
        )*};
    }
    record!(
        Deployment,
        Service,
        ConfigMap,
        Secret,
        ServiceAccount,
        Role,
        RoleBinding,
        Ingress,
        PodDisruptionBudget,
        PersistentVolumeClaim,
        Registry,
        Package
    );
    Ok(out)
}

const REGISTRY: &str = "apiVersion: berth.dev/v1alpha1
kind: Registry
metadata: {name: main}
spec:
  host: pages.localhost
  containersHost: localhost
  ingress: {className: nginx, tlsSecretName: main-tls}
  storage: {filesystem: {size: 1Gi}}
";

fn package(visibility: &str, access: &str) -> String {
    format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {{name: alice.app}}\nspec:\n  owner: alice\n  name: app\n  visibility: {visibility}\n  access: {access}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn install_apply_push_open_revoke_repair_refuse_and_restart() -> Result<()> {
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("operator").await?;
    let ns = namespace.name();
    let client = cluster.client().await?;

    // 1. helm install; the operator runs from the chart's Deployment as its ServiceAccount.
    let release = format!("b{}", &ns[ns.len() - 8..]);
    cluster
        .helm(&[
            "install",
            &release,
            &chart_dir(),
            "--namespace",
            ns,
            "--set",
            &format!("image.repository={IMAGE_REPOSITORY}"),
            "--set",
            &format!("image.tag={IMAGE_TAG}"),
            "--set",
            &format!("operator.watchNamespace={ns}"),
        ])
        .await?;
    let operator_deployment = format!("{release}-berth-operator");
    let mut operator = start_operator(cluster, ns, &operator_deployment).await?;

    // 2. A Registry: every object appears with the expected fields.
    apply_yaml::<Registry>(cluster, ns, "kubectl", REGISTRY).await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let d = until(TIMEOUT, "the registry Deployment", || async {
        Ok(deployments.get_opt("main").await?)
    })
    .await?;
    let container = &d.spec.template.spec.as_ref().unwrap().containers[0];
    ensure!(
        container.image.as_deref() == Some(&format!("{IMAGE_REPOSITORY}:{IMAGE_TAG}")),
        "image {:?}",
        container.image
    );
    ensure!(
        container
            .security_context
            .as_ref()
            .unwrap()
            .read_only_root_filesystem
            == Some(true)
    );
    let ingress = appears::<Ingress>(&operator, &client, ns, "main").await?;
    let hosts: Vec<_> = ingress
        .spec
        .unwrap()
        .rules
        .unwrap()
        .into_iter()
        .filter_map(|r| r.host)
        .collect();
    ensure!(
        hosts == ["localhost", "pages.localhost"],
        "ingress hosts {hosts:?}"
    );
    for secret in [
        "main-signing-keys",
        "main-upload-key",
        "main-admin-token",
        "main-pat-admin",
    ] {
        appears::<Secret>(&operator, &client, ns, secret).await?;
    }
    appears::<Service>(&operator, &client, ns, "main").await?;
    appears::<ConfigMap>(&operator, &client, ns, "main-config").await?;
    appears::<PersistentVolumeClaim>(&operator, &client, ns, "main-data").await?;
    appears::<PodDisruptionBudget>(&operator, &client, ns, "main").await?;
    appears::<Role>(&operator, &client, ns, "main-registry").await?;
    appears::<RoleBinding>(&operator, &client, ns, "main-registry").await?;
    appears::<ServiceAccount>(&operator, &client, ns, "main-registry").await?;

    // ...and Available once the pod runner runs it.
    let (registry_pod, port) = start_registry_pod(cluster, &client, ns).await?;
    let registries: Api<Registry> = Api::namespaced(client.clone(), ns);
    until(TIMEOUT, "the Registry to be Available", || async {
        let r = registries.get("main").await?;
        let available = r
            .status
            .iter()
            .flat_map(|s| &s.conditions)
            .any(|c| c.type_ == "Available" && c.status == "True");
        Ok(available.then_some(()))
    })
    .await?;

    // 3. podman push and pull, with a PAT made by `berth token create`.
    let token = |user: &str, scopes: &str| cluster_token(cluster, ns, user, scopes);
    // The containers host, as a client names it (the pod listens on 127.0.0.1).
    let host = format!("localhost:{port}");
    let alice = Podman::new();
    let alice_token = token("alice", "write:packages");
    wait_until(
        "alice's token to reach the registry",
        Duration::from_secs(10),
        || {
            alice
                .try_login(&host, "alice", &alice_token)
                .status
                .success()
        },
    );
    let image = format!("{host}/alice/app:v1");
    alice.build(
        &image,
        "linux/amd64",
        "pushed through the operator's registry\n",
        &[],
    );
    alice.push(&image, &[]);
    alice.rmi_all();
    alice.pull(&image, &[]);
    let packages: Api<Package> = Api::namespaced(client.clone(), ns);
    let created = until(
        TIMEOUT,
        "the Package the push created, Ready, with its counts",
        || async {
            let p = packages.get_opt("alice.app").await?;
            Ok(p.filter(|p| {
                let s = p.status.clone().unwrap_or_default();
                s.publisher
                    .is_some_and(|pb| pb.user.as_deref() == Some("alice"))
                    && s.tag_count == Some(1)
                    && s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
            }))
        },
    )
    .await;
    if let Err(e) = created {
        let seen = packages.get_opt("alice.app").await?;
        return Err(e.context(format!(
            "the Package: {seen:#?}\nthe registry's log:\n{}\nthe operator's log:\n{}",
            registry_pod.stderr(),
            operator.pod.stderr()
        )));
    }

    // 3b. The Package follows the package: downloads in its status; deleted through the
    // REST API it goes, restored it comes back; the image pulls again.
    let admin_token = token("alice", "read:packages,write:packages,delete:packages");
    delete_and_restore(&packages, port, &admin_token)
        .await
        .with_context(|| format!("the registry's log:\n{}", registry_pod.stderr()))?;
    alice.rmi_all();
    alice.pull(&image, &[]);

    // 4. A Package that makes it public: an anonymous pull works within 2 s.
    apply_yaml::<Package>(cluster, ns, "kubectl", &package("public", "[]")).await?;
    let anonymous = Podman::new();
    wait_until(
        "an anonymous pull of the now public package",
        Duration::from_secs(2),
        || anonymous.try_pull(&image).status.success(),
    );

    // 5. A user's grant removed: their next pull is refused.
    let bob = Podman::new();
    let bob_token = token("bob", "read:packages");
    apply_yaml::<Package>(
        cluster,
        ns,
        "kubectl",
        &package("private", "[{user: bob, role: read}]"),
    )
    .await?;
    wait_until("bob's token and grant", Duration::from_secs(10), || {
        bob.try_login(&host, "bob", &bob_token).status.success()
            && bob.try_pull(&image).status.success()
    });
    apply_yaml::<Package>(cluster, ns, "kubectl", &package("private", "[]")).await?;
    wait_until("bob's pull to be refused", Duration::from_secs(2), || {
        bob.rmi_all();
        !bob.try_pull(&image).status.success()
    });

    // 6. Drift: a deleted Deployment comes back.
    let uid = deployments.get("main").await?.uid();
    deployments.delete("main", &DeleteParams::default()).await?;
    until(TIMEOUT, "the Deployment to be recreated", || async {
        Ok(deployments
            .get_opt("main")
            .await?
            .filter(|d| d.uid() != uid))
    })
    .await?;
    report_ready(client.clone(), ns, "main", 1).await?;

    // 7. An invalid Package: a condition with its reason, and no hot loop.
    apply_yaml::<berth_crds::organization::Organization>(
        cluster, ns, "kubectl",
        "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\nspec: {members: [alice]}\n",
    )
    .await?;
    apply_yaml::<Package>(
        cluster, ns, "kubectl",
        "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {name: acme.tool}\nspec: {owner: acme, name: tool, access: [{team: ghosts, role: read}]}\n",
    )
    .await?;
    let invalid = until(TIMEOUT, "the invalid Package's condition", || async {
        let p = packages.get("acme.tool").await?;
        Ok(p.status
            .unwrap_or_default()
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready" && c.status == "False"))
    })
    .await?;
    ensure!(
        invalid.reason == "UnknownTeam" && invalid.message.contains("ghosts"),
        "{invalid:?}"
    );
    // No hot loop. The last writes (this Package's condition, the Organization's status)
    // still cause a reconcile or two, later on a loaded machine: first wait until the
    // count stops moving (two equal readings 3 s apart), then watch a window longer than
    // twice the error retry (10 s), in which a loop of any speed would show at least
    // twice; one late event is tolerated.
    let deadline = std::time::Instant::now() + TIMEOUT;
    let mut before = reconciles(&operator, "Package").await?;
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = reconciles(&operator, "Package").await?;
        if now == before {
            break;
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "Package reconciles never settle: {now} after {TIMEOUT:?}"
        );
        before = now;
    }
    tokio::time::sleep(Duration::from_secs(25)).await;
    let after = reconciles(&operator, "Package").await?;
    ensure!(
        after - before <= 1.0,
        "the operator reconciles Packages in a loop: {before} → {after} in 25 s"
    );

    // 8. A restarted operator changes nothing.
    let settled = versions(&client, ns).await?;
    operator.pod.kill();
    let operator = start_operator(cluster, ns, &operator_deployment).await?;
    let reconciled = until(
        TIMEOUT,
        "the new operator to reconcile everything",
        || async {
            let r = reconciles(&operator, "Registry").await?;
            let p = reconciles(&operator, "Package").await?;
            Ok((r >= 1.0 && p >= 2.0).then_some(()))
        },
    )
    .await;
    if let Err(e) = reconciled {
        let metrics = get_text(&format!("{}/metrics", operator.url)).await?.1;
        return Err(e.context(format!(
            "the operator's log:\n{}\nits metrics:\n{metrics}",
            operator.pod.stderr()
        )));
    }
    let again = versions(&client, ns).await?;
    let changed: Vec<_> = settled
        .iter()
        .filter(|(k, v)| again.get(*k) != Some(v))
        .map(|(k, _)| k)
        .collect();
    ensure!(changed.is_empty(), "a restart rewrote {changed:?}");
    Ok(())
}
