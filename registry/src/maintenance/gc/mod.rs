//! Online garbage collection: safe while pushes go on, from any number of processes on
//! one store, with no lock and no database.
//!
//! A run reads the store's time (it writes `_berth/gc/clock` and reads back its
//! modification time, so no replica's clock matters), marks what the roots reach
//! (`mark.rs`), and plans to remove what they do not, but only blobs and links whose
//! bytes and reference marker are both older than the grace period. The sweep
//! (`sweep.rs`) then removes the plan with tombstones and verdicts, against the claims
//! that requests make (`content::collect`); a request that relies on a blob either keeps
//! it or is told it is gone, never both.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt, TryStreamExt};

use crate::content::{Content, Result, keys};
use crate::oci::digest::Digest;
use crate::oci::reference::RepoName;
use crate::storage::Storage;

pub mod mark;
pub mod sweep;

/// Which process runs the collection that is due: collections are safe together
/// (`sweep.rs`), so this only spares the redundant ones. In a cluster a Lease.
#[async_trait::async_trait]
pub trait Turn: Send + Sync {
    /// Whether this process collects now, keeping the turn for `hold`; `false` when
    /// another holds it (or asking failed, which the implementation logs).
    async fn take(&self, hold: Duration) -> bool;
}

pub use sweep::{Report, Step, sweep};

/// `f` of every item, `parallel` at a time, in the items' order (so reports are in
/// order too); the first error stops the rest. `f` boxes its future (`.boxed()`):
/// that proves it `Send` where its lifetimes are known, which the server's spawned
/// collection needs and the compiler cannot see through an unboxed one.
async fn each<'a, T, R>(
    parallel: usize,
    items: impl IntoIterator<Item = T>,
    f: impl FnMut(T) -> BoxFuture<'a, Result<R>>,
) -> Result<Vec<R>> {
    futures_util::stream::iter(items)
        .map(f)
        .buffered(parallel.max(1))
        .try_collect()
        .await
}

/// S3 gives times to the second: an age is counted from the end of its second.
const TIME_RESOLUTION: Duration = Duration::from_secs(1);

/// What a collection is asked to do.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// How long a deleted version stays restorable (the Registry's `restoreWindow`).
    pub restore_window: Duration,
    /// How old a blob and its reference marker must be to go. Longer than any request
    /// (a push's HEAD, upload and manifest PUT each claim again, so it is per request).
    pub grace: Duration,
    /// How long a run's won removals are its own: it removes nothing after half of
    /// this from winning them, and another run finishes them after all of it.
    pub takeover: Duration,
    /// Keys read or written at once. On S3 each is a round trip of milliseconds, so a
    /// store of thousands of blobs is collected in seconds only side by side; on a
    /// filesystem it overlaps the blocking pool's calls.
    pub parallel: usize,
}

impl Options {
    /// The takeover time a run uses unless told otherwise.
    pub const TAKEOVER: Duration = Duration::from_secs(10 * 60);
    /// `berth gc` by hand: as fast as the store allows.
    pub const PARALLEL: usize = 32;
    /// The server's scheduled runs: they share the process, its blocking pool and the
    /// cores with the requests they run beside, so they go slower rather than queue
    /// the requests' reads and writes behind dozens of their own (docs/benchmarks.md,
    /// garbage collection).
    pub const SCHEDULED_PARALLEL: usize = 4;
}

/// A blob, or some links to it, that a collection would remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub digest: Digest,
    /// The blob's length when its bytes go; `None` when only links go.
    pub blob: Option<u64>,
    /// Repositories whose link to it goes.
    pub links: Vec<RepoName>,
    /// Its reference marker as read when it was chosen.
    pub marker: Option<String>,
}

/// What a collection would remove.
#[derive(Debug, Default)]
pub struct Plan {
    pub candidates: Vec<Candidate>,
    /// Deleted versions past their restore window (their record's key).
    pub expired_versions: Vec<String>,
    /// Unreferenced, but younger than the grace period (or recently referenced).
    pub young: usize,
    pub kept_blobs: u64,
    pub kept_bytes: u64,
}

