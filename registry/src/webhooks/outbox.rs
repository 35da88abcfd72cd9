//! The events waiting for delivery, in storage: `_berth/webhooks/pending/MILLIS-UUID`
//! (content/keys.rs), so every replica sees them and a listing is in the order the
//! events happened.
//!
//! A file is one line of JSON, the [`Pending`] event. Delivered (or given up on), the
//! line of its [`Outcome`] is added and the file moves into the history
//! (`deliveries/HOOK/`) as it is: one rename and one append on the filesystem, no
//! file created or removed. A pending file that already has its outcome is a move cut
//! short by a crash: the next pass finishes it instead of sending it again.

use bytes::Bytes;
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

/// How a delivery ended: the second line of its record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub attempts: u32,
    pub delivered_at_ms: i64,
    /// The receiver's status, when it answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The start of the receiver's answer.
    #[serde(default)]
    pub response: String,
}

impl Outcome {
    /// The line added to the event's file.
    pub fn line(&self) -> Bytes {
        let mut line = b"\n".to_vec();
        serde_json::to_writer(&mut line, self).expect("an outcome serializes");
        line.into()
    }
}

/// A pending file as read: its event, its bytes (the event's line), and its outcome
/// if one was added (a move into the history that a crash cut short).
pub struct Stored {
    pub pending: Pending,
    pub raw: Bytes,
    pub outcome: Option<Outcome>,
}

/// The event and outcome of a file: the event's line, then the last outcome's line
/// that parses (a tail torn by a power loss is skipped: with no other, the event is
/// sent again).
pub fn parse(raw: &Bytes) -> Option<Stored> {
    let end = raw.iter().position(|&b| b == b'\n').unwrap_or(raw.len());
    let pending = serde_json::from_slice(&raw[..end]).ok()?;
    let outcome = raw
        .get(end + 1..)
        .unwrap_or_default()
        .split(|&b| b == b'\n')
        .filter_map(|line| serde_json::from_slice(line).ok())
        .next_back();
    Some(Stored {
        pending,
        raw: raw.slice(..end),
        outcome,
    })
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

pub async fn read(storage: &dyn Storage, name: &str) -> Result<Option<Stored>> {
    Ok(storage
        .get(&keys::webhook_pending(name))
        .await?
        .as_ref()
        .and_then(parse))
}

/// Every pending delivery not yet made, oldest first.
pub async fn all(storage: &dyn Storage) -> Result<Vec<Pending>> {
    let mut out = Vec::new();
    for name in names(storage).await? {
        let stored = read(storage, &name).await?;
        out.extend(stored.filter(|s| s.outcome.is_none()).map(|s| s.pending));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Pending {
        Pending::new(
            7,
            "acme",
            "http://h/x",
            "package",
            "published",
            "acme/app",
            "{\"a\":\"b\\nc\"}".into(),
        )
    }

    #[test]
    fn a_file_is_its_event_and_then_its_outcome() {
        let p = event();
        let head = Bytes::from(serde_json::to_vec(&p).unwrap());
        let alone = parse(&head).unwrap();
        assert_eq!(
            (alone.pending, alone.raw, alone.outcome),
            (p.clone(), head.clone(), None)
        );

        let outcome = Outcome {
            attempts: 2,
            delivered_at_ms: 5,
            status: Some(200),
            error: None,
            response: "ok\nfine".into(),
        };
        let whole = Bytes::from([head.clone(), outcome.line()].concat());
        let done = parse(&whole).unwrap();
        assert_eq!(
            (done.pending, done.raw, done.outcome),
            (p, head.clone(), Some(outcome.clone()))
        );

        // A torn outcome (a power loss mid-append) is none: the event goes again.
        let torn = Bytes::from([&head[..], b"\n{\"attem"].concat());
        assert_eq!(parse(&torn).unwrap().outcome, None);
        let retried = Bytes::from([&torn[..], &outcome.line()[..]].concat());
        assert_eq!(parse(&retried).unwrap().outcome, Some(outcome));
        assert!(parse(&Bytes::from_static(b"\n{}")).is_none());
    }
}
