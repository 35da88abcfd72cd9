//! The ConfigMap holding the registry pods' configuration: the Registry itself, as the
//! YAML their `--config` reads.

use std::collections::BTreeMap;

use berth_crds::Registry;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;
use sha2::{Digest as _, Sha256};

use super::{ValidRegistry, meta, object_name};

/// The file name inside the ConfigMap.
pub const CONFIG_FILE: &str = "registry.yaml";
/// The user the bootstrap token signs in as; a site admin.
pub const BOOTSTRAP_ADMIN: &str = "admin";

pub fn desired_config_map(r: &ValidRegistry) -> ConfigMap {
    let mut spec = r.spec.clone();
    // The pods read the CA bundle from the file the Deployment mounts.
    if let Some(s3) = spec.storage.as_mut().and_then(|s| s.s3.as_mut())
        && s3.ca_bundle_from.take().is_some()
    {
        s3.ca_bundle = Some(super::deployment::s3_ca_path());
    }
    let auth = spec.auth.get_or_insert_with(Default::default);
    if !auth.site_admins.iter().any(|a| a == BOOTSTRAP_ADMIN) {
        auth.site_admins.push(BOOTSTRAP_ADMIN.into());
    }
    let mut config = Registry::new(&r.name, spec);
    config.metadata = ObjectMeta {
        name: Some(r.name.clone()),
        ..ObjectMeta::default()
    };
    let yaml = serde_saphyr::to_string(&config).expect("a Registry serializes");
    ConfigMap {
        metadata: meta(r, object_name::config(r)),
        data: Some(BTreeMap::from([(CONFIG_FILE.to_owned(), yaml)])),
        ..ConfigMap::default()
    }
}

/// A checksum of the configuration, so that a change rolls the pods.
pub fn checksum(cm: &ConfigMap) -> String {
    let mut h = Sha256::new();
    for (k, v) in cm.data.iter().flatten() {
        h.update(k.as_bytes());
        h.update([0]);
        h.update(v.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn the_config_is_the_registry_with_the_bootstrap_admin() {
        let cm = desired_config_map(&fixture::registry());
        let yaml = &cm.data.as_ref().unwrap()[CONFIG_FILE];
        let back: Registry = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(back.spec.host.as_deref(), Some("example.com"));
        assert_eq!(back.spec.auth.unwrap().site_admins, ["olivia", "admin"]);
        // The same spec, the same checksum; any change, another.
        assert_eq!(
            checksum(&cm),
            checksum(&desired_config_map(&fixture::registry()))
        );
        let mut other = fixture::registry();
        other.spec.replicas = Some(2);
        assert_ne!(checksum(&cm), checksum(&desired_config_map(&other)));
    }
}
