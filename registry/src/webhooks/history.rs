//! What was delivered, for `berth webhook deliveries`, and redelivery: the recorded body
//! queued again under its original `X-GitHub-Delivery`, as GitHub's "Redeliver" does.

use super::deliver::DeliveryRecord;
use super::outbox::{self, Pending, now_ms};
use crate::content::keys;
use crate::content::{Error, Result};
use crate::storage::Storage;

/// Every recorded delivery of every hook, newest first.
pub async fn deliveries(storage: &dyn Storage) -> Result<Vec<DeliveryRecord>> {
    let mut out = Vec::new();
    for hook in storage.list(keys::webhook_deliveries_dir()).await? {
        let Ok(hook) = hook.parse::<u64>() else {
            continue;
        };
        for name in storage.list(&keys::webhook_deliveries(hook)).await? {
            let raw = storage.get(&keys::webhook_delivery(hook, &name)).await?;
            out.extend(raw.as_ref().and_then(record));
        }
    }
    out.sort_by_key(|d: &DeliveryRecord| std::cmp::Reverse(d.outcome.delivered_at_ms));
    Ok(out)
}

/// A record: its event's line and then its outcome's (`outbox.rs`), or, as records
/// were written before, one JSON object.
fn record(raw: &bytes::Bytes) -> Option<DeliveryRecord> {
    if let Some(stored) = outbox::parse(raw) {
        return Some(DeliveryRecord::of(stored.pending, stored.outcome?));
    }
    serde_json::from_slice(raw).ok()
}

/// Queues delivery `id` (an `X-GitHub-Delivery`) again, with the body it was sent with.
pub async fn redeliver(storage: &dyn Storage, id: &str) -> Result<Pending> {
    let record = deliveries(storage)
        .await?
        .into_iter()
        .find(|d| d.delivery == id)
        .ok_or_else(|| {
            Error::Refused(format!(
                "no recorded webhook delivery {id}; `berth webhook deliveries` lists them"
            ))
        })?;
    let now = now_ms();
    let pending = Pending {
        delivery: record.delivery,
        hook: record.hook,
        owner: record
            .package
            .split('/')
            .next()
            .unwrap_or_default()
            .to_owned(),
        url: record.url,
        event: record.event,
        action: record.action,
        package: record.package,
        created_at_ms: now,
        attempts: 0,
        next_at_ms: now,
        last_error: None,
        body: record.body,
    };
    outbox::write(storage, &pending).await?;
    Ok(pending)
}
