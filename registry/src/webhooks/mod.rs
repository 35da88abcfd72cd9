//! Webhooks as GitHub sends them: `package` and `registry_package` events for an
//! organization's packages, signed with the hook's secret (`X-Hub-Signature-256`), and
//! delivered at least once by whichever replica gets to them.
//!
//! An event is written to storage (`outbox.rs`) before the push that caused it is
//! answered; delivery (`deliver.rs`) runs in every registry process, claims a lane (a
//! hook and a package) at a time, and retries with backoff for a day, so a receiver that is down, or a
//! replica killed mid-delivery, loses nothing. Deliveries to one hook for one package go
//! out in the order their events happened. Where the request may go is `target.rs`.

mod deliver;
pub mod history;
pub mod outbox;
mod payload;
pub mod site;
mod target;

use std::sync::Arc;

use async_trait::async_trait;
use berth_crds::organization::{Webhook, WebhookEvent};

use crate::content::Result;
use crate::packages::events::{EventSink, PackageChanged, Published, VersionChanged};
use crate::packages::json;
use crate::policy::PolicySource;
use crate::storage::Storage;

pub use deliver::DeliveryRecord;
pub use outbox::Pending;
pub use site::{Attempt, HookSite, SecretFiles};

/// The webhook service of one registry process.
pub struct Webhooks {
    storage: Arc<dyn Storage>,
    policy: Arc<dyn PolicySource>,
    /// Secrets, and where delivery state is shown.
    site: Arc<dyn HookSite>,
    allow_private: bool,
    client: reqwest::Client,
    /// This process, in the claims it writes.
    process: String,
    /// The lanes' claims this process holds, by claim name.
    held: std::sync::Mutex<std::collections::HashMap<String, deliver::Held>>,
    wake: tokio::sync::Notify,
}

impl Webhooks {
    pub fn new(
        storage: Arc<dyn Storage>,
        policy: Arc<dyn PolicySource>,
        site: Arc<dyn HookSite>,
        allow_private: bool,
    ) -> Webhooks {
        Webhooks {
            storage,
            policy,
            site,
            allow_private,
            client: target::client(allow_private),
            process: uuid::Uuid::new_v4().to_string(),
            held: Default::default(),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// The hook's id, as `X-GitHub-Hook-ID` carries it: stable for an organization and
    /// URL (Berth keeps no hook table), below 2^53.
    pub fn hook_id(owner: &str, hook: &Webhook) -> u64 {
        json::account_id(&format!("hook {owner} {}", hook.url))
    }

    fn hooks_of(&self, owner: &str) -> Vec<Webhook> {
        self.policy
            .snapshot()
            .org(owner)
            .map(|o| o.webhooks.clone())
            .unwrap_or_default()
    }
}

impl Webhooks {
    /// Writes one pending delivery per active hook of `repo`'s owner that listens for
    /// one of `kinds`, with the body `body(kind)`, then wakes the delivery loop.
    async fn enqueue(
        &self,
        repo: &crate::oci::reference::RepoName,
        kinds: &[WebhookEvent],
        action: &str,
        body: impl Fn(WebhookEvent) -> serde_json::Value,
    ) -> Result<()> {
        let owner = repo.owner();
        let mut wrote = false;
        for hook in self.hooks_of(owner).iter().filter(|h| h.active) {
            for &kind in kinds.iter().filter(|k| hook.events.contains(k)) {
                let pending = Pending::new(
                    Self::hook_id(owner, hook),
                    owner,
                    &hook.url,
                    kind.as_str(),
                    action,
                    repo.as_str(),
                    body(kind).to_string(),
                );
                outbox::write(&*self.storage, &pending).await?;
                wrote = true;
            }
        }
        if wrote {
            self.wake.notify_one();
        }
        Ok(())
    }
}

#[async_trait]
impl EventSink for Webhooks {
    async fn published(&self, event: Published<'_>) -> Result<()> {
        let kinds = [WebhookEvent::Package, WebhookEvent::RegistryPackage];
        self.enqueue(event.repo, &kinds, "published", |k| {
            payload::published(k.as_str(), &event)
        })
        .await
    }

    async fn version_changed(&self, event: VersionChanged<'_>) -> Result<()> {
        let kinds = [WebhookEvent::BerthPackageVersion];
        self.enqueue(event.of.repo, &kinds, event.of.action, |_| {
            payload::version_changed(&event)
        })
        .await
    }

    async fn package_changed(&self, event: PackageChanged<'_>) -> Result<()> {
        let kinds = [WebhookEvent::BerthPackage];
        self.enqueue(event.repo, &kinds, event.action, |_| {
            payload::package_changed(&event)
        })
        .await
    }
}
