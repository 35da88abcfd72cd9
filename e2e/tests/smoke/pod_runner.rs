//! The pod runner runs a Deployment's container with its mounts, env and identity.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use berth_e2e::wait::eventually;
use berth_e2e::{Cluster, Images, PodRunner, SERVICE_ACCOUNT_DIR, tools};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::json;

use super::{TIMEOUT, is_forbidden, meta, service_account_with_role};

/// The image the test's Deployment names; the runner maps it to /bin/sh.
const IMAGE: &str = "registry.example/e2e/shell:1";

/// What the "pod" does: reads its mounts and env, then uses its identity through the
/// kubeconfig the runner gave it. Paths are as the pod sees them.
const SCRIPT: &str = r#"
echo "greeting=$(cat /etc/app/greeting)"
echo "greeting-env=$(cat "$GREETING_FILE")"
echo "password=$(cat /etc/secret/password) $PASSWORD"
echo "pod=$POD_NAME $(cat /var/run/secrets/kubernetes.io/serviceaccount/namespace)"
echo "whoami=$("$KUBECTL" auth whoami -o 'jsonpath={.status.userInfo.username}')"
echo "read=$("$KUBECTL" get configmap app-config -o 'jsonpath={.data.greeting}')"
if "$KUBECTL" get secret app-secret >/dev/null 2>&1; then echo secrets=allowed; else echo secrets=denied; fi
echo "projected=$(cat /etc/projected/hello.txt)"
echo "arg=$0"
cmp -s /etc/projected/token /var/run/secrets/kubernetes.io/serviceaccount/token || echo tokens=distinct
"#;

#[tokio::test]
async fn pod_runner_runs_a_deployment_as_its_service_account() -> Result<()> {
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("pod-runner").await?;
    let ns = namespace.name();
    let admin = cluster.client().await?;
    service_account_with_role(&admin, ns, "app", &["configmaps"], &["get"]).await?;
    let post = PostParams::default();
    let config = ConfigMap {
        metadata: meta("app-config"),
        data: Some([("greeting".to_owned(), "hello from a ConfigMap".to_owned())].into()),
        ..Default::default()
    };
    Api::<ConfigMap>::namespaced(admin.clone(), ns)
        .create(&post, &config)
        .await?;
    let secret = Secret {
        metadata: meta("app-secret"),
        string_data: Some([("password".to_owned(), "s3cret".to_owned())].into()),
        ..Default::default()
    };
    Api::<Secret>::namespaced(admin.clone(), ns)
        .create(&post, &secret)
        .await?;
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "app" },
        "spec": {
            "selector": { "matchLabels": { "app": "app" } },
            "template": {
                "metadata": { "labels": { "app": "app" } },
                "spec": {
                    "serviceAccountName": "app",
                    "containers": [{
                        "name": "app",
                        "image": IMAGE,
                        "command": ["/bin/sh", "-c", SCRIPT],
                        // Expanded like Kubernetes does; becomes $0 of the script.
                        "args": ["$(POD_NAME)-arg"],
                        "env": [
                            { "name": "GREETING_FILE", "value": "/etc/app/greeting" },
                            { "name": "PASSWORD", "valueFrom": { "secretKeyRef": { "name": "app-secret", "key": "password" } } },
                            { "name": "POD_NAME", "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } } },
                        ],
                        "volumeMounts": [
                            { "name": "config", "mountPath": "/etc/app" },
                            { "name": "secret", "mountPath": "/etc/secret", "readOnly": true },
                            { "name": "projected", "mountPath": "/etc/projected" },
                        ],
                    }],
                    "volumes": [
                        { "name": "config", "configMap": { "name": "app-config" } },
                        { "name": "secret", "secret": { "secretName": "app-secret" } },
                        { "name": "projected", "projected": { "sources": [
                            { "configMap": { "name": "app-config", "items": [{ "key": "greeting", "path": "hello.txt" }] } },
                            { "serviceAccountToken": { "path": "token", "audience": "berth-e2e" } },
                        ] } },
                    ],
                },
            },
        },
    }))?;
    Api::<Deployment>::namespaced(admin.clone(), ns)
        .create(&post, &deployment)
        .await?;

    // The Role must be in force before the "pod" relies on it.
    let as_app = cluster.service_account_client(ns, "app").await?;
    let app_maps = Api::<ConfigMap>::namespaced(as_app, ns);
    eventually(TIMEOUT, "app to read its ConfigMap", || {
        app_maps.get("app-config")
    })
    .await?;

    let kubectl = tools::kubectl()?;
    let runner = PodRunner::new(Images::new().map("registry.example/e2e/shell", "/bin/sh"))
        .env("KUBECTL", kubectl.to_string_lossy());
    let mut pod = runner.run(cluster, ns, "app").await?;
    let token_file = pod
        .local_path(&format!("{SERVICE_ACCOUNT_DIR}/token"))
        .context("no ServiceAccount mount")?;
    let status = pod.wait(Duration::from_secs(60)).await?;
    let (stdout, stderr) = (pod.stdout(), pod.stderr());
    ensure!(
        status.success(),
        "the pod failed ({status}):\n{stdout}\n{stderr}"
    );

    let expected = [
        "greeting=hello from a ConfigMap".to_owned(),
        "greeting-env=hello from a ConfigMap".to_owned(),
        "password=s3cret s3cret".to_owned(),
        format!("pod={} {ns}", pod.name()),
        format!("whoami=system:serviceaccount:{ns}:app"),
        "read=hello from a ConfigMap".to_owned(),
        "secrets=denied".to_owned(),
        "projected=hello from a ConfigMap".to_owned(),
        format!("arg={}-arg", pod.name()),
        "tokens=distinct".to_owned(),
    ];
    let lines: Vec<&str> = stdout.lines().collect();
    for line in &expected {
        ensure!(
            lines.contains(&line.as_str()),
            "missing {line:?} in:\n{stdout}\n{stderr}"
        );
    }

    // The mounted token is a real token with the ServiceAccount's permissions, no more.
    let token = std::fs::read_to_string(&token_file)?;
    let as_token = cluster.client_with_token(token.trim(), ns).await?;
    Api::<ConfigMap>::namespaced(as_token.clone(), ns)
        .get("app-config")
        .await?;
    let secrets = Api::<Secret>::namespaced(as_token, ns)
        .list(&ListParams::default())
        .await;
    ensure!(
        is_forbidden(&secrets),
        "the pod's token listed Secrets: {secrets:?}"
    );
    Ok(())
}