impl Plan {
    pub fn blobs(&self) -> impl Iterator<Item = (&Digest, u64)> {
        self.candidates
            .iter()
            .filter_map(|c| c.blob.map(|len| (&c.digest, len)))
    }

    pub fn links(&self) -> impl Iterator<Item = (&RepoName, &Digest)> {
        self.candidates
            .iter()
            .flat_map(|c| c.links.iter().map(move |r| (r, &c.digest)))
    }

    pub fn reclaimed_bytes(&self) -> u64 {
        self.blobs().map(|(_, len)| len).sum()
    }
}

/// The store's time now: the modification time of a key written for the purpose.
pub async fn store_now(storage: &dyn Storage) -> Result<jiff::Timestamp> {
    let run = uuid::Uuid::new_v4().to_string();
    storage.touch(keys::gc_clock(), Bytes::from(run)).await?;
    storage.modified(keys::gc_clock()).await?.ok_or_else(|| {
        crate::content::Error::Storage(crate::storage::StorageError::Corrupt(
            "the collection's clock key vanished as it was written".into(),
        ))
    })
}

/// What a collection would remove now (a dry run).
pub async fn plan_now(content: &Content, options: Options) -> Result<Plan> {
    let now = store_now(content.storage().as_ref()).await?;
    plan(content, options, now).await
}

/// What a collection at store time `now` would remove.
pub async fn plan(content: &Content, options: Options, now: jiff::Timestamp) -> Result<Plan> {
    let storage = content.storage().as_ref();
    let marked = mark::mark(content, options.restore_window, options.parallel, now).await?;
    let mut plan = Plan {
        expired_versions: marked.expired_versions,
        kept_blobs: marked.kept_blobs,
        kept_bytes: marked.kept_bytes,
        ..Plan::default()
    };
    let mut by_digest: BTreeMap<String, Candidate> = BTreeMap::new();
    for (digest, len) in marked.blobs {
        let entry = Candidate {
            digest: digest.clone(),
            blob: Some(len),
            links: Vec::new(),
            marker: None,
        };
        by_digest.insert(digest.to_string(), entry);
    }
    for (repo, digest) in marked.links {
        by_digest
            .entry(digest.to_string())
            .or_insert_with(|| Candidate {
                digest: digest.clone(),
                blob: None,
                links: Vec::new(),
                marker: None,
            })
            .links
            .push(repo);
    }
    let old = |t: Option<jiff::Timestamp>| {
        t.is_none_or(|t| age(t, now) > options.grace + TIME_RESOLUTION)
    };
    let candidates: Vec<Candidate> = by_digest.into_values().collect();
    let judged = each(options.parallel, candidates.iter().cloned(), |candidate| {
        async move {
            let marker_key = keys::gc_ref(&candidate.digest);
            // Read before its time: a claim that rewrites it after this changes what the
            // sweep reads again.
            let marker = storage
                .get(&marker_key)
                .await?
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            let marker_old = marker.is_none() || old(storage.modified(&marker_key).await?);
            let bytes_old = candidate.blob.is_none()
                || old(storage
                    .blob_stat(&candidate.digest)
                    .await?
                    .map(|s| s.modified));
            Ok((marker, marker_old && bytes_old))
        }
        .boxed()
    })
    .await?;
    for (mut candidate, (marker, old)) in candidates.into_iter().zip(judged) {
        if old {
            candidate.marker = marker;
            plan.candidates.push(candidate);
        } else {
            plan.young += 1;
        }
    }
    Ok(plan)
}

/// How long before `now` time `t` was (zero if after it).
fn age(t: jiff::Timestamp, now: jiff::Timestamp) -> Duration {
    Duration::try_from(now.duration_since(t)).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_is_never_negative() {
        let now: jiff::Timestamp = "2026-12-02T00:00:10Z".parse().unwrap();
        let before: jiff::Timestamp = "2026-12-02T00:00:04Z".parse().unwrap();
        assert_eq!(age(before, now), Duration::from_secs(6));
        assert_eq!(age(now, before), Duration::ZERO, "a later time is no age");
    }
}
