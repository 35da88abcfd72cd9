//! Removing a plan while requests go on.
//!
//! 1. **Tombstones.** Each candidate gets a tombstone (create-if-absent) naming the run,
//!    what goes (the bytes, links) and the reference marker as planned.
//! 2. **Verdicts.** For every tombstone in the store (this run's, and any that a killed
//!    or concurrent run left) the marker is read again: changed means a request claimed
//!    the blob since it was planned, and the tombstone is dropped. Unchanged, the run
//!    creates the verdict `deleting`; a request that created `kept` first wins, and the
//!    tombstone is dropped. Having won, the run reads the tombstone once more: gone
//!    means another run finished it (and cleared the verdict this run then re-created).
//! 3. **Removal** of what each won verdict names: links, then bytes. Only the winner
//!    removes, and only within half of `takeover` from winning; a verdict older than
//!    `takeover` is a dead run's, and the next run takes it over.
//! 4. **Clearing**: the tombstone, then its verdict. A request that found the blob
//!    `deleting` waits for the tombstone to go before it stores the blob afresh, so the
//!    removal cannot undo that store.
//!
//! Deleted versions past their window have their record removed; what they alone kept
//! becomes garbage for the next run.

use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::time::Instant;

use super::{Options, each, store_now};
use crate::content::collect::{DELETING, KEPT, Tombstone};
use crate::content::{Content, Error, Result, keys};
use crate::oci::digest::Digest;
use crate::oci::reference::RepoName;
use crate::storage::{Storage, StorageError};

/// The points between a run's steps, where tests pause it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The plan is made; nothing is written yet.
    Planned,
    /// Every candidate has its tombstone.
    Tombstoned,
    /// The verdicts are taken; nothing is removed yet.
    Decided,
    /// What the won verdicts name is removed; their tombstones remain.
    Removed,
}

impl Step {
    pub const ALL: [Step; 4] = [
        Step::Planned,
        Step::Tombstoned,
        Step::Decided,
        Step::Removed,
    ];

    /// The step called `name` (as `name` gives it).
    pub fn parse(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Step::Planned => "planned",
            Step::Tombstoned => "tombstoned",
            Step::Decided => "decided",
            Step::Removed => "removed",
        }
    }
}

/// What a run removed.
#[derive(Debug, Default)]
pub struct Report {
    pub run: String,
    pub blobs: Vec<(Digest, u64)>,
    pub links: Vec<(String, Digest)>,
    pub expired_versions: Vec<String>,
    /// Candidates that a request claimed before they could go.
    pub kept_by_requests: usize,
    /// Removals won by a run that stopped before finishing them, finished by this one.
    pub taken_over: usize,
    /// Unreferenced but younger than the grace period.
    pub young: usize,
    pub purged_uploads: usize,
    pub kept_blobs: u64,
    pub kept_bytes: u64,
}

impl Report {
    pub fn reclaimed_bytes(&self) -> u64 {
        self.blobs.iter().map(|(_, len)| len).sum()
    }
}

