//! The registry Deployment: the operator's own image unless the Registry names one,
//! probes on the health endpoints, non-root with a read-only root filesystem, spread
//! over nodes, and a checksum of the configuration that rolls the pods when it changes.

use std::collections::BTreeMap;

use berth_crds::names;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvFromSource, EnvVar, EnvVarSource, HTTPGetAction, KeyToPath, ObjectFieldSelector,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Probe,
    SeccompProfile, SecretEnvSource, SecretVolumeSource, SecurityContext, TopologySpreadConstraint,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::config_map::CONFIG_FILE;
use super::secrets::UPLOAD_KEY_FILE;
use super::{
    CONFIG_DIR, DATA_DIR, KEYS_DIR, PORT, UPLOAD_KEY_DIR, ValidRegistry, meta, object_name,
    selector_labels,
};
use crate::registry::validate::{CaBundle, StoragePlan};

/// The uid the registry runs as (the distroless `nonroot` user).
const RUN_AS: i64 = 65532;

pub fn desired_deployment(r: &ValidRegistry, config_checksum: &str) -> Deployment {
    let mut pod_annotations = r.pod.annotations.clone();
    pod_annotations.insert(
        names::ANNOTATION_CONFIG_CHECKSUM.into(),
        config_checksum.into(),
    );
    let mut pod_labels = selector_labels(r);
    pod_labels.insert(names::LABEL_REGISTRY.into(), r.name.clone());
    // A ReadWriteOnce volume cannot be mounted by the old and the new pod at once.
    let recreate = match &r.storage {
        StoragePlan::Filesystem { access_modes, .. } => {
            !access_modes.iter().any(|m| m == "ReadWriteMany")
        }
        StoragePlan::S3 { .. } => false,
    };
    Deployment {
        metadata: meta(r, r.name.clone()),
        spec: DeploymentSpec {
            replicas: Some(r.replicas),
            selector: LabelSelector {
                match_labels: Some(selector_labels(r)),
                ..LabelSelector::default()
            },
            strategy: recreate.then(|| DeploymentStrategy {
                type_: Some("Recreate".into()),
                ..DeploymentStrategy::default()
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(pod_annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(r)),
            },
            ..DeploymentSpec::default()
        },
        ..Deployment::default()
    }
}

fn pod_spec(r: &ValidRegistry) -> PodSpec {
    PodSpec {
        service_account_name: Some(object_name::service_account(r)),
        containers: vec![container(r)],
        volumes: Some(volumes(r)),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            fs_group: Some(RUN_AS),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        }),
        topology_spread_constraints: Some(vec![TopologySpreadConstraint {
            max_skew: 1,
            topology_key: "kubernetes.io/hostname".into(),
            when_unsatisfiable: "ScheduleAnyway".into(),
            label_selector: Some(LabelSelector {
                match_labels: Some(selector_labels(r)),
                ..LabelSelector::default()
            }),
            ..TopologySpreadConstraint::default()
        }]),
        affinity: r.pod.affinity.clone(),
        tolerations: (!r.pod.tolerations.is_empty()).then(|| r.pod.tolerations.clone()),
        node_selector: (!r.pod.node_selector.is_empty()).then(|| r.pod.node_selector.clone()),
        ..PodSpec::default()
    }
}

fn container(r: &ValidRegistry) -> Container {
    let mount = |name: &str, path: &str, read_only: bool| VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(read_only),
        ..VolumeMount::default()
    };
    Container {
        name: "registry".into(),
        image: Some(r.image.clone()),
        args: Some(args()),
        env: Some(env(r)),
        env_from: env_from(r),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: PORT,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        liveness_probe: Some(probe("/livez", 10)),
        readiness_probe: Some(probe("/readyz", 5)),
        resources: r.pod.resources.clone(),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some({
            let mut mounts = vec![
                mount("config", CONFIG_DIR, true),
                mount("signing-keys", KEYS_DIR, true),
                mount("upload-key", UPLOAD_KEY_DIR, true),
                mount("data", DATA_DIR, false),
                mount("tmp", "/tmp", false),
            ];
            if ca_bundle(r).is_some() {
                mounts.push(mount("s3-ca", S3_CA_DIR, true));
            }
            mounts
        }),
        ..Container::default()
    }
}

