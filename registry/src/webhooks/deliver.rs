//! Delivery: every process runs [`Webhooks::run`], which takes the pending events oldest
//! first, grouped in lanes (one hook, one package: the order GitHub's receivers expect),
//! claims a lane (a create-if-absent claim object, so two replicas do not deliver it at
//! once) and sends its due events in order, recording each delivery or putting a failed
//! one back with a later time, which holds the rest of its lane. A claim names its
//! expiry; one left by a killed process is taken over once it passes, so the worst a
//! crash does is send an event twice (same `X-GitHub-Delivery`).
//!
//! A process keeps the claims of its busy lanes from pass to pass (renewed when half
//! spent, released once a lane has been idle for [`IDLE_MS`], and at a clean shutdown):
//! a steady stream of events then costs no claim writes at all, only each delivery's
//! record. Every file created and removed costs the pushes beside it (a filesystem's
//! inode allocation, a journal's commit), so delivery makes as few as it can.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use berth_crds::organization::Webhook;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::outbox::{self, Outcome, Pending, Stored, now_ms};
use super::{Webhooks, target};
use crate::content::Result;
use crate::content::keys;

/// How long a claim holds: twice as long as a delivery can take (its timeouts are
/// 15 s), so one begun with more than half of it left ends before it expires.
const CLAIM_MS: i64 = 30_000;
/// A held claim with less than this left is renewed before its lane's next delivery.
const RENEW_BELOW_MS: i64 = CLAIM_MS * 2 / 3;
/// A claim's holder renews it only this long before it expires, at the latest (after
/// that, another process may be taking it over).
const RENEW_MARGIN_MS: i64 = 5_000;
/// A held claim whose lane has had nothing due this long is released, so another
/// replica's events for that lane go out from that replica at once.
pub(super) const IDLE_MS: i64 = 2_000;
/// Retries go on this long after the event; then the delivery is recorded as failed.
const GIVE_UP_MS: i64 = 25 * 3600 * 1000;
/// How much of a receiver's answer is kept in the delivery record.
const RESPONSE_CAP: usize = 4096;
/// How often pending events are looked for when nothing woke the loop (another
/// replica's events, retries coming due).
const POLL: Duration = Duration::from_secs(1);

/// A delivery made, or given up on: what `berth webhook deliveries` lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    pub delivery: String,
    pub hook: u64,
    pub url: String,
    pub event: String,
    pub action: String,
    pub package: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The body sent, so the delivery can be made again.
    pub body: String,
}

impl DeliveryRecord {
    /// The record of event `p` delivered with `outcome`.
    pub fn of(p: Pending, outcome: Outcome) -> DeliveryRecord {
        DeliveryRecord {
            delivery: p.delivery,
            hook: p.hook,
            url: p.url,
            event: p.event,
            action: p.action,
            package: p.package,
            outcome,
            body: p.body,
        }
    }

