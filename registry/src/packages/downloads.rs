//! Download counts: a manifest GET that answers 200 counts one download of its version.
//! A pull must not cost a storage write, so each process counts in memory and flushes
//! its counts in batches (`FLUSH_INTERVAL`, and at shutdown) into an object of its own
//! per package, `_downloads/<process>`: replicas never write the same object, so no
//! count is lost to a race. A crash loses at most the counts since the last flush.
//! Counts go to the package live at the name when they are flushed; counts of a
//! package deleted since are dropped with it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use crate::content::Content;
use crate::content::{Result, keys};
use crate::oci::digest::Digest;
use crate::oci::reference::RepoName;

/// How often counts reach storage.
pub const FLUSH_INTERVAL: Duration = Duration::from_secs(10);

/// Counts by version digest.
pub type Counts = BTreeMap<String, u64>;

/// This process's download counts.
pub struct Downloads {
    /// This process's name among the writers (new at every start).
    process: String,
    /// Counted and not yet flushed, by repository and version digest.
    pending: Mutex<HashMap<String, HashMap<Digest, u64>>>,
    /// Off: downloads are not counted (the stored counts are still read).
    counting: bool,
}

impl Default for Downloads {
    fn default() -> Self {
        Downloads::new(true)
    }
}

impl Downloads {
    pub fn new(counting: bool) -> Downloads {
        Downloads {
            process: uuid::Uuid::new_v4().simple().to_string(),
            pending: Mutex::default(),
            counting,
        }
    }

    /// One download of `digest` in `repo`. On the pull path: no allocation once the
    /// version was counted since the last flush.
    pub fn count(&self, repo: &RepoName, digest: &Digest) {
        if !self.counting {
            return;
        }
        let mut pending = self.pending.lock().expect("counts lock");
        if !pending.contains_key(repo.as_str()) {
            pending.insert(repo.to_string(), HashMap::new());
        }
        let counts = pending.get_mut(repo.as_str()).expect("just inserted");
        match counts.get_mut(digest) {
            Some(n) => *n += 1,
            None => {
                counts.insert(digest.clone(), 1);
            }
        }
    }

    /// Writes the pending counts into this process's objects; returns the packages whose
    /// counts were written. Counts whose write fails stay pending for the next flush.
    pub async fn flush(&self, content: &Content) -> Result<Vec<(RepoName, u64)>> {
        let batch = std::mem::take(&mut *self.pending.lock().expect("counts lock"));
        let mut failed = None;
        let mut flushed = Vec::new();
        for (repo, counts) in batch {
            let Ok(name) = RepoName::parse(&repo) else {
                continue;
            };
            match self.add(content, &name, &counts).await {
                Ok(Some(pkg)) => flushed.push((name, pkg)),
                Ok(None) => {}
                Err(e) => {
                    let mut pending = self.pending.lock().expect("counts lock");
                    let entry = pending.entry(repo).or_default();
                    for (digest, n) in counts {
                        *entry.entry(digest).or_default() += n;
                    }
                    failed = Some(e);
                }
            }
        }
        failed.map_or(Ok(flushed), Err)
    }

    /// Adds `counts` to this process's object of the package live at `repo`; returns
    /// its id, or `None` when no package is live there.
    async fn add(
        &self,
        content: &Content,
        repo: &RepoName,
        counts: &HashMap<Digest, u64>,
    ) -> Result<Option<u64>> {
        let storage = content.storage();
        let Some(pkg) = super::PackageRecord::load(content, repo)
            .await?
            .map(|r| r.id)
            .filter(|id| *id != 0)
        else {
            return Ok(None);
        };
        let key = keys::package_downloads(repo, pkg, &self.process);
        let mut stored = read_counts(storage.get(&key).await?);
        for (digest, n) in counts {
            *stored.entry(digest.to_string()).or_default() += n;
        }
        let json = serde_json::to_vec(&stored).expect("counts serialize");
        storage.put(&key, Bytes::from(json)).await?;
        content.listing_changed(&keys::package_downloads_dir(repo, pkg));
        Ok(Some(pkg))
    }

    /// Package `pkg`'s downloads (at `repo`) by version digest: every process's flushed
    /// counts, plus this process's pending ones.
    pub async fn of(&self, content: &Content, repo: &RepoName, pkg: u64) -> Result<Counts> {
        let dir = keys::package_downloads_dir(repo, pkg);
        let mut total = Counts::new();
        for process in content.cached_list(&dir).await?.iter() {
            let stored = read_counts(content.storage().get(&format!("{dir}/{process}")).await?);
            for (digest, n) in stored {
                *total.entry(digest).or_default() += n;
            }
        }
        if let Some(pending) = self.pending.lock().expect("counts lock").get(repo.as_str()) {
            for (digest, n) in pending {
                *total.entry(digest.to_string()).or_default() += n;
            }
        }
        Ok(total)
    }
}

fn read_counts(raw: Option<Bytes>) -> Counts {
    raw.and_then(|r| serde_json::from_slice(&r).ok())
        .unwrap_or_default()
}