/// `berth registry serve` as a pod: everything from the mounts. These are the flags of
/// `src/cli/registry.rs`; a test there parses them with its parser.
fn args() -> Vec<String> {
    [
        "registry",
        "serve",
        "--kubernetes",
        "--config",
        &format!("{CONFIG_DIR}/{CONFIG_FILE}"),
        "--data-dir",
        DATA_DIR,
        "--keys-dir",
        KEYS_DIR,
        "--upload-state-key-file",
        &format!("{UPLOAD_KEY_DIR}/{UPLOAD_KEY_FILE}"),
        "--log-format",
        "json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// The listen address, the Registry's name and (from the downward API) its namespace.
fn env(r: &ValidRegistry) -> Vec<EnvVar> {
    let value = |name: &str, value: &str| EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..EnvVar::default()
    };
    vec![
        value("BERTH_LISTEN", &format!("0.0.0.0:{PORT}")),
        value("BERTH_REGISTRY", &r.name),
        EnvVar {
            name: "BERTH_NAMESPACE".into(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "metadata.namespace".into(),
                    ..ObjectFieldSelector::default()
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        },
    ]
}

/// The S3 credentials Secret's keys as the environment, when the Registry names one.
fn env_from(r: &ValidRegistry) -> Option<Vec<EnvFromSource>> {
    match &r.storage {
        StoragePlan::S3 {
            credentials_secret: Some(secret),
            ..
        } => Some(vec![EnvFromSource {
            secret_ref: Some(SecretEnvSource {
                name: secret.clone(),
                optional: Some(false),
            }),
            ..EnvFromSource::default()
        }]),
        _ => None,
    }
}

/// A probe on the health endpoint `path`, every `period` seconds.
fn probe(path: &str, period: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(3),
        ..Probe::default()
    }
}

fn volumes(r: &ValidRegistry) -> Vec<Volume> {
    let secret = |name: &str, secret: String| Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret),
            default_mode: Some(0o400),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    };
    let mut volumes = vec![
        Volume {
            name: "config".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: object_name::config(r),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        secret("signing-keys", object_name::signing_keys(r)),
        secret("upload-key", object_name::upload_key(r)),
        match &r.storage {
            StoragePlan::Filesystem { .. } => Volume {
                name: "data".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: object_name::data(r),
                    ..PersistentVolumeClaimVolumeSource::default()
                }),
                ..Volume::default()
            },
            // Content is in the bucket; the data dir holds nothing that must last.
            StoragePlan::S3 { .. } => Volume {
                name: "data".into(),
                empty_dir: Some(EmptyDirVolumeSource::default()),
                ..Volume::default()
            },
        },
        Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        },
    ];
    if let Some(ca) = ca_bundle(r) {
        // The one key, as the file the pods' config names.
        let items = |key: &str| {
            Some(vec![KeyToPath {
                key: key.into(),
                path: S3_CA_FILE.into(),
                ..KeyToPath::default()
            }])
        };
        volumes.push(match ca {
            CaBundle::Secret { name, key } => Volume {
                name: "s3-ca".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(name.clone()),
                    items: items(key),
                    ..SecretVolumeSource::default()
                }),
                ..Volume::default()
            },
            CaBundle::ConfigMap { name, key } => Volume {
                name: "s3-ca".into(),
                config_map: Some(ConfigMapVolumeSource {
                    name: name.clone(),
                    items: items(key),
                    ..ConfigMapVolumeSource::default()
                }),
                ..Volume::default()
            },
        });
    }
    volumes
}

/// Where the pods find the S3 endpoint's CA bundle, when the Registry names one.
pub const S3_CA_DIR: &str = "/etc/berth/s3-ca";
const S3_CA_FILE: &str = "ca.pem";

/// The path of the mounted CA bundle, as the pods' config names it.
pub fn s3_ca_path() -> String {
    format!("{S3_CA_DIR}/{S3_CA_FILE}")
}

fn ca_bundle(r: &ValidRegistry) -> Option<&CaBundle> {
    match &r.storage {
        StoragePlan::S3 { ca_bundle, .. } => ca_bundle.as_ref(),
        StoragePlan::Filesystem { .. } => None,
    }
}