    pub fn succeeded(&self) -> bool {
        self.outcome.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A lane's claim this process holds.
pub(super) struct Held {
    until_ms: i64,
    /// When its lane last had an event due.
    busy_ms: i64,
}

impl Held {
    fn new(until_ms: i64, busy_ms: i64) -> Held {
        Held { until_ms, busy_ms }
    }
}

#[derive(Serialize, Deserialize)]
struct Claim {
    process: String,
    until_ms: i64,
}

/// The `X-Hub-Signature-256` value of `body` with `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Webhooks {
    /// Delivers pending events until the process ends.
    pub async fn run(self: Arc<Self>) {
        loop {
            if let Err(e) = self.deliver_due().await {
                tracing::warn!(error = %e, "webhook delivery pass failed; retrying");
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One pass over the outbox: for each lane (a hook and a package) whose oldest
    /// waiting event is due, claim the lane (or keep its claim) and deliver its events
    /// in order until one fails or is not yet due; then release the idle lanes' claims.
    pub async fn deliver_due(&self) -> Result<usize> {
        let storage = &*self.storage;
        // The lanes in the order of their oldest event, each with its events in order.
        let mut lanes: Vec<(Lane, Vec<String>)> = Vec::new();
        let mut index: HashMap<Lane, usize> = HashMap::new();
        for name in outbox::names(storage).await? {
            let Some(stored) = outbox::read(storage, &name).await? else {
                continue; // delivered meanwhile by another replica
            };
            if let Some(outcome) = stored.outcome {
                // Delivered, its move into the history cut short by a crash.
                self.settle(&name, stored.raw, &stored.pending, outcome)
                    .await?;
                continue;
            }
            let p = stored.pending;
            let lane = (p.hook, p.package.clone());
            if let Some(&i) = index.get(&lane) {
                // (Empty when its oldest event waits for a retry: so do the others.)
                if !lanes[i].1.is_empty() {
                    lanes[i].1.push(name);
                }
                continue;
            }
            let due = p.next_at_ms <= now_ms();
            index.insert(lane.clone(), lanes.len());
            lanes.push((lane, if due { vec![name] } else { Vec::new() }));
        }
        let mut sent = 0;
        let mut busy = HashSet::new();
        for (lane, names) in lanes.iter().filter(|(_, n)| !n.is_empty()) {
            let claim = lane_claim(lane);
            let Some(until) = self.hold(&claim).await? else {
                continue;
            };
            busy.insert(claim);
            sent += self.deliver_lane(names, until).await?;
        }
        self.release_idle(&busy).await?;
        Ok(sent)
    }

    /// Delivers `names` (one lane's events, oldest first) under the lane's claim, which
    /// holds until `until`, until one fails or is not due, or the claim is half spent
    /// (then the next pass renews it, so a claim never expires mid-delivery).
    async fn deliver_lane(&self, names: &[String], until: i64) -> Result<usize> {
        let storage = &*self.storage;
        let mut sent = 0;
        // The last success's record and removal, made while the next event is sent: its
        // fsyncs then overlap the next request instead of preceding it. (A crash between
        // the two sends the first again, under its id, which at-least-once allows.)
        let mut finishing: Option<Finishing<'_>> = None;
        for name in names {
            let now = now_ms();
            if until - now < CLAIM_MS / 2 {
                break;
            }
            // Read again under the claim: another process may have delivered it (and
            // dropped the claim) since the pass listed it.
            let Some(Stored {
                pending: mut p,
                raw,
                outcome: None,
            }) = outbox::read(storage, name).await?
            else {
                continue;
            };
            if p.next_at_ms > now {
                break;
            }
            let hook = self
                .hooks_of(&p.owner)
                .into_iter()
                .find(|h| Self::hook_id(&p.owner, h) == p.hook);
            let Some(hook) = hook else {
                // Its webhook was removed (or its URL changed): nothing may receive it.
                let gone = "the webhook is no longer configured".to_owned();
                let outcome = ended(&p, None, Some(gone), String::new());
                self.settle(name, raw, &p, outcome).await?;
                continue;
            };
            let outcome = match finishing.take() {
                Some(finish) => {
                    let (outcome, finished) = tokio::join!(self.send(&p, &hook), finish);
                    finished?;
                    outcome
                }
                None => self.send(&p, &hook).await,
            };
            p.attempts += 1;
            let failure = match &outcome {
                Ok((s, _)) if (200..300).contains(s) => None,
                Ok((s, _)) => Some(format!("the receiver answered {s}")),
                Err(e) => Some(e.clone()),
            };
            let attempt = super::Attempt {
                delivery: &p.delivery,
                event: &p.event,
                at_ms: now_ms(),
                failure: failure.as_deref(),
            };
            self.site.attempted(&p.owner, &hook, &attempt).await;
            let (status, response) = match outcome {
                Ok((s, r)) => (Some(s), r),
                Err(_) => (None, String::new()),
            };
            let Some(error) = failure else {
                let outcome = ended(&p, status, None, response);
                finishing = Some(Box::pin(async move {
                    self.settle(name, raw, &p, outcome).await
                }));
                sent += 1;
                continue;
            };
            if now - p.created_at_ms > GIVE_UP_MS {
                tracing::warn!(delivery = %p.delivery, url = %p.url, error = %error, "webhook given up after a day of retries");
                let outcome = ended(&p, status, Some(error), response);
                self.settle(name, raw, &p, outcome).await?;
                continue;
            }
            tracing::info!(delivery = %p.delivery, url = %p.url, attempt = p.attempts, error = %error, "webhook delivery failed; will retry");
            p.next_at_ms = now + backoff_ms(p.attempts);
            p.last_error = Some(error);
            outbox::write(storage, &p).await?;
            // The later events of the lane wait for this one.
            break;
        }
        if let Some(finish) = finishing {
            finish.await?;
        }
        Ok(sent)
    }

    /// The expiry of this process's claim on lane `claim`, made, kept or renewed;
    /// `None` while another process holds it.
    async fn hold(&self, claim: &str) -> Result<Option<i64>> {
        let now = now_ms();
        let mine = self.held_claims().get(claim).map(|h| h.until_ms);
        match mine {
            Some(until) if until - now > RENEW_BELOW_MS => {
                if let Some(h) = self.held_claims().get_mut(claim) {
                    h.busy_ms = now;
                }
                return Ok(Some(until));
            }
            Some(until) if until - now > RENEW_MARGIN_MS => {
                // Still ours, and nobody may take it over before it expires: rewritten
                // in place.
                let until = now + CLAIM_MS;
                self.storage
                    .touch(&keys::webhook_claim(claim), self.claim_bytes(until))
                    .await?;
                self.held_claims()
                    .insert(claim.to_owned(), Held::new(until, now));
                return Ok(Some(until));
            }
            // Too close to its expiry to renew safely: claimed afresh once it passes.
            Some(_) => {
                self.held_claims().remove(claim);
            }
            None => {}
        }
        if !self.claim(claim, now).await? {
            return Ok(None);
        }
        let until = now + CLAIM_MS;
        self.held_claims()
            .insert(claim.to_owned(), Held::new(until, now));
        Ok(Some(until))
    }

    /// Releases the claims of lanes (not in `busy`, this pass's) that have had nothing
    /// due for [`IDLE_MS`].
    async fn release_idle(&self, busy: &HashSet<String>) -> Result<()> {
        let now = now_ms();
        let idle: Vec<String> = self
            .held_claims()
            .iter()
            .filter(|(claim, h)| !busy.contains(*claim) && now - h.busy_ms > IDLE_MS)
            .map(|(claim, _)| claim.clone())
            .collect();
        for claim in idle {
            self.release(&claim).await?;
        }
        Ok(())
    }

    /// Releases every claim this process holds (at a clean shutdown, so the other
    /// replicas need not wait for them to expire).
    pub async fn release_all(&self) {
        let held: Vec<String> = self.held_claims().keys().cloned().collect();
        for claim in held {
            if let Err(e) = self.release(&claim).await {
                tracing::warn!(error = %e, claim, "releasing a webhook lane's claim failed; it expires");
            }
        }
    }

    async fn release(&self, claim: &str) -> Result<()> {
        self.held_claims().remove(claim);
        self.storage.delete(&keys::webhook_claim(claim)).await?;
        Ok(())
    }

    fn held_claims(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn claim_bytes(&self, until_ms: i64) -> Bytes {
        let claim = Claim {
            process: self.process.clone(),
            until_ms,
        };
        Bytes::from(serde_json::to_vec(&claim).expect("a claim serializes"))
    }

    /// Claims `name` (a lane) for this process; `false` while another holds it.
    async fn claim(&self, name: &str, now: i64) -> Result<bool> {
        let key = keys::webhook_claim(name);
        let bytes = self.claim_bytes(now + CLAIM_MS);
        // A lease, not a record: not flushed to disk, so a claim costs the pushes beside
        // it no fsync. A crash that forgets it takes its holder down too (the same
        // machine); only a storage server's own crash could let another replica send
        // the lane beside a living holder: duplicates (same `X-GitHub-Delivery`), which
        // at-least-once allows, never a loss.
        if self.storage.touch_if_absent(&key, bytes.clone()).await? {
            return Ok(true);
        }
        let held = self
            .storage
            .get(&key)
            .await?
            .and_then(|b| serde_json::from_slice::<Claim>(&b).ok());
        if held.is_some_and(|c| c.until_ms > now) {
            return Ok(false);
        }
        // Left by a process that died: take it over.
        self.storage.delete(&key).await?;
        Ok(self.storage.touch_if_absent(&key, bytes).await?)
    }

    /// Sends `p`: the receiver's status and the start of its answer, or why nothing
    /// was sent or answered.
    async fn send(
        &self,
        p: &Pending,
        hook: &Webhook,
    ) -> std::result::Result<(u16, String), String> {
        let url = reqwest::Url::parse(&p.url).map_err(|e| format!("{}: {e}", p.url))?;
        target::check_url(&url, self.allow_private)?;
        let mut request = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("x-github-event", &p.event)
            .header("x-github-delivery", &p.delivery)
            .header("x-github-hook-id", p.hook.to_string())
            .header("x-github-hook-installation-target-type", "organization")
            .header(
                "x-github-hook-installation-target-id",
                crate::packages::json::account_id(&p.owner).to_string(),
            );
        if let Some(secret) = self.site.secret(&p.owner, hook).await? {
            request = request.header("x-hub-signature-256", signature(&secret, p.body.as_bytes()));
        }
        let response = request
            .body(p.body.clone())
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        let status = response.status().as_u16();
        let mut answer = Vec::new();
        let mut response = response;
        while let Ok(Some(chunk)) = response.chunk().await {
            answer.extend_from_slice(&chunk[..chunk.len().min(RESPONSE_CAP - answer.len())]);
            if answer.len() >= RESPONSE_CAP {
                break;
            }
        }
        Ok((status, String::from_utf8_lossy(&answer).into_owned()))
    }

    /// Ends pending event `name` (`raw` its stored line, `p` the event) with `outcome`:
    /// the event's file, with the outcome added, becomes its delivery record. The
    /// history, not the event (that stays pending until this is done): not waited on
    /// to be durable, so a delivery costs no flush to disk beside the pushes, and on
    /// the filesystem no file created or removed. Power lost right after may send the
    /// event again; a process killed does not.
    async fn settle(&self, name: &str, raw: Bytes, p: &Pending, outcome: Outcome) -> Result<()> {
        let record = format!("{:013}-{}", outcome.delivered_at_ms, p.delivery);
        self.storage
            .move_appending(
                &keys::webhook_pending(name),
                &keys::webhook_delivery(p.hook, &record),
                raw,
                outcome.line(),
            )
            .await?;
        Ok(())
    }
}

/// How the delivery of `p` (its attempts counted) ended, now.
fn ended(p: &Pending, status: Option<u16>, error: Option<String>, response: String) -> Outcome {
    Outcome {
        attempts: p.attempts,
        delivered_at_ms: now_ms(),
        status,
        error,
        response,
    }
}

/// A delivery's move into the history, under way.
type Finishing<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>>;

/// The events of one hook for one package: delivered in order, by one process at a time.
type Lane = (u64, String);

/// The claim object's name for `lane`: the hook and a digest of the package (a name
/// with slashes is not one key segment).
fn lane_claim(lane: &Lane) -> String {
    let digest = hex::encode(&Sha256::digest(lane.1.as_bytes())[..12]);
    format!("lane-{}-{digest}", lane.0)
}

/// Retry `n` waits 2^n seconds, at most 10 minutes: a receiver down for minutes gets
/// its events within minutes of coming back.
fn backoff_ms(attempts: u32) -> i64 {
    1000 * (1i64 << attempts.min(10)).min(600)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_githubs_hmac_sha256_in_hex() {
        // GitHub's documented example: secret "It's a Secret to Everybody",
        // payload "Hello, World!".
        assert_eq!(
            signature(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        assert_eq!(backoff_ms(1), 2_000);
        assert_eq!(backoff_ms(5), 32_000);
        assert_eq!(backoff_ms(30), 600_000);
    }
}