/// One collection of the store behind `content`, calling `pause` between its steps with
/// what the run has done so far.
pub async fn sweep(
    content: &Content,
    options: Options,
    mut pause: impl AsyncFnMut(Step, &Report),
) -> Result<Report> {
    let storage = content.storage().as_ref();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let now = store_now(storage).await?;
    let plan = super::plan(content, options, now).await?;
    let mut report = Report {
        run: run.clone(),
        young: plan.young,
        kept_blobs: plan.kept_blobs,
        kept_bytes: plan.kept_bytes,
        ..Report::default()
    };
    pause(Step::Planned, &report).await;

    let run = run.as_str();
    each(
        options.parallel,
        plan.candidates.iter().cloned(),
        |candidate| {
            async move {
                let tombstone = Tombstone {
                    run: run.to_owned(),
                    blob: candidate.blob.is_some(),
                    links: candidate.links.iter().map(|r| r.to_string()).collect(),
                    marker: candidate.marker,
                };
                let json = serde_json::to_vec(&tombstone).expect("a tombstone serializes");
                // Taken: another run's, which the next step judges like this run's.
                storage
                    .put_if_absent(&keys::gc_tombstone(&candidate.digest), Bytes::from(json))
                    .await?;
                Ok(())
            }
            .boxed()
        },
    )
    .await?;
    pause(Step::Tombstoned, &report).await;

    let tombstoned = storage.list(keys::gc_tombstones()).await?;
    let digests = tombstoned
        .into_iter()
        .filter_map(|e| keys::gc_tombstone_digest(&e));
    let decisions = each(options.parallel, digests, |digest| {
        async move {
            let decision = decide(storage, &digest, options.takeover).await?;
            Ok((digest, decision))
        }
        .boxed()
    })
    .await?;
    let mut won = Vec::new();
    for (digest, decision) in decisions {
        match decision {
            Decision::Won(tombstone) => won.push((digest, tombstone)),
            Decision::Kept => report.kept_by_requests += 1,
            Decision::NotOurs => {}
        }
    }
    report.taken_over = won.iter().filter(|(_, t)| t.run != run).count();
    let won_at = Instant::now();
    pause(Step::Decided, &report).await;

    let removed = each(
        options.parallel,
        won.iter().cloned(),
        |(digest, tombstone)| {
            async move {
                let digest = &digest;
                // Past this, another run may have taken the verdict over.
                if won_at.elapsed() > options.takeover / 2 {
                    return Err(Error::Storage(StorageError::Unavailable(format!(
                        "this collection took longer than half its takeover time ({:?}) to \
                     remove what it won; it stopped, and the next run finishes the rest",
                        options.takeover
                    ))));
                }
                let mut links = Vec::new();
                for repo in &tombstone.links {
                    let Ok(name) = RepoName::parse(repo) else {
                        continue;
                    };
                    if storage.delete(&keys::layer_link(&name, digest)).await? {
                        links.push((repo.clone(), digest.clone()));
                    }
                }
                let mut blob = None;
                if tombstone.blob {
                    let len = storage.blob_stat(digest).await?.map_or(0, |s| s.len);
                    if storage.blob_delete(digest).await? {
                        blob = Some((digest.clone(), len));
                    }
                }
                Ok((links, blob))
            }
            .boxed()
        },
    )
    .await?;
    for (links, blob) in removed {
        report.links.extend(links);
        report.blobs.extend(blob);
    }
    pause(Step::Removed, &report).await;

    each(options.parallel, won, |(digest, tombstone)| {
        async move {
            storage.delete(&keys::gc_tombstone(&digest)).await?;
            storage
                .delete(&keys::gc_verdict(&digest, &tombstone.run))
                .await?;
            Ok(())
        }
        .boxed()
    })
    .await?;
    let expired = each(options.parallel, plan.expired_versions, |key| {
        async move { Ok(storage.delete(&key).await?.then_some(key)) }.boxed()
    })
    .await?;
    report
        .expired_versions
        .extend(expired.into_iter().flatten());
    report.purged_uploads = content.purge_expired_uploads().await?;
    clear_stale_verdicts(storage, now, options).await?;
    clear_stale_markers(storage, now, options).await?;
    Ok(report)
}

enum Decision {
    /// This run removes what the tombstone names.
    Won(Tombstone),
    /// A request claimed it; the tombstone is dropped.
    Kept,
    /// Another run is on it, or it is gone.
    NotOurs,
}

