//! Webhooks in a cluster: a hook's secret is a key of a Secret in the namespace, read
//! for each delivery (a rotated secret signs the next one), and the Organization's
//! status shows each hook's last success and last failure, written by whichever pod
//! made the attempt under the registry's field manager.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use berth_crds::names::REGISTRY_MANAGER;
use berth_crds::organization::{DeliveryFailure, Organization, Webhook, WebhookStatus};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::webhooks::{Attempt, HookSite, Webhooks};

/// A success is written at most this often per hook by one pod: a busy hook does not
/// turn every push into a status write. Failures are always written (retries back off).
const SUCCESS_EVERY: Duration = Duration::from_secs(60);

pub struct KubeHookSite {
    secrets: Api<Secret>,
    orgs: Api<Organization>,
    /// Per hook: when this pod last wrote a success, and whether its last write was a
    /// failure (then the next success is written at once, ending the failure).
    written: Mutex<HashMap<u64, (Option<Instant>, bool)>>,
}

impl KubeHookSite {
    pub fn new(client: Client, namespace: &str) -> KubeHookSite {
        KubeHookSite {
            secrets: Api::namespaced(client.clone(), namespace),
            orgs: Api::namespaced(client, namespace),
            written: Mutex::default(),
        }
    }

    /// Whether `attempt` is worth a status write, noting it as written.
    fn should_write(&self, hook: u64, attempt: &Attempt<'_>) -> bool {
        let mut written = self.written.lock().expect("not poisoned");
        let (last_success, failed) = written.entry(hook).or_default();
        if attempt.failure.is_some() {
            *failed = true;
            return true;
        }
        if !*failed && last_success.is_some_and(|t| t.elapsed() < SUCCESS_EVERY) {
            return false;
        }
        (*last_success, *failed) = (Some(Instant::now()), false);
        true
    }

    async fn write(
        &self,
        owner: &str,
        hook: &Webhook,
        attempt: &Attempt<'_>,
    ) -> Result<(), kube::Error> {
        let org = self.orgs.get_status(owner).await?;
        let current = org.status.unwrap_or_default().webhooks;
        let configured: Vec<&str> = org.spec.webhooks.iter().map(|h| h.url.as_str()).collect();
        let webhooks = updated(&current, &configured, owner, hook, attempt);
        // Only the registry's field: the operator owns the conditions.
        let status = serde_json::json!({ "webhooks": webhooks });
        berth_crds::patch::apply_status(&self.orgs, owner, REGISTRY_MANAGER, &status).await?;
        Ok(())
    }
}

#[async_trait]
impl HookSite for KubeHookSite {
    async fn secret(&self, _owner: &str, hook: &Webhook) -> Result<Option<Vec<u8>>, String> {
        let Some(r) = &hook.secret_ref else {
            return Ok(None);
        };
        let secret = self
            .secrets
            .get_opt(&r.name)
            .await
            .map_err(|e| format!("reading the webhook's Secret {:?}: {e}", r.name))?
            .ok_or_else(|| format!("the webhook's Secret {:?} does not exist", r.name))?;
        let value = secret
            .data
            .and_then(|mut d| d.remove(&r.key))
            .ok_or_else(|| format!("the webhook's Secret {:?} has no key {:?}", r.name, r.key))?;
        Ok(Some(value.0))
    }

    async fn attempted(&self, owner: &str, hook: &Webhook, attempt: &Attempt<'_>) {
        if !self.should_write(Webhooks::hook_id(owner, hook), attempt) {
            return;
        }
        if let Err(e) = self.write(owner, hook, attempt).await {
            tracing::warn!(organization = owner, url = %hook.url, error = %e, "writing the webhook's status failed");
        }
    }
}

/// The hooks' statuses after `attempt` to `hook`: its entry updated, entries of hooks
/// no longer `configured` dropped, the rest as they were. Pure.
fn updated(
    current: &[WebhookStatus],
    configured: &[&str],
    owner: &str,
    hook: &Webhook,
    attempt: &Attempt<'_>,
) -> Vec<WebhookStatus> {
    let mut out: Vec<WebhookStatus> = current
        .iter()
        .filter(|s| s.url != hook.url && configured.contains(&s.url.as_str()))
        .cloned()
        .collect();
    let mut mine = current
        .iter()
        .find(|s| s.url == hook.url)
        .cloned()
        .unwrap_or_else(|| WebhookStatus {
            url: hook.url.clone(),
            ..WebhookStatus::default()
        });
    mine.hook_id = Webhooks::hook_id(owner, hook);
    let time = jiff::Timestamp::from_millisecond(attempt.at_ms)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string();
    match attempt.failure {
        None => mine.last_success = Some(time),
        Some(message) => {
            mine.last_failure = Some(DeliveryFailure {
                time,
                delivery: attempt.delivery.to_owned(),
                event: attempt.event.to_owned(),
                message: message.to_owned(),
            })
        }
    }
    out.push(mine);
    out.sort_by(|a, b| a.url.cmp(&b.url));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(url: &str) -> Webhook {
        Webhook {
            url: url.into(),
            ..Webhook::default()
        }
    }

    #[test]
    fn a_failure_then_a_success_keeps_both_and_drops_removed_hooks() {
        let a = hook("https://a.example/hook");
        let failed = Attempt {
            delivery: "d1",
            event: "package",
            at_ms: 1_000,
            failure: Some("the receiver answered 503"),
        };
        let gone = WebhookStatus {
            url: "https://gone.example/".into(),
            ..WebhookStatus::default()
        };
        let after = updated(&[gone], &[a.url.as_str()], "acme", &a, &failed);
        assert_eq!(after.len(), 1, "{after:?}");
        let f = after[0].last_failure.clone().unwrap();
        assert_eq!(
            (f.delivery.as_str(), f.time.as_str()),
            ("d1", "1970-01-01T00:00:01Z")
        );
        let ok = Attempt {
            failure: None,
            at_ms: 2_000,
            ..failed
        };
        let after = updated(&after, &[a.url.as_str()], "acme", &a, &ok);
        assert_eq!(
            after[0].last_success.as_deref(),
            Some("1970-01-01T00:00:02Z")
        );
        assert_eq!(
            after[0].last_failure,
            Some(f),
            "the last failure stays shown"
        );
        assert_eq!(after[0].hook_id, Webhooks::hook_id("acme", &a));
    }
}
