//! A namespace of its own for each test.

use std::fmt;

use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::cluster::Cluster;
use crate::tools;

/// The label every test namespace carries, to find (and clean) them on a real cluster.
pub const NAMESPACE_LABEL: &str = "berth.dev/e2e";

/// A namespace created for one test. On an existing cluster it is deleted when dropped;
/// the harness's own control plane runs no namespace controller to finish a deletion, and
/// goes away with the test process anyway.
#[derive(Debug)]
pub struct TestNamespace {
    name: String,
    /// kubectl and a kubeconfig to delete the namespace with, for existing clusters.
    cleanup: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl TestNamespace {
    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for TestNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if let Some((kubectl, kubeconfig)) = &self.cleanup {
            // Synchronous and without waiting: Drop cannot await, and the cluster's
            // namespace controller finishes the job.
            let _ = std::process::Command::new(kubectl)
                .arg(format!("--kubeconfig={}", kubeconfig.display()))
                .args(["delete", "namespace", &self.name, "--wait=false"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

impl Cluster {
    /// Creates a namespace named `e2e-PREFIX-RANDOM` with a `default` ServiceAccount in it
    /// (which the missing controller-manager would otherwise create).
    pub async fn namespace(&self, prefix: &str) -> Result<TestNamespace> {
        let name = namespace_name(prefix, rand::random::<u32>());
        let client = self.client().await?;
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                labels: Some([(NAMESPACE_LABEL.to_owned(), "true".to_owned())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .with_context(|| format!("create namespace {name}"))?;
        let cleanup = if self.is_external() {
            Some((tools::kubectl()?, self.kubeconfig().to_owned()))
        } else {
            None
        };
        let namespace = TestNamespace { name, cleanup };
        ensure_default_service_account(client, namespace.name()).await?;
        Ok(namespace)
    }
}

async fn ensure_default_service_account(client: Client, namespace: &str) -> Result<()> {
    let account = ServiceAccount {
        metadata: ObjectMeta {
            name: Some("default".to_owned()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    };
    match Api::<ServiceAccount>::namespaced(client, namespace)
        .create(&PostParams::default(), &account)
        .await
    {
        // A real cluster's controller may have been first.
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
        Err(error) => Err(error).context("create the default ServiceAccount"),
    }
}

/// `e2e-PREFIX-SUFFIX`, with `prefix` reduced to what a namespace name allows.
fn namespace_name(prefix: &str, suffix: u32) -> String {
    let mut clean: String = prefix
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    // 63 characters at most: "e2e-" + prefix + "-" + 8 hex digits.
    clean.truncate(50);
    let clean = clean.trim_matches('-');
    if clean.is_empty() {
        format!("e2e-{suffix:08x}")
    } else {
        format!("e2e-{clean}-{suffix:08x}")
    }
}

#[cfg(test)]
mod tests {
    use super::namespace_name;

    #[test]
    fn names_are_valid_labels() {
        assert_eq!(
            namespace_name("Pod_Runner", 0xab),
            "e2e-pod-runner-000000ab"
        );
        assert_eq!(namespace_name("--", 1), "e2e-00000001");
        let long = namespace_name(&"x".repeat(100), u32::MAX);
        assert!(long.len() <= 63, "{long}");
    }
}