/// Step 2 for one tombstone (see the module's comment).
async fn decide(storage: &dyn Storage, digest: &Digest, takeover: Duration) -> Result<Decision> {
    let key = keys::gc_tombstone(digest);
    let Some(raw) = storage.get(&key).await? else {
        return Ok(Decision::NotOurs);
    };
    let Ok(tombstone) = serde_json::from_slice::<Tombstone>(&raw) else {
        // Requests ignore what they cannot read, so it protects nothing either way.
        storage.delete(&key).await?;
        return Ok(Decision::NotOurs);
    };
    let verdict = keys::gc_verdict(digest, &tombstone.run);
    let marker = storage
        .get(&keys::gc_ref(digest))
        .await?
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    // A changed marker means a request claimed it after the plan: the run votes to
    // keep it, so that nobody drops a tombstone whose removal another run has won.
    let unchanged = marker == tombstone.marker;
    let vote = if unchanged { DELETING } else { KEPT };
    if storage
        .put_if_absent(&verdict, Bytes::from_static(vote))
        .await?
    {
        if !unchanged {
            drop_tombstone(storage, &key, &verdict).await?;
            return Ok(Decision::Kept);
        }
    } else {
        match storage.get(&verdict).await?.as_deref() {
            Some(KEPT) => {
                drop_tombstone(storage, &key, &verdict).await?;
                return Ok(Decision::Kept);
            }
            // A dead run's won verdict is taken over once it is old enough.
            Some(DELETING) if is_older(storage, &verdict, takeover).await? => {}
            _ => return Ok(Decision::NotOurs),
        }
    }
    if storage.get(&key).await?.as_deref() != Some(&raw[..]) {
        return Ok(Decision::NotOurs);
    }
    Ok(Decision::Won(tombstone))
}

/// Drops a tombstone whose verdict is `kept` (tombstone first: see the module's
/// comment).
async fn drop_tombstone(storage: &dyn Storage, tombstone: &str, verdict: &str) -> Result<()> {
    storage.delete(tombstone).await?;
    storage.delete(verdict).await?;
    Ok(())
}

/// Whether `key` was written more than `age` ago, in store time.
async fn is_older(storage: &dyn Storage, key: &str, age: Duration) -> Result<bool> {
    let now = store_now(storage).await?;
    older_than(storage, key, now, age).await
}

/// Whether `key` exists and was written more than `age` before store time `now`.
async fn older_than(
    storage: &dyn Storage,
    key: &str,
    now: jiff::Timestamp,
    age: Duration,
) -> Result<bool> {
    Ok(storage
        .modified(key)
        .await?
        .is_some_and(|t| super::age(t, now) > age + super::TIME_RESOLUTION))
}

/// Removes the reference markers of blobs that are not stored (a HEAD of a layer that
/// was then never pushed, a removed blob), once older than the grace period. A marker
/// matters only for a stored blob older than that, so one removed here just as its
/// blob is uploaded protects nothing that the blob's own age does not.
async fn clear_stale_markers(
    storage: &dyn Storage,
    now: jiff::Timestamp,
    options: Options,
) -> Result<()> {
    let markers = storage.list(keys::gc_refs()).await?;
    let digests = markers
        .into_iter()
        .filter_map(|e| keys::gc_tombstone_digest(&e));
    each(options.parallel, digests, |digest| {
        async move {
            let key = keys::gc_ref(&digest);
            if older_than(storage, &key, now, options.grace).await?
                && storage.blob_stat(&digest).await?.is_none()
            {
                storage.delete(&key).await?;
            }
            Ok(())
        }
        .boxed()
    })
    .await?;
    Ok(())
}

/// Removes verdicts whose tombstone is gone (a request that read a tombstone as it was
/// dropped may create one after), once they are older than `takeover`.
async fn clear_stale_verdicts(
    storage: &dyn Storage,
    now: jiff::Timestamp,
    options: Options,
) -> Result<()> {
    let verdicts = storage.list(keys::gc_verdicts()).await?;
    let parsed = verdicts.into_iter().filter_map(|entry| {
        let mut parts = entry.splitn(3, '-');
        let (Some(alg), Some(hex), Some(run)) = (parts.next(), parts.next(), parts.next()) else {
            return None;
        };
        let digest = format!("{alg}:{hex}").parse::<Digest>().ok()?;
        Some((digest, run.to_owned()))
    });
    each(options.parallel, parsed, |(digest, run)| {
        async move {
            let tombstone = storage.get(&keys::gc_tombstone(&digest)).await?;
            let live = tombstone
                .and_then(|raw| serde_json::from_slice::<Tombstone>(&raw).ok())
                .is_some_and(|t| t.run == run);
            let key = keys::gc_verdict(&digest, &run);
            if !live && older_than(storage, &key, now, options.takeover).await? {
                storage.delete(&key).await?;
            }
            Ok(())
        }
        .boxed()
    })
    .await?;
    Ok(())
}
