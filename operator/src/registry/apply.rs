//! Applying a Registry's desired set with server-side apply, in an order that has every
//! object a pod needs (identity, Secrets, configuration, claim) in place before the
//! Deployment that starts the pods.

use k8s_openapi::api::apps::v1::Deployment;
use kube::Client;

use super::build::Resources;
use crate::apply::apply;
use crate::error::Result;

/// What the status is judged from, as the API server returned it.
pub struct Applied {
    pub deployment: Deployment,
}

/// Applies every object of `set`.
pub async fn apply_all(client: &Client, set: &Resources) -> Result<Applied> {
    // Destructured without `..`: an object added to `Resources` fails to compile here
    // until it is applied.
    let Resources {
        service_account,
        role,
        role_binding,
        secrets,
        config_map,
        pvc,
        deployment,
        service,
        ingress,
        pdb,
    } = set;
    apply(client, service_account).await?;
    apply(client, role).await?;
    apply(client, role_binding).await?;
    for secret in secrets {
        apply(client, secret).await?;
    }
    apply(client, config_map).await?;
    if let Some(pvc) = pvc {
        apply(client, pvc).await?;
    }
    let deployment = apply(client, deployment).await?;
    apply(client, service).await?;
    apply(client, ingress).await?;
    apply(client, pdb).await?;
    Ok(Applied { deployment })
}
