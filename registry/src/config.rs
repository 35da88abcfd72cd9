//! The registry's runtime settings, resolved from the `Registry` resource and flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use berth_crds::quantity::{QuantityError, parse_bytes};
use berth_crds::registry::{LimitsSpec, OidcIssuer, RegistrySpec};

use crate::hosts::Hosts;

/// GHCR's limits, configurable on the `Registry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest blob (layer) accepted, in bytes.
    pub max_layer_bytes: u64,
    /// How long an upload session lives after it starts.
    pub upload_timeout: Duration,
    /// The largest manifest accepted, in bytes.
    pub max_manifest_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 10_000_000_000,
            upload_timeout: Duration::from_secs(10 * 60),
            max_manifest_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Who may sign in, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct AuthConfig {
    pub site_admins: Vec<String>,
    pub token_ttl: Duration,
    pub anonymous_pulls: bool,
    pub oidc_issuers: Vec<OidcIssuer>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            site_admins: Vec::new(),
            token_ttl: Duration::from_secs(300),
            anonymous_pulls: true,
            oidc_issuers: Vec::new(),
        }
    }
}

/// Everything `berth registry serve` needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub limits: Limits,
    /// Which hosts serve what; none chosen is an error at start (isolation is only
    /// given up when asked for).
    pub hosts: Option<Hosts>,
    /// Package and Organization files (default `DATA_DIR/policy`).
    pub policy_dir: Option<PathBuf>,
    pub auth: AuthConfig,
    /// Where relative paths in the `--config` file are resolved.
    pub config_dir: PathBuf,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            data_dir: PathBuf::from("berth-data"),
            limits: Limits::default(),
            hosts: None,
            policy_dir: None,
            auth: AuthConfig::default(),
            config_dir: PathBuf::from("."),
        }
    }
}

impl Config {
    pub fn policy_dir(&self) -> PathBuf {
        self.policy_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("policy"))
    }
}

/// A `Registry` setting the registry cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("spec.limits.{field}: {source}")]
    Quantity {
        field: &'static str,
        source: QuantityError,
    },
    #[error("spec.{0}: {1:?} is not a duration such as 10m or 1h30m")]
    Duration(&'static str, String),
}

impl Config {
    /// Applies what a `Registry` spec sets.
    pub fn apply(&mut self, spec: &RegistrySpec) -> Result<(), ConfigError> {
        if let Some(limits) = &spec.limits {
            self.limits = Limits::from_spec(limits)?;
        }
        if let Some(host) = &spec.host {
            self.hosts = Some(Hosts::split(host, spec.containers_host.as_deref()));
        }
        if let Some(auth) = &spec.auth {
            self.auth.site_admins = auth.site_admins.clone();
            self.auth.oidc_issuers = auth.oidc_issuers.clone();
            self.auth.anonymous_pulls = auth.anonymous_pulls.unwrap_or(true);
            if let Some(ttl) = &auth.token_ttl {
                self.auth.token_ttl = humantime::parse_duration(ttl)
                    .map_err(|_| ConfigError::Duration("auth.tokenTtl", ttl.clone()))?;
            }
        }
        if let Some(path) = spec
            .storage
            .as_ref()
            .and_then(|s| s.filesystem.as_ref())
            .and_then(|f| f.path.as_ref())
        {
            self.data_dir = PathBuf::from(path);
        }
        Ok(())
    }
}

impl Limits {
    /// The limits a `Registry` sets, GHCR's defaults for the rest.
    pub fn from_spec(spec: &LimitsSpec) -> Result<Self, ConfigError> {
        let default = Limits::default();
        let bytes = |field, v: &Option<String>, default| match v {
            None => Ok(default),
            Some(v) => parse_bytes(v).map_err(|source| ConfigError::Quantity { field, source }),
        };
        Ok(Limits {
            max_layer_bytes: bytes("layerSize", &spec.layer_size, default.max_layer_bytes)?,
            max_manifest_bytes: bytes(
                "manifestSize",
                &spec.manifest_size,
                default.max_manifest_bytes,
            )?,
            upload_timeout: match &spec.upload_timeout {
                None => default.upload_timeout,
                Some(t) => humantime::parse_duration(t)
                    .map_err(|_| ConfigError::Duration("limits.uploadTimeout", t.clone()))?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_registry_spec_with_ghcr_defaults() {
        let spec = LimitsSpec {
            layer_size: Some("1Gi".into()),
            manifest_size: None,
            upload_timeout: Some("1h30m".into()),
        };
        let l = Limits::from_spec(&spec).unwrap();
        assert_eq!(l.max_layer_bytes, 1 << 30);
        assert_eq!(l.max_manifest_bytes, 4 << 20);
        assert_eq!(l.upload_timeout, Duration::from_secs(5400));
    }

    #[test]
    fn bad_limits_name_the_field() {
        let spec = LimitsSpec {
            layer_size: Some("lots".into()),
            ..Default::default()
        };
        let e = Limits::from_spec(&spec).unwrap_err().to_string();
        assert!(e.contains("spec.limits.layerSize"), "{e}");
        let spec = LimitsSpec {
            upload_timeout: Some("soon".into()),
            ..Default::default()
        };
        let e = Limits::from_spec(&spec).unwrap_err().to_string();
        assert!(e.contains("uploadTimeout"), "{e}");
    }
}
