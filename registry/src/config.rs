//! The registry's runtime settings, resolved from the `Registry` resource and flags.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use berth_crds::quantity::{QuantityError, parse_bytes};
use berth_crds::registry::{LimitsSpec, OidcIssuer, RegistrySpec, S3StorageSpec};

use crate::hosts::Hosts;
use crate::storage::s3::S3Settings;

/// How stale a tag may be on a replica that did not write it, on S3 (see
/// `content::cache`): short enough that a pull right after a push elsewhere sees it.
pub const DEFAULT_S3_MAX_STALENESS: Duration = Duration::from_secs(2);

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
    pub sign_in_limit: crate::auth::limit::SignInLimit,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            site_admins: Vec::new(),
            token_ttl: Duration::from_secs(300),
            anonymous_pulls: true,
            oidc_issuers: Vec::new(),
            sign_in_limit: crate::auth::limit::SignInLimit::default(),
        }
    }
}

/// A certificate chain and its key (PEM files) to serve TLS with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Everything `berth registry serve` needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    /// Serve TLS (HTTP/2 by ALPN) instead of plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Filesystem storage's directory (when `s3` is unset).
    pub data_dir: PathBuf,
    /// S3 storage, instead of the data directory.
    pub s3: Option<S3Settings>,
    /// How stale a tag may be on a replica that did not write it; `None`: the
    /// backend's default (no cache on the filesystem, `DEFAULT_S3_MAX_STALENESS` on S3).
    pub max_staleness: Option<Duration>,
    /// A file holding the key of signed upload states (a mounted Secret); without one
    /// the key is made once and kept in storage.
    pub upload_state_key_file: Option<PathBuf>,
    pub limits: Limits,
    /// Which hosts serve what; none chosen is an error at start (isolation is only
    /// given up when asked for).
    pub hosts: Option<Hosts>,
    /// Package and Organization files (default `DATA_DIR/policy`).
    pub policy_dir: Option<PathBuf>,
    pub auth: AuthConfig,
    /// Where relative paths in the `--config` file are resolved.
    pub config_dir: PathBuf,
    /// How long a deleted package version can be restored (GHCR: 30 days).
    pub restore_window: Duration,
    /// Whether manifest GETs count downloads (on unless `--no-download-counts`: the
    /// benchmark's baseline, or a site that keeps no counts).
    pub count_downloads: bool,
    /// Whether webhooks may be delivered to loopback, link-local and private addresses
    /// (`spec.webhooks.allowPrivateTargets`).
    pub allow_private_webhook_targets: bool,
    /// Garbage collection by the server (`spec.garbageCollection`).
    pub gc: GcConfig,
}

/// When the server collects garbage, and how (`spec.garbageCollection`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GcConfig {
    /// Whether the server runs it on its schedule (default true).
    pub enabled: bool,
    /// Time between runs (default 24 h; the first comes one interval after start).
    pub interval: Duration,
    /// How old an unreferenced blob must be to go (default 1 h).
    pub grace: Duration,
    /// Only log what a run would remove.
    pub dry_run: bool,
    /// For tests: the first scheduled run that removes a blob stops for good before it
    /// clears its tombstones and verdicts, so a test can kill the process mid-sweep.
    pub pause_after_removing: bool,
}

impl Default for GcConfig {
    fn default() -> Self {
        GcConfig {
            enabled: true,
            interval: Duration::from_secs(24 * 3600),
            grace: Duration::from_secs(3600),
            dry_run: false,
            pause_after_removing: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 5000)),
            tls: None,
            data_dir: PathBuf::from("berth-data"),
            s3: None,
            max_staleness: None,
            upload_state_key_file: None,
            restore_window: Duration::from_secs(30 * 24 * 3600),
            count_downloads: true,
            allow_private_webhook_targets: false,
            gc: GcConfig::default(),
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
    #[error("spec.{field}: {value:?} is not a duration such as 10m or 1h30m")]
    Duration { field: &'static str, value: String },
    #[error("spec.storage: set exactly one backend, filesystem or s3, not both")]
    TwoBackends,
    #[error("spec.storage.s3.bucket: a bucket name is required")]
    NoBucket,
    #[error(
        "spec.garbageCollection.interval: must be more than 0 (set enabled: false to turn collection off)"
    )]
    ZeroGcInterval,
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
                self.auth.token_ttl = duration("auth.tokenTtl", ttl)?;
            }
            if let Some(limit) = &auth.sign_in_limit {
                let l = &mut self.auth.sign_in_limit;
                l.per_account = limit.per_account.unwrap_or(l.per_account);
                l.per_address = limit.per_address.unwrap_or(l.per_address);
                if let Some(period) = &limit.period {
                    l.period = duration("auth.signInLimit.period", period)?;
                }
            }
        }
        if let Some(tls) = &spec.tls {
            self.tls = Some(TlsFiles {
                cert: self.config_dir.join(&tls.cert_file),
                key: self.config_dir.join(&tls.key_file),
            });
        }
        if let Some(w) = &spec.webhooks {
            self.allow_private_webhook_targets = w.allow_private_targets;
        }
        if let Some(window) = &spec.restore_window {
            self.restore_window = duration("restoreWindow", window)?;
        }
        if let Some(gc) = &spec.garbage_collection {
            let default = GcConfig::default();
            self.gc = GcConfig {
                enabled: gc.enabled.unwrap_or(default.enabled),
                interval: match &gc.interval {
                    Some(i) => duration("garbageCollection.interval", i)?,
                    None => default.interval,
                },
                grace: match &gc.grace_period {
                    Some(g) => duration("garbageCollection.gracePeriod", g)?,
                    None => default.grace,
                },
                dry_run: gc.dry_run.unwrap_or(default.dry_run),
                pause_after_removing: false,
            };
            if self.gc.interval.is_zero() {
                return Err(ConfigError::ZeroGcInterval);
            }
        }
        let Some(storage) = &spec.storage else {
            return Ok(());
        };
        if let Some(bound) = &storage.max_staleness {
            self.max_staleness = Some(duration("storage.maxStaleness", bound)?);
        }
        match (&storage.filesystem, &storage.s3) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoBackends),
            (Some(fs), None) => {
                if let Some(path) = &fs.path {
                    self.data_dir = PathBuf::from(path);
                }
            }
            (None, Some(s3)) => self.s3 = Some(s3_settings(s3)?),
            (None, None) => {}
        }
        Ok(())
    }

    /// The staleness bound in force for the configured backend.
    pub fn max_staleness(&self) -> Duration {
        self.max_staleness.unwrap_or(match self.s3 {
            Some(_) => DEFAULT_S3_MAX_STALENESS,
            None => Duration::ZERO,
        })
    }
}

