//! What a Registry's build needs from the cluster besides the Registry: the Secrets it
//! names, and the material of the Secrets the operator keeps for it.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::{Api, Client};

use super::build::SecretMaterial;
use super::material;
use super::validate::{CaBundle, InvalidSpec, StoragePlan, ValidRegistry};
use crate::error::Result;

/// The material of `valid`'s Secrets, or (inner `Err`) why the Registry cannot be
/// deployed yet: pods whose `envFrom` names a missing Secret would never start. The
/// outer `Err` is a transient API failure.
pub async fn dereference(
    client: &Client,
    valid: &ValidRegistry,
) -> Result<Result<SecretMaterial, InvalidSpec>> {
    let secrets_api: Api<Secret> = Api::namespaced(client.clone(), &valid.namespace);
    if let StoragePlan::S3 {
        credentials_secret: Some(name),
        ..
    } = &valid.storage
        && secrets_api.get_opt(name).await?.is_none()
    {
        return Ok(Err(InvalidSpec::MissingCredentials(name.clone())));
    }
    if let StoragePlan::S3 {
        ca_bundle: Some(ca),
        ..
    } = &valid.storage
    {
        // A pod whose volume names a missing object or key would never start.
        let (what, present) = match ca {
            CaBundle::Secret { name, key } => (
                format!("key {key:?} of Secret {name:?}"),
                secrets_api.get_opt(name).await?.is_some_and(|s| {
                    s.data.is_some_and(|d| d.contains_key(key))
                        || s.string_data.is_some_and(|d| d.contains_key(key))
                }),
            ),
            CaBundle::ConfigMap { name, key } => {
                let api: Api<ConfigMap> = Api::namespaced(client.clone(), &valid.namespace);
                (
                    format!("key {key:?} of ConfigMap {name:?}"),
                    api.get_opt(name)
                        .await?
                        .is_some_and(|c| c.data.is_some_and(|d| d.contains_key(key))),
                )
            }
        };
        if !present {
            return Ok(Err(InvalidSpec::MissingCaBundle(what)));
        }
    }
    Ok(Ok(material::resolve(&secrets_api, valid).await?))
}
