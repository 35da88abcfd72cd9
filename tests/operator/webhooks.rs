//! Webhooks in a cluster: an Organization's webhook names its secret by a Secret, is not
//! Ready until that Secret exists, and once it is, a push through a registry pod reaches
//! the octokit receiver signed with it; a receiver that is down shows as the hook's last
//! failure in the Organization's status, and every push is an Event on its Package.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use berth_crds::organization::{Organization, WebhookStatus};
use berth_e2e::wait::until;
use berth_e2e::{Cluster, free_port};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, PostParams};

use super::receiver::Receiver;
use super::support::{
    TIMEOUT, apply_yaml, operator_on, package_resource, podman_on_pod, registry_pod_on_s3,
};
use crate::common::minio::Minio;

const SECRET: &str = "the hook's secret, from a Secret";

/// The Organization's `Ready` condition once it has `status`: (reason, message).
async fn ready(orgs: &Api<Organization>, status: &str) -> Result<(String, String)> {
    until(
        TIMEOUT,
        &format!("the Organization to be Ready={status}"),
        || async {
            let org = orgs.get("acme").await?;
            Ok(org
                .status
                .into_iter()
                .flat_map(|s| s.conditions)
                .find(|c| c.type_ == "Ready" && c.status == status)
                .map(|c| (c.reason, c.message)))
        },
    )
    .await
}

/// The hook's status, once `done` holds for it.
async fn hook_status(
    orgs: &Api<Organization>,
    what: &str,
    done: impl Fn(&WebhookStatus) -> bool,
) -> Result<WebhookStatus> {
    until(TIMEOUT, what, || async {
        let org = orgs.get_status("acme").await?;
        Ok(org
            .status
            .into_iter()
            .flat_map(|s| s.webhooks)
            .find(|h| done(h)))
    })
    .await
}

fn time(s: &str) -> jiff::Timestamp {
    s.parse()
        .unwrap_or_else(|e| panic!("{s:?} is not RFC 3339: {e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_from_secrets_status_and_package_events() -> Result<()> {
    let minio = tokio::task::spawn_blocking(Minio::shared).await?;
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("operator-webhooks").await?;
    let ns = namespace.name();
    let client = cluster.client().await?;
    let (operator, _logs) = operator_on(cluster, ns).await?;

    // 1. The hook's Secret is missing: not Ready, and the message says how to make it.
    let receiver_addr = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()?));
    let url = format!("http://{receiver_addr}/hook");
    apply_yaml::<Organization>(
        cluster,
        ns,
        "kubectl",
        &format!(
            "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {{name: acme}}\nspec:\n  \
             owners: [alice]\n  webhooks:\n    - {{url: '{url}', secretRef: {{name: acme-hook}}}}\n"
        ),
    )
    .await?;
    let orgs: Api<Organization> = Api::namespaced(client.clone(), ns);
    let (reason, message) = ready(&orgs, "False")
        .await
        .with_context(|| operator.stderr())?;
    ensure!(
        reason == "WebhookSecretMissing"
            && message.contains("kubectl create secret generic acme-hook --from-literal=secret="),
        "{reason}: {message}"
    );
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "acme-hook"}, "stringData": {"secret": SECRET},
    }))?;
    let secrets = Api::<Secret>::namespaced(client.clone(), ns);
    secrets.create(&PostParams::default(), &secret).await?;
    ready(&orgs, "True")
        .await
        .with_context(|| operator.stderr())?;

    // 2. A registry pod that may deliver to loopback (the receiver is on this machine).
    let extra = "  webhooks: {allowPrivateTargets: true}\n";
    let (pod, port) = registry_pod_on_s3(cluster, ns, minio, extra, &operator).await?;

    // 3. A push: the receiver verifies the Secret's signature and GitHub's schema.
    // (The clients block: this runtime has other workers for the API's connections.)
    let receiver = Receiver::start(receiver_addr, SECRET);
    let (_, host, alice) = podman_on_pod(cluster, ns, port, "alice", "write:packages");
    let image = format!("{host}/acme/app:v1");
    let digest = alice.publish(&image, "announced from a pod\n", &[]);
    let got = receiver.wait_for(2, Duration::from_secs(30));
    ensure!(
        got.iter()
            .all(|d| d["verified"] == true && d["errors"] == serde_json::json!([])),
        "every delivery signed with the Secret's value and valid: {got:?}\n{}",
        pod.stderr()
    );
    let events: Vec<_> = got
        .iter()
        .map(|d| d["event"].as_str().unwrap_or_default())
        .collect();
    ensure!(
        events.contains(&"package") && events.contains(&"registry_package"),
        "{events:?}"
    );
    ensure!(
        got.iter().all(|d| d["digest"] == digest.as_str()),
        "{got:?}"
    );
    let ok = hook_status(&orgs, "the hook's last success", |h| {
        h.last_success.is_some()
    })
    .await
    .with_context(|| pod.stderr())?;
    ensure!(ok.url == url && ok.last_failure.is_none(), "{ok:?}");

    // 4. The push is an Event on the Package, naming who pushed what.
    let resource = package_resource(&client, ns, "acme", "app").await?;
    let events_api: Api<Event> = Api::namespaced(client.clone(), ns);
    let pushed = until(TIMEOUT, "the push's Event on the Package", || async {
        Ok(events_api
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .find(|e| {
                e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(&resource)
                    && e.reason.as_deref() == Some("Pushed")
            }))
    })
    .await
    .with_context(|| pod.stderr())?;
    let note = pushed.note.unwrap_or_default();
    ensure!(
        note.starts_with(&format!("alice pushed {digest} (tags v1)")),
        "{note}"
    );

    // 5. The receiver down: the push still succeeds, and the hook's failure shows.
    drop(receiver);
    let v2 = format!("{host}/acme/app:v2");
    let digest2 = alice.publish(&v2, "while the receiver is down\n", &[]);
    let failed = hook_status(&orgs, "the hook's last failure", |h| {
        h.last_failure.is_some()
    })
    .await
    .with_context(|| pod.stderr())?;
    let failure = failed.last_failure.clone().context("a failure")?;
    ensure!(
        failure.message.contains("error sending request") || failure.message.contains("onnect"),
        "the failure says the receiver could not be reached: {failure:?}"
    );

    // 6. Back up: the retry delivers, and the success after the failure shows.
    let receiver = Receiver::start(receiver_addr, SECRET);
    let got = receiver.wait_for(2, Duration::from_secs(60));
    ensure!(
        got.iter()
            .all(|d| d["digest"] == digest2.as_str() && d["verified"] == true),
        "{got:?}"
    );
    let failed_at = time(&failure.time);
    hook_status(&orgs, "a success after the failure", |h| {
        h.last_success
            .as_deref()
            .is_some_and(|s| time(s) > failed_at)
    })
    .await
    .with_context(|| pod.stderr())?;
    Ok(())
}
