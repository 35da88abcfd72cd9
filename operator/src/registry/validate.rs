//! Is a `Registry` deployable? Pure: the spec in, a resolved description or the reason
//! it is invalid out. An invalid spec becomes a `Degraded` condition and the operator
//! waits for the next change; it never hot-loops on it.

use berth_crds::Registry;
use berth_crds::deploy::{IngressSpec, PodSpec};
use berth_crds::quantity::parse_bytes;
use berth_crds::registry::RegistrySpec;
use kube::ResourceExt;

/// Where a registry stores content, with defaults resolved.
#[derive(Clone, Debug, PartialEq)]
pub enum StoragePlan {
    /// A PersistentVolumeClaim mounted at the data dir.
    Filesystem {
        size: String,
        storage_class: Option<String>,
        access_modes: Vec<String>,
    },
    /// An S3 bucket (its settings are in the config the pods read): no volume, any
    /// number of replicas, rolling updates.
    S3 {
        /// A Secret whose `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (and any other
        /// `AWS_*` keys) become the pods' environment; unset for IRSA or instance roles.
        credentials_secret: Option<String>,
        /// Where the endpoint's private CA comes from, mounted into the pods.
        ca_bundle: Option<CaBundle>,
    },
}

/// A key of a Secret or ConfigMap holding PEM CA certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CaBundle {
    Secret { name: String, key: String },
    ConfigMap { name: String, key: String },
}

impl CaBundle {
    fn of(r: &berth_crds::registry::KeyRef) -> Result<CaBundle, InvalidSpec> {
        let key = r.key.clone();
        match (&r.secret, &r.config_map) {
            _ if key.is_empty() => Err(InvalidSpec::BadSetting(
                "spec.storage.s3.caBundleFrom.key: name the key that holds the PEM".into(),
            )),
            (Some(name), None) => Ok(CaBundle::Secret {
                name: name.clone(),
                key,
            }),
            (None, Some(name)) => Ok(CaBundle::ConfigMap {
                name: name.clone(),
                key,
            }),
            _ => Err(InvalidSpec::BadSetting(
                "spec.storage.s3.caBundleFrom: name exactly one of secret or configMap".into(),
            )),
        }
    }
}

/// A Registry the operator can deploy.
#[derive(Clone, Debug, PartialEq)]
pub struct ValidRegistry {
    pub name: String,
    pub namespace: String,
    pub uid: String,
    pub generation: Option<i64>,
    pub host: String,
    pub containers_host: String,
    pub replicas: i32,
    pub image: String,
    pub storage: StoragePlan,
    pub ingress: IngressSpec,
    pub pod: PodSpec,
    /// The spec as the registry pods read it (their `--config`).
    pub spec: RegistrySpec,
}

/// Why a Registry cannot be deployed; the message names the field and the fix.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidSpec {
    #[error("spec.host is required: images are served on containers.HOST, pages on HOST")]
    MissingHost,
    #[error("{field} {value:?} is not a DNS host name")]
    BadHost { field: &'static str, value: String },
    #[error(
        "{field} {value:?} is an IP address: an Ingress routes DNS names only (name the host, e.g. in /etc/hosts or DNS)"
    )]
    IpHost { field: &'static str, value: String },
    #[error("spec.replicas must be at least 0, not {0}")]
    NegativeReplicas(i32),
    #[error(
        "spec.replicas is {0} but the filesystem volume is ReadWriteOnce: use one replica, accessModes [ReadWriteMany], or S3 storage"
    )]
    SharedRwoVolume(i32),
    #[error("spec.storage.filesystem.size {0:?} is not a quantity such as 20Gi")]
    BadSize(String),
    #[error("{0}")]
    BadSetting(String),
    /// Found when dereferencing, not by the pure validation: the spec names a Secret
    /// that is not there (yet).
    #[error(
        "spec.storage.s3.credentialsSecret names Secret {0:?}, which does not exist in this namespace: create it with the keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )]
    MissingCredentials(String),
    /// Found when dereferencing: the CA bundle's Secret or ConfigMap, or its key, is
    /// not there (yet).
    #[error(
        "spec.storage.s3.caBundleFrom names {0}, which does not exist in this namespace: create it with the CA's PEM under that key"
    )]
    MissingCaBundle(String),
}

