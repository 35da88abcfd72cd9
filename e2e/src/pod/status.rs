//! The harness is the kubelet and the Deployment controller: once a pod it runs is ready,
//! it reports so in the Deployment's status, as a cluster would.

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

/// Marks `replicas` replicas of Deployment `name` updated, ready and available for its
/// current generation.
pub async fn report_ready(
    client: kube::Client,
    namespace: &str,
    name: &str,
    replicas: i32,
) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(client, namespace);
    let d = api
        .get(name)
        .await
        .with_context(|| format!("deployment {name}"))?;
    let status = json!({"status": {
        "observedGeneration": d.metadata.generation,
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                        "message": "reported by the e2e harness"}],
    }});
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .with_context(|| format!("reporting deployment {name} ready"))?;
    Ok(())
}
