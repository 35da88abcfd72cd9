//! The registry on one machine: filesystem storage, the policy directory, PATs and
//! signing keys in the data dir, all watched so changes apply without a restart.

use std::io;
use std::path::Path;
use std::sync::Arc;

use super::{StartError, Started, authenticator, content_of, hosts_of, policy_settings};
use crate::auth::Authenticator;
use crate::auth::identity::Scopes;
use crate::auth::keys::SigningKeys;
use crate::auth::store::TokenDir;
use crate::config::Config;
use crate::content::locks::KeyedLocks;
use crate::metrics::Metrics;
use crate::policy::dir::DirSource;
use crate::state::AppState;
use crate::webhooks::Webhooks;

/// The user the first start makes a token for; a site admin.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// A standalone registry for `config`.
pub fn standalone(config: &Config) -> Result<Started, StartError> {
    let hosts = hosts_of(config)?;
    let content = content_of(config)?;

    let keys_dir = config.data_dir.join("auth").join("keys");
    let keys = SigningKeys::load_or_generate(&keys_dir)?;
    let reread = TokenDir::new(&config.data_dir);
    let auth = authenticator(config, keys)?.with_refresh(move || reread.list().ok());

    let tokens = TokenDir::new(&config.data_dir);
    let bootstrap_token = bootstrap(&config.data_dir, &tokens)?;
    auth.set_pats(tokens.list()?);
    let auth = Arc::new(auth);

    let policy = DirSource::open(
        &config.policy_dir(),
        policy_settings(config, &[BOOTSTRAP_ADMIN]),
    )?;

    // PATs and keys are reread when their files change: a revoked token stops working
    // on the next request, a new key signs from the next token.
    let watchers = [
        (tokens.path().to_owned(), Reload::Pats(TokenDir::new(&config.data_dir))),
        (keys_dir.clone(), Reload::Keys(keys_dir.clone())),
    ]
    .into_iter()
    .filter_map(|(dir, what)| {
        let auth = Arc::downgrade(&auth);
        std::fs::create_dir_all(&dir).ok()?;
        crate::watch::watch_dir(&dir, move || {
            if let Some(auth) = auth.upgrade() {
                what.apply(&auth);
            }
        })
        .map_err(|e| tracing::warn!(dir = %dir.display(), error = %e, "cannot watch; changes apply at restart"))
        .ok()
    })
    .collect();
    let policy: Arc<dyn crate::policy::PolicySource> = Arc::new(policy);
    let webhooks = Arc::new(Webhooks::new(
        content.storage().clone(),
        policy.clone(),
        Arc::new(crate::webhooks::SecretFiles {
            dir: Some(config.policy_dir()),
        }),
        config.allow_private_webhook_targets,
    ));
    let state = Arc::new(AppState {
        content: Arc::new(content),
        metrics: Metrics::default(),
        auth,
        policy,
        hosts,
        package_locks: KeyedLocks::default(),
        restore_window: config.restore_window,
        gc: config.gc,
        gc_turn: None,
        downloads: crate::packages::downloads::Downloads::new(config.count_downloads),
        package_status: None,
        trust_forwarded_for: false,
        webhooks: Some(webhooks),
    });
    Ok(Started {
        state,
        bootstrap_token,
        watchers,
    })
}

enum Reload {
    Pats(TokenDir),
    Keys(std::path::PathBuf),
}

impl Reload {
    fn apply(&self, auth: &Authenticator) {
        match self {
            Reload::Pats(dir) => match dir.list() {
                Ok(pats) => auth.set_pats(pats),
                Err(e) => {
                    tracing::warn!(error = %e, "rereading PATs failed; the previous ones stay in force")
                }
            },
            Reload::Keys(dir) => match SigningKeys::load(dir) {
                Ok(keys) if !keys.is_empty() => auth.set_keys(keys),
                Ok(_) => {
                    tracing::warn!("the keys directory is empty; the previous keys stay in force")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "rereading signing keys failed; the previous ones stay in force")
                }
            },
        }
    }
}

/// On the very first start, a token for the bootstrap admin, shown once. A marker keeps
/// a revoked bootstrap token from coming back.
fn bootstrap(data_dir: &Path, tokens: &TokenDir) -> io::Result<Option<String>> {
    let marker = data_dir.join("auth").join("bootstrapped");
    if marker.exists() {
        return Ok(None);
    }
    let (_, token) = tokens.create(BOOTSTRAP_ADMIN, Scopes::ALL, None)?;
    crate::auth::store::write_private(&data_dir.join("auth"), "bootstrapped", b"")?;
    Ok(Some(token))
}