impl InvalidSpec {
    /// The condition reason.
    pub fn reason(&self) -> &'static str {
        match self {
            InvalidSpec::MissingHost | InvalidSpec::BadHost { .. } | InvalidSpec::IpHost { .. } => {
                "InvalidHost"
            }
            InvalidSpec::NegativeReplicas(_) | InvalidSpec::SharedRwoVolume(_) => "InvalidReplicas",
            InvalidSpec::BadSize(_) => "InvalidStorage",
            InvalidSpec::BadSetting(_) => "InvalidSetting",
            InvalidSpec::MissingCredentials(_) => "MissingCredentials",
            InvalidSpec::MissingCaBundle(_) => "MissingCaBundle",
        }
    }
}

/// Validates `reg`, resolving defaults; `default_image` is the operator's own image.
pub fn validate(reg: &Registry, default_image: &str) -> Result<ValidRegistry, InvalidSpec> {
    let spec = &reg.spec;
    let host = spec
        .host
        .clone()
        .ok_or(InvalidSpec::MissingHost)?
        .to_ascii_lowercase();
    check_host("spec.host", &host)?;
    let containers_host = spec
        .containers_host
        .clone()
        .map_or_else(|| format!("containers.{host}"), |h| h.to_ascii_lowercase());
    check_host("spec.containersHost", &containers_host)?;
    let replicas = spec.replicas.unwrap_or(1);
    if replicas < 0 {
        return Err(InvalidSpec::NegativeReplicas(replicas));
    }
    let storage = match spec.storage.as_ref().and_then(|s| s.s3.as_ref()) {
        Some(s3) => {
            if s3.ca_bundle.is_some() && s3.ca_bundle_from.is_some() {
                return Err(InvalidSpec::BadSetting(
                    "spec.storage.s3: caBundle is a file for standalone registries; in a cluster use caBundleFrom alone".into(),
                ));
            }
            StoragePlan::S3 {
                credentials_secret: s3.credentials_secret.clone(),
                ca_bundle: s3.ca_bundle_from.as_ref().map(CaBundle::of).transpose()?,
            }
        }
        None => {
            let fs = spec
                .storage
                .as_ref()
                .and_then(|s| s.filesystem.clone())
                .unwrap_or_default();
            let size = fs.size.clone().unwrap_or_else(|| "20Gi".to_owned());
            parse_bytes(&size).map_err(|_| InvalidSpec::BadSize(size.clone()))?;
            let access_modes = if fs.access_modes.is_empty() {
                vec!["ReadWriteOnce".to_owned()]
            } else {
                fs.access_modes.clone()
            };
            if replicas > 1 && !access_modes.iter().any(|m| m == "ReadWriteMany") {
                return Err(InvalidSpec::SharedRwoVolume(replicas));
            }
            StoragePlan::Filesystem {
                size,
                storage_class: fs.storage_class_name.clone(),
                access_modes,
            }
        }
    };
    // The pods read these too; refuse here what they would refuse at start.
    let mut probe = berth_registry::config::Config::default();
    probe
        .apply(spec)
        .map_err(|e| InvalidSpec::BadSetting(e.to_string()))?;
    Ok(ValidRegistry {
        name: reg.name_any(),
        namespace: reg.namespace().unwrap_or_else(|| "default".to_owned()),
        uid: reg.uid().unwrap_or_default(),
        generation: reg.metadata.generation,
        host,
        containers_host,
        replicas,
        image: spec
            .image
            .clone()
            .unwrap_or_else(|| default_image.to_owned()),
        storage,
        ingress: spec.ingress.clone().unwrap_or_default(),
        pod: spec.pod.clone().unwrap_or_default(),
        spec: spec.clone(),
    })
}