fn s3_settings(spec: &S3StorageSpec) -> Result<S3Settings, ConfigError> {
    if spec.bucket.trim().is_empty() {
        return Err(ConfigError::NoBucket);
    }
    let mut s = S3Settings::new(spec.bucket.trim());
    if let Some(region) = &spec.region {
        s.region = region.clone();
    }
    s.endpoint = spec.endpoint.clone();
    s.path_style = spec.path_style.unwrap_or(false);
    s.credentials_file = spec.credentials_file.as_ref().map(PathBuf::from);
    // A prefix names a "directory": it always ends in one slash.
    s.prefix = match spec.prefix.as_deref().map(|p| p.trim_matches('/')) {
        None | Some("") => String::new(),
        Some(p) => format!("{p}/"),
    };
    s.redirect = spec.redirect.unwrap_or(false);
    s.create_bucket = spec.create_bucket.unwrap_or(false);
    s.ca_bundle = spec.ca_bundle.as_ref().map(PathBuf::from);
    Ok(s)
}

fn duration(field: &'static str, value: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(value).map_err(|_| ConfigError::Duration {
        field,
        value: value.to_owned(),
    })
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
                Some(t) => duration("limits.uploadTimeout", t)?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_files_are_read_beside_the_config() {
        let spec: RegistrySpec =
            serde_saphyr::from_str("tls: {certFile: tls.crt, keyFile: /etc/tls/tls.key}\n")
                .unwrap();
        let mut c = Config {
            config_dir: PathBuf::from("/etc/berth"),
            ..Config::default()
        };
        c.apply(&spec).unwrap();
        let tls = c.tls.unwrap();
        assert_eq!(tls.cert, PathBuf::from("/etc/berth/tls.crt"));
        assert_eq!(
            tls.key,
            PathBuf::from("/etc/tls/tls.key"),
            "an absolute path stays"
        );
    }

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

    fn registry(yaml: &str) -> RegistrySpec {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn s3_storage_is_selected_with_its_settings_and_bound() {
        let mut c = Config::default();
        c.apply(&registry(
            "storage:\n  maxStaleness: 500ms\n  s3: {bucket: b, endpoint: 'http://127.0.0.1:9000', \
             pathStyle: true, prefix: /reg/, redirect: true, createBucket: true}\n",
        ))
        .unwrap();
        let s3 = c.s3.as_ref().unwrap();
        assert_eq!(s3.bucket, "b");
        assert_eq!(s3.region, "us-east-1");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(s3.path_style && s3.redirect && s3.create_bucket);
        assert_eq!(s3.prefix, "reg/");
        assert_eq!(c.max_staleness(), Duration::from_millis(500));
    }

    #[test]
    fn the_restore_window_is_30_days_unless_the_registry_sets_it() {
        let mut c = Config::default();
        assert_eq!(c.restore_window, Duration::from_secs(30 * 24 * 3600));
        c.apply(&registry("restoreWindow: 10m\n")).unwrap();
        assert_eq!(c.restore_window, Duration::from_secs(600));
        let e = c.apply(&registry("restoreWindow: a while\n")).unwrap_err();
        assert!(e.to_string().contains("spec.restoreWindow"), "{e}");
    }

    #[test]
    fn staleness_defaults_to_the_backend() {
        let mut c = Config::default();
        assert_eq!(c.max_staleness(), Duration::ZERO);
        c.apply(&registry("storage: {s3: {bucket: b}}\n")).unwrap();
        assert_eq!(c.max_staleness(), DEFAULT_S3_MAX_STALENESS);
    }

    #[test]
    fn storage_mistakes_name_the_field() {
        let cases = [
            (
                "storage: {filesystem: {}, s3: {bucket: b}}\n",
                "exactly one backend",
            ),
            ("storage: {s3: {bucket: ' '}}\n", "spec.storage.s3.bucket"),
            (
                "storage: {maxStaleness: often, s3: {bucket: b}}\n",
                "spec.storage.maxStaleness",
            ),
        ];
        for (yaml, want) in cases {
            let e = Config::default()
                .apply(&registry(yaml))
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }
}
