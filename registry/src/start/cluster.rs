//! A registry pod in a cluster (`registry serve --kubernetes`): the policy from the
//! namespace's Packages and Organizations, PATs from Secrets, signing keys from a
//! mounted Secret, and the Package status and finalizer work only the pods can do.

use std::sync::Arc;

use berth_crds::package::Package;
use kube::runtime::events::{Recorder, Reporter};
use kube::{Api, Client};

use super::{StartError, Started, authenticator, content_of, hosts_of, policy_settings};
use crate::auth::keys::SigningKeys;
use crate::cluster::gc_lease::LeaseTurn;
use crate::cluster::lifecycle::{KubePackageStatus, finalize_deleted};
use crate::cluster::policy::KubeSource;
use crate::cluster::webhooks::KubeHookSite;
use crate::cluster::{ClusterOptions, tokens};
use crate::config::Config;
use crate::content::locks::KeyedLocks;
use crate::metrics::Metrics;
use crate::state::AppState;
use crate::webhooks::Webhooks;

/// A cluster pod's registry for `config`, serving the Registry `opts` names.
pub async fn cluster(config: &Config, opts: &ClusterOptions) -> Result<Started, StartError> {
    let hosts = hosts_of(config)?;
    let content = Arc::new(content_of(config)?);
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
    let auth = Arc::new(authenticator(config, keys)?);
    let client = Client::try_default()
        .await
        .map_err(|e| StartError::Kube(e.to_string()))?;
    let source = KubeSource::start(
        client.clone(),
        &opts.namespace,
        policy_settings(config, &[]),
    );
    let packages: Api<Package> = Api::namespaced(client.clone(), &opts.namespace);

    tokens::watch(
        client.clone(),
        &opts.namespace,
        &opts.registry,
        auth.clone(),
    );
    tokio::spawn(finalize_deleted(
        content.clone(),
        source.clone(),
        packages.clone(),
    ));
    // Kubelet updates a mounted Secret in place: a rotated key applies without a restart.
    let weak_auth = Arc::downgrade(&auth);
    let dir = opts.keys_dir.clone();
    let watchers = crate::watch::watch_dir(&opts.keys_dir, move || {
        if let (Some(auth), Ok(keys)) = (weak_auth.upgrade(), SigningKeys::load(&dir))
            && !keys.is_empty()
        {
            auth.set_keys(keys);
        }
    })
    .map_err(|e| tracing::warn!(error = %e, "cannot watch the signing keys; a rotation applies at restart"))
    .ok()
    .into_iter()
    .collect();

    let webhooks = Arc::new(Webhooks::new(
        content.storage().clone(),
        source.clone(),
        Arc::new(KubeHookSite::new(client.clone(), &opts.namespace)),
        config.allow_private_webhook_targets,
    ));
    let state = Arc::new(AppState {
        content,
        metrics: Metrics::default(),
        auth,
        policy: source.clone(),
        hosts,
        package_locks: KeyedLocks::default(),
        restore_window: config.restore_window,
        gc: config.gc,
        gc_turn: Some(Arc::new(LeaseTurn::new(
            client.clone(),
            &opts.namespace,
            &opts.registry,
        ))),
        downloads: crate::packages::downloads::Downloads::new(config.count_downloads),
        package_status: Some(Arc::new(KubePackageStatus {
            api: packages,
            source,
            recorder: Recorder::new(client, reporter()),
        })),
        // The pods are served through the operator's ingress.
        trust_forwarded_for: true,
        webhooks: Some(webhooks),
    });
    Ok(Started {
        state,
        bootstrap_token: None,
        watchers,
    })
}

/// Who records this pod's Events: the registry, and the pod (its hostname) as instance.
fn reporter() -> Reporter {
    Reporter {
        controller: berth_crds::names::REGISTRY_MANAGER.into(),
        instance: std::env::var("HOSTNAME").ok(),
    }
}
