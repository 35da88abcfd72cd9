//! Smoke tests of the cluster harness against a real API server: one test binary, so every
//! test shares one control plane. Run one with
//! `cargo test -p berth-e2e --test smoke -- NAME`.

mod crd;
mod helm;
mod pod_runner;
mod rbac;
mod ssa;

use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// How long a condition in these tests may take to become true.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The path of a file under `tests/fixtures/`.
fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        ..ObjectMeta::default()
    }
}

/// Creates ServiceAccount `name` and a Role bound to it that grants `verbs` on core
/// `resources` in `namespace`.
async fn service_account_with_role(
    client: &Client,
    namespace: &str,
    name: &str,
    resources: &[&str],
    verbs: &[&str],
) -> Result<()> {
    let strings = |items: &[&str]| Some(items.iter().map(|s| s.to_string()).collect());
    let post = PostParams::default();
    Api::<ServiceAccount>::namespaced(client.clone(), namespace)
        .create(
            &post,
            &ServiceAccount {
                metadata: meta(name),
                ..Default::default()
            },
        )
        .await
        .context("create the ServiceAccount")?;
    let role = Role {
        metadata: meta(name),
        rules: Some(vec![PolicyRule {
            api_groups: strings(&[""]),
            resources: strings(resources),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }]),
    };
    Api::<Role>::namespaced(client.clone(), namespace)
        .create(&post, &role)
        .await
        .context("create the Role")?;
    let binding = RoleBinding {
        metadata: meta(name),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_owned()),
            kind: "Role".to_owned(),
            name: name.to_owned(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_owned(),
            name: name.to_owned(),
            namespace: Some(namespace.to_owned()),
            ..Default::default()
        }]),
    };
    Api::<RoleBinding>::namespaced(client.clone(), namespace)
        .create(&post, &binding)
        .await
        .context("create the RoleBinding")?;
    Ok(())
}

/// Whether `result` is the API server's 403 Forbidden.
fn is_forbidden<T>(result: &kube::Result<T>) -> bool {
    matches!(result, Err(kube::Error::Api(status)) if status.code == 403)
}
