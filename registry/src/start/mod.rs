//! Assembly: the only code that knows every part of the registry. It turns a `Config`
//! into the `AppState` the surfaces share, standalone (`standalone.rs`) or as a pod in a
//! cluster (`cluster.rs`). Only `server.rs` and the CLI import it.

use std::io;
use std::sync::Arc;

use crate::auth::Authenticator;
use crate::auth::keys::SigningKeys;
use crate::auth::oidc::{IssuerConfigError, TrustedIssuers};
use crate::config::Config;
use crate::content::format::FormatError;
use crate::content::{Content, UploadStateKey};
use crate::hosts::Hosts;
use crate::policy::PolicySettings;
use crate::state::AppState;
use crate::storage::Storage;
use crate::storage::fs::FsStorage;
use crate::storage::s3::S3Storage;

mod cluster;
pub mod standalone;

pub use cluster::cluster;
pub use standalone::{BOOTSTRAP_ADMIN, standalone};

/// Why the registry cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "choose how hosts are served: --host HOST (images on containers.HOST, pages on HOST) or --single-host (everything on one address, for a laptop)"
    )]
    NoHosts,
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Issuer(#[from] IssuerConfigError),
    #[error("connecting to the Kubernetes API: {0}")]
    Kube(String),
    #[error(transparent)]
    Format(FormatError),
    #[error("{0}")]
    Tls(String),
}

/// A registry's state, and what must live as long as it.
pub struct Started {
    pub state: Arc<AppState>,
    /// The admin token this start created (a standalone registry's very first start).
    pub bootstrap_token: Option<String>,
    /// File watchers (PATs, keys): dropping one stops its reloads.
    pub watchers: Vec<notify::RecommendedWatcher>,
}

/// The content of `config`'s storage backend (filesystem or S3), with its caches and
/// upload-state key. Nothing remote is contacted yet.
pub fn content_of(config: &Config) -> io::Result<Content> {
    let storage: Arc<dyn Storage> = match &config.s3 {
        Some(s3) => Arc::new(S3Storage::new(s3.clone())?),
        None => Arc::new(FsStorage::open(&config.data_dir)?),
    };
    let mut content =
        Content::new(storage, config.limits.clone()).with_max_staleness(config.max_staleness());
    if let Some(file) = &config.upload_state_key_file {
        let text = std::fs::read(file)?;
        let key = UploadStateKey::new(text.trim_ascii().to_vec()).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} holds fewer than {} bytes: too short for an upload-state key",
                    file.display(),
                    crate::content::upload_state::MIN_KEY_BYTES
                ),
            )
        })?;
        content = content.with_upload_state_key(key);
    }
    Ok(content)
}

/// Refuses storage whose layout this binary does not read, before anything is written
/// to it. Storage that cannot be reached yet is left to readiness, which checks the
/// layout before it first passes (a replica may start before its bucket answers).
pub async fn check_format(config: &Config) -> Result<(), StartError> {
    match content_of(config)?.check().await {
        Ok(()) => Ok(()),
        Err(FormatError::Storage(e)) => {
            tracing::warn!(error = %e, "storage is not ready; its layout is checked once it answers");
            Ok(())
        }
        Err(e) => Err(StartError::Format(e)),
    }
}

/// The hosts to serve, which the config must name.
fn hosts_of(config: &Config) -> Result<Hosts, StartError> {
    config.hosts.clone().ok_or(StartError::NoHosts)
}

/// The authenticator both modes share: `keys` sign, the config's issuers are trusted.
fn authenticator(config: &Config, keys: SigningKeys) -> Result<Authenticator, StartError> {
    let issuers = TrustedIssuers::from_spec(&config.auth.oidc_issuers, &config.config_dir)?;
    Ok(Authenticator::new(keys, issuers, config.auth.token_ttl)
        .with_sign_in_limit(config.auth.sign_in_limit))
}

/// The policy settings from the config, with `extra_admins` as site admins too.
fn policy_settings(config: &Config, extra_admins: &[&str]) -> PolicySettings {
    let mut site_admins = config.auth.site_admins.clone();
    site_admins.extend(extra_admins.iter().map(|a| (*a).to_owned()));
    PolicySettings {
        site_admins,
        anonymous_pulls: config.auth.anonymous_pulls,
    }
}
