//! What delivery needs from where the registry runs: each hook's secret, and somewhere
//! to show how its deliveries go. Standalone, secrets are files in the policy directory
//! and `berth webhook deliveries` is the whole story; in a cluster (`cluster/webhooks.rs`)
//! they are Secrets and the Organization's status shows each hook's last failure.

use std::path::PathBuf;

use async_trait::async_trait;
use berth_crds::organization::Webhook;

/// One delivery attempt's end.
pub struct Attempt<'a> {
    pub delivery: &'a str,
    pub event: &'a str,
    pub at_ms: i64,
    /// Why it failed (it is retried); `None` when the receiver took it.
    pub failure: Option<&'a str>,
}

#[async_trait]
pub trait HookSite: Send + Sync {
    /// The secret signing `owner`'s `hook`, if it has one; an error says why it cannot be
    /// read (the delivery is retried).
    async fn secret(&self, owner: &str, hook: &Webhook) -> Result<Option<Vec<u8>>, String>;

    /// A delivery to `hook` was attempted. Failures are the site's to log.
    async fn attempted(&self, _owner: &str, _hook: &Webhook, _attempt: &Attempt<'_>) {}
}

/// Standalone: `secretFile`s, relative to the policy directory.
pub struct SecretFiles {
    pub dir: Option<PathBuf>,
}

#[async_trait]
impl HookSite for SecretFiles {
    async fn secret(&self, _owner: &str, hook: &Webhook) -> Result<Option<Vec<u8>>, String> {
        let Some(file) = &hook.secret_file else {
            return Ok(None);
        };
        let path = match &self.dir {
            Some(dir) => dir.join(file),
            None => file.into(),
        };
        let mut secret = tokio::fs::read(&path)
            .await
            .map_err(|e| format!("reading the webhook secret {}: {e}", path.display()))?;
        // A file written by `echo` ends in a newline the secret does not have.
        secret.truncate(secret.trim_ascii_end().len());
        Ok(Some(secret))
    }
}
