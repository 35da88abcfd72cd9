//! The registry in a cluster (`registry serve --kubernetes`): the policy from the
//! namespace's Packages and Organizations, PATs from Secrets, signing keys from a mounted
//! Secret, and the Package status and finalizer work only the pods can do.

use std::path::PathBuf;
use std::sync::Arc;

use berth_crds::package::Package;
use kube::{Api, Client};

use crate::auth::Authenticator;
use crate::auth::keys::SigningKeys;
use crate::auth::oidc::TrustedIssuers;
use crate::config::Config;
use crate::content::locks::KeyedLocks;
use crate::metrics::Metrics;
use crate::policy::PolicySettings;
use crate::standalone::StartError;
use crate::state::AppState;

pub mod lifecycle;
pub mod policy;
pub mod tokens;

/// Which Registry these pods serve, and where.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub namespace: String,
    /// The Registry's name (its PAT Secrets carry it).
    pub registry: String,
    /// The mounted signing-keys Secret.
    pub keys_dir: PathBuf,
}

/// What request handlers need of the cluster.
pub struct ClusterHandle {
    pub packages: Api<Package>,
}

/// Builds a cluster pod's state.
pub async fn build(config: &Config, opts: &ClusterOptions) -> Result<Arc<AppState>, StartError> {
    let hosts = config.hosts.clone().ok_or(StartError::NoHosts)?;
    let content = crate::server::content(config)?;
    let keys = SigningKeys::load(&opts.keys_dir)?;
    if keys.is_empty() {
        return Err(StartError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "no signing keys in {} (the Registry's signing-keys Secret)",
                opts.keys_dir.display()
            ),
        )));
    }
    let issuers = TrustedIssuers::from_spec(&config.auth.oidc_issuers, &config.config_dir)?;
    let auth = Authenticator::new(keys, issuers, config.auth.token_ttl);
    let client = Client::try_default()
        .await
        .map_err(|e| StartError::Kube(e.to_string()))?;
    let settings = PolicySettings {
        site_admins: config.auth.site_admins.clone(),
        anonymous_pulls: config.auth.anonymous_pulls,
    };
    let source = policy::KubeSource::start(client.clone(), &opts.namespace, settings);
    let packages: Api<Package> = Api::namespaced(client.clone(), &opts.namespace);
    let keys_dir = opts.keys_dir.clone();
    let state = Arc::new_cyclic(|weak: &std::sync::Weak<AppState>| {
        tokens::watch(
            client.clone(),
            &opts.namespace,
            &opts.registry,
            weak.clone(),
        );
        tokio::spawn(lifecycle::finalize_deleted(
            weak.clone(),
            source.clone(),
            packages.clone(),
        ));
        // Kubelet updates a mounted Secret in place: a rotated key applies without a
        // restart.
        let weak_keys = weak.clone();
        let dir = keys_dir.clone();
        let watchers = crate::watch::watch_dir(&keys_dir, move || {
            if let (Some(state), Ok(keys)) = (weak_keys.upgrade(), SigningKeys::load(&dir))
                && !keys.is_empty()
            {
                state.auth.set_keys(keys);
            }
        })
        .map_err(|e| tracing::warn!(error = %e, "cannot watch the signing keys; a rotation applies at restart"))
        .ok()
        .into_iter()
        .collect();
        AppState {
            content,
            metrics: Metrics::default(),
            auth,
            policy: source.clone(),
            hosts,
            package_locks: KeyedLocks::default(),
            watchers,
            cluster: Some(ClusterHandle {
                packages: packages.clone(),
            }),
        }
    });
    Ok(state)
}