/// The annotations on a Deployment's pods (for tests and status).
pub fn pod_annotations(d: &Deployment) -> BTreeMap<String, String> {
    d.spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn hardened_probed_spread_and_rolled_by_config() {
        let d = desired_deployment(&fixture::registry(), "abc123");
        let spec = d.spec.clone();
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("Recreate"));
        let pod = spec.template.spec.unwrap();
        let c = &pod.containers[0];
        assert_eq!(c.image.as_deref(), Some("ghcr.io/berth/berth:0.1.0"));
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(
            (sc.read_only_root_filesystem, sc.run_as_non_root),
            (Some(true), Some(true))
        );
        assert_eq!(
            sc.capabilities.as_ref().unwrap().drop.as_ref().unwrap(),
            &["ALL"]
        );
        assert_eq!(
            c.readiness_probe
                .as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap()
                .path
                .as_deref(),
            Some("/readyz")
        );
        assert_eq!(
            c.liveness_probe
                .as_ref()
                .unwrap()
                .http_get
                .as_ref()
                .unwrap()
                .path
                .as_deref(),
            Some("/livez")
        );
        assert!(
            c.args
                .as_ref()
                .unwrap()
                .contains(&"--kubernetes".to_owned())
        );
        assert_eq!(
            pod.topology_spread_constraints.unwrap()[0].topology_key,
            "kubernetes.io/hostname"
        );
        assert_eq!(pod.service_account_name.as_deref(), Some("main-registry"));
        let annotations = pod_annotations(&d);
        assert_eq!(annotations[names::ANNOTATION_CONFIG_CHECKSUM], "abc123");
        assert_eq!(annotations["team"], "platform");
        assert_eq!(
            c.resources.as_ref().unwrap().requests.as_ref().unwrap()["cpu"].0,
            "100m"
        );
        // Every mount has its volume.
        let volumes: Vec<_> = pod.volumes.unwrap().into_iter().map(|v| v.name).collect();
        for m in c.volume_mounts.as_ref().unwrap() {
            assert!(volumes.contains(&m.name), "{}", m.name);
        }
    }

    #[test]
    fn a_private_ca_for_s3_is_mounted_and_named_in_the_pods_config() {
        for (from, secret) in [
            ("{secret: s3-ca, key: ca.crt}", true),
            ("{configMap: s3-ca, key: ca.crt}", false),
        ] {
            let yaml = fixture::S3_REGISTRY.replace(
                "credentialsSecret: berth-s3}",
                &format!("credentialsSecret: berth-s3, caBundleFrom: {from}}}"),
            );
            let r = fixture::registry_from(&yaml);
            let pod = desired_deployment(&r, "abc123").spec.template.spec.unwrap();
            let volume = pod
                .volumes
                .unwrap()
                .into_iter()
                .find(|v| v.name == "s3-ca")
                .unwrap();
            let items = match secret {
                true => volume.secret.unwrap().items.unwrap(),
                false => volume.config_map.unwrap().items.unwrap(),
            };
            assert_eq!(
                (items[0].key.as_str(), items[0].path.as_str()),
                ("ca.crt", "ca.pem")
            );
            let mount = pod.containers[0]
                .volume_mounts
                .clone()
                .unwrap()
                .into_iter()
                .find(|m| m.name == "s3-ca")
                .unwrap();
            assert_eq!(
                (mount.mount_path.as_str(), mount.read_only),
                (S3_CA_DIR, Some(true))
            );
            let cm = super::super::desired_config_map(&r);
            let config: berth_crds::Registry =
                serde_saphyr::from_str(&cm.data.unwrap()[super::super::config_map::CONFIG_FILE])
                    .unwrap();
            let s3 = config.spec.storage.unwrap().s3.unwrap();
            assert_eq!(
                s3.ca_bundle,
                Some(s3_ca_path()),
                "the pods read the mounted file"
            );
            assert!(s3.ca_bundle_from.is_none());
        }
        // Without one, nothing is mounted.
        let pod = desired_deployment(&fixture::registry_from(fixture::S3_REGISTRY), "abc123")
            .spec
            .template
            .spec
            .unwrap();
        assert!(!pod.volumes.unwrap().iter().any(|v| v.name == "s3-ca"));
    }

    #[test]
    fn replicas_on_s3_roll_without_a_claim_and_get_the_credentials_secret() {
        let r = fixture::registry_from(fixture::S3_REGISTRY);
        assert!(super::super::desired_pvc(&r).is_none());
        let d = desired_deployment(&r, "abc123");
        assert_eq!(d.spec.replicas, Some(3));
        // The default rolling update: no volume ties the old pods to the new.
        assert!(d.spec.strategy.is_none());
        let pod = d.spec.template.spec.unwrap();
        let env_from = pod.containers[0].env_from.clone().unwrap();
        assert_eq!(
            env_from[0].secret_ref.as_ref().map(|s| s.name.as_str()),
            Some("berth-s3")
        );
        let data = pod
            .volumes
            .unwrap()
            .into_iter()
            .find(|v| v.name == "data")
            .unwrap();
        assert!(data.empty_dir.is_some() && data.persistent_volume_claim.is_none());
        // The pods read the bucket from their config.
        let cm = super::super::desired_config_map(&r);
        let yaml = &cm.data.unwrap()[super::super::config_map::CONFIG_FILE];
        assert!(
            yaml.contains("bucket: berth") && yaml.contains("credentialsSecret: berth-s3"),
            "{yaml}"
        );
    }
}