/// RFC 1123 host names, lowercase, and not IP addresses (which the name grammar admits
/// but the API server refuses in an Ingress rule).
fn check_host(field: &'static str, host: &str) -> Result<(), InvalidSpec> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Err(InvalidSpec::IpHost {
            field,
            value: host.to_owned(),
        });
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.len() <= 253 && host.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(InvalidSpec::BadHost {
            field,
            value: host.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(yaml: &str) -> Registry {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn a_ca_bundle_comes_from_exactly_one_place() {
        let with = |s3: &str| {
            registry(&format!(
                "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {{name: main, namespace: berth}}\n\
                 spec: {{host: example.com, storage: {{s3: {{bucket: b, {s3}}}}}}}\n"
            ))
        };
        let ok = validate(&with("caBundleFrom: {secret: ca, key: ca.crt}"), "berth:1").unwrap();
        assert!(matches!(
            ok.storage,
            StoragePlan::S3 {
                ca_bundle: Some(CaBundle::Secret { .. }),
                ..
            }
        ));
        for bad in [
            "caBundleFrom: {secret: ca, configMap: ca, key: ca.crt}",
            "caBundleFrom: {key: ca.crt}",
            "caBundleFrom: {secret: ca, key: ''}",
            "caBundle: /ca.pem, caBundleFrom: {secret: ca, key: ca.crt}",
        ] {
            let e = validate(&with(bad), "berth:1").unwrap_err();
            assert_eq!(e.reason(), "InvalidSetting", "{bad}: {e}");
            assert!(e.to_string().contains("spec.storage.s3"), "{bad}: {e}");
        }
    }

    #[test]
    fn defaults_resolve() {
        let r = registry(
            "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {name: main, namespace: berth}\nspec: {host: Example.com}\n",
        );
        let v = validate(&r, "berth:1").unwrap();
        assert_eq!(
            (v.host.as_str(), v.containers_host.as_str()),
            ("example.com", "containers.example.com")
        );
        assert_eq!((v.replicas, v.image.as_str()), (1, "berth:1"));
        assert_eq!(
            v.storage,
            StoragePlan::Filesystem {
                size: "20Gi".into(),
                storage_class: None,
                access_modes: vec!["ReadWriteOnce".into()]
            }
        );
    }

    #[test]
    fn invalid_specs_name_their_field() {
        let base = "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {name: main}\n";
        let cases = [
            ("spec: {}", "spec.host"),
            ("spec: {host: 'bad_host'}", "spec.host"),
            ("spec: {host: 10.0.0.1}", "is an IP address"),
            (
                "spec: {host: a.example, containersHost: 127.0.0.1}",
                "spec.containersHost \"127.0.0.1\" is an IP address",
            ),
            (
                "spec: {host: a.example, containersHost: '-x.example'}",
                "spec.containersHost",
            ),
            ("spec: {host: a.example, replicas: -1}", "spec.replicas"),
            ("spec: {host: a.example, replicas: 3}", "ReadWriteMany"),
            (
                "spec: {host: a.example, storage: {filesystem: {size: huge}}}",
                "size",
            ),
            (
                "spec: {host: a.example, limits: {layerSize: lots}}",
                "layerSize",
            ),
            (
                "spec: {host: a.example, auth: {tokenTtl: soon}}",
                "tokenTtl",
            ),
        ];
        for (spec, field) in cases {
            let e = validate(&registry(&format!("{base}{spec}")), "img").unwrap_err();
            assert!(e.to_string().contains(field), "{spec}: {e}");
        }
        let rwx = format!(
            "{base}spec: {{host: a.example, replicas: 3, storage: {{filesystem: {{accessModes: [ReadWriteMany]}}}}}}"
        );
        assert_eq!(validate(&registry(&rwx), "img").unwrap().replicas, 3);
    }
}
