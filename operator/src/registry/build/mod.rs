//! The objects a Registry needs, built by pure functions from the validated spec: one
//! file per object, and [`build`] for the whole set, which the reconcile applies with
//! server-side apply (`registry::apply`).

use std::collections::BTreeMap;

use berth_crds::names;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::validate::ValidRegistry;

pub mod config_map;
mod deployment;
mod ingress;
mod pdb;
mod pvc;
mod rbac;
mod resources;
pub mod secrets;
mod service;

pub use config_map::{checksum, desired_config_map};
pub use deployment::{desired_deployment, pod_annotations};
pub use ingress::desired_ingress;
pub use pdb::desired_pdb;
pub use pvc::desired_pvc;
pub use rbac::{desired_role, desired_role_binding, desired_service_account};
pub use resources::{Resources, build};
pub use secrets::{SecretMaterial, desired_secrets};
pub use service::desired_service;

/// The port the registry container listens on.
pub const PORT: i32 = 5000;
/// Where the pods mount what the operator gives them.
pub const CONFIG_DIR: &str = "/etc/berth/config";
pub const KEYS_DIR: &str = "/etc/berth/keys";
pub const UPLOAD_KEY_DIR: &str = "/etc/berth/upload-key";
pub const DATA_DIR: &str = "/var/lib/berth";

/// Object names, derived from the Registry's name.
pub mod object_name {
    use super::ValidRegistry;
    pub fn service_account(r: &ValidRegistry) -> String {
        format!("{}-registry", r.name)
    }
    pub fn config(r: &ValidRegistry) -> String {
        format!("{}-config", r.name)
    }
    pub fn signing_keys(r: &ValidRegistry) -> String {
        format!("{}-signing-keys", r.name)
    }
    pub fn upload_key(r: &ValidRegistry) -> String {
        format!("{}-upload-key", r.name)
    }
    /// The bootstrap admin's token, readable by whoever may read Secrets here.
    pub fn admin_token(r: &ValidRegistry) -> String {
        format!("{}-admin-token", r.name)
    }
    /// The bootstrap admin PAT's record (its hash), as every PAT is kept.
    pub fn admin_pat(r: &ValidRegistry) -> String {
        format!("{}-pat-admin", r.name)
    }
    pub fn data(r: &ValidRegistry) -> String {
        format!("{}-data", r.name)
    }
}

/// Labels on everything a Registry owns.
pub fn labels(r: &ValidRegistry) -> BTreeMap<String, String> {
    let mut l = selector_labels(r);
    l.insert(
        names::LABEL_MANAGED_BY.into(),
        names::OPERATOR_MANAGER.into(),
    );
    l.insert(names::LABEL_REGISTRY.into(), r.name.clone());
    l
}

/// The labels that select the registry pods.
pub fn selector_labels(r: &ValidRegistry) -> BTreeMap<String, String> {
    BTreeMap::from([
        (names::LABEL_NAME.into(), names::APP.into()),
        (names::LABEL_INSTANCE.into(), r.name.clone()),
        (names::LABEL_COMPONENT.into(), "registry".into()),
    ])
}

/// Metadata of an object named `name` owned (and garbage-collected) with the Registry.
pub fn meta(r: &ValidRegistry, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(r.namespace.clone()),
        labels: Some(labels(r)),
        owner_references: Some(vec![OwnerReference {
            api_version: format!("{}/{}", berth_crds::GROUP, berth_crds::VERSION),
            kind: "Registry".into(),
            name: r.name.clone(),
            uid: r.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }]),
        ..ObjectMeta::default()
    }
}

/// A sample Registry for tests, here and in other crates (the registry CLI checks the
/// Deployment's args against its parser with it).
pub mod fixture {
    use std::collections::BTreeMap;

    use super::super::validate::{ValidRegistry, validate};
    use super::SecretMaterial;

    /// A Registry as a user would apply it.
    pub const REGISTRY: &str = r#"
apiVersion: berth.dev/v1alpha1
kind: Registry
metadata: {name: main, namespace: berth, uid: 1234-5678, generation: 3}
spec:
  host: example.com
  replicas: 1
  ingress:
    className: nginx
    tlsSecretName: example-tls
    annotations: {cert-manager.io/cluster-issuer: letsencrypt}
  storage: {filesystem: {size: 50Gi, storageClassName: fast}}
  auth: {siteAdmins: [olivia]}
  pod:
    annotations: {team: platform}
    resources: {requests: {cpu: 100m, memory: 64Mi}}
"#;

    /// [`REGISTRY`], validated.
    pub fn registry() -> ValidRegistry {
        registry_from(REGISTRY)
    }

    /// Fixed Secret values (what dereferencing would find or generate).
    pub fn material() -> SecretMaterial {
        SecretMaterial {
            signing_keys: BTreeMap::from([("0001-abc.pem".into(), "PEM".into())]),
            upload_key: "a2V5".into(),
            admin_token: "bpat_x".into(),
            admin_record: "{}".into(),
        }
    }

    /// The validated form of a Registry in YAML.
    pub fn registry_from(yaml: &str) -> ValidRegistry {
        validate(
            &serde_saphyr::from_str(yaml).unwrap(),
            "ghcr.io/berth/berth:0.1.0",
        )
        .unwrap()
    }

    /// Replicas on S3, with credentials from a Secret.
    pub const S3_REGISTRY: &str = r#"
apiVersion: berth.dev/v1alpha1
kind: Registry
metadata: {name: main, namespace: berth, uid: 1234-5678, generation: 1}
spec:
  host: example.com
  replicas: 3
  storage:
    s3: {bucket: berth, endpoint: "https://minio.example.com", pathStyle: true, credentialsSecret: berth-s3}
"#;
}
