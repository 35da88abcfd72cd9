//! The events waiting for delivery, in storage: `_berth/webhooks/pending/MILLIS-UUID`
//! (content/keys.rs), so every replica sees them and a listing is in the order the
//! events happened.

use serde::{Deserialize, Serialize};

use crate::content::Result;
use crate::content::keys;
use crate::storage::Storage;

/// One delivery to make: the body exactly as it will be signed and sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// The `X-GitHub-Delivery` UUID: the same on every attempt, so a receiver can tell
    /// a retry from a new event.
    pub delivery: String,
    pub hook: u64,
    /// The organization whose hook it is (its secret is looked up at delivery).
    pub owner: String,
    pub url: String,
    /// `X-GitHub-Event`.
    pub event: String,
    pub action: String,
    /// The package (`OWNER/NAME`): deliveries for one hook and package keep their order.
    pub package: String,
    pub created_at_ms: i64,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default)]
    pub next_at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub body: String,
}

impl Pending {
    pub fn new(
        hook: u64,
        owner: &str,
        url: &str,
        event: &str,
        action: &str,
        package: &str,
        body: String,
    ) -> Pending {
        let now = now_ms();
        Pending {
            delivery: uuid::Uuid::new_v4().to_string(),
            hook,
            owner: owner.to_owned(),
            url: url.to_owned(),
            event: event.to_owned(),
            action: action.to_owned(),
            package: package.to_owned(),
            created_at_ms: now,
            attempts: 0,
            next_at_ms: now,
            last_error: None,
            body,
        }
    }

    /// Its name in the outbox: creation time first, so names sort by age.
    pub fn name(&self) -> String {
        format!("{:013}-{}", self.created_at_ms, self.delivery)
    }
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

pub async fn write(storage: &dyn Storage, p: &Pending) -> Result<()> {
    let bytes = serde_json::to_vec(p).expect("a pending delivery serializes");
    storage
        .put(&keys::webhook_pending(&p.name()), bytes.into())
        .await?;
    Ok(())
}

/// Every pending delivery's name, oldest first.
pub async fn names(storage: &dyn Storage) -> Result<Vec<String>> {
    let mut names = storage.list(keys::webhook_pending_dir()).await?;
    names.sort();
    Ok(names)
}

pub async fn read(storage: &dyn Storage, name: &str) -> Result<Option<Pending>> {
    Ok(storage
        .get(&keys::webhook_pending(name))
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Every pending delivery, oldest first.
pub async fn all(storage: &dyn Storage) -> Result<Vec<Pending>> {
    let mut out = Vec::new();
    for name in names(storage).await? {
        out.extend(read(storage, &name).await?);
    }
    Ok(out)
}
