//! Download counts: a manifest GET that answers 200 counts one download of its version.
//! A pull must not cost a storage write, so each process counts in memory and flushes
//! its counts in batches (`FLUSH_INTERVAL`, and at shutdown) into an object of its own
//! per package, `_downloads/<process>`: replicas never write the same object, so no
//! count is lost to a race. A crash loses at most the counts since the last flush.
//! Counts go to the package live at the name when they are flushed; counts of a
//! package deleted since are dropped with it. Beside its totals each process keeps the
//! same counts by UTC day of their flush (`_downloads-by-day/<process>`, the last
//! `DAYS_KEPT` days), for a version's download activity: today, the last week, the last
//! 30 days.

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

/// Counts by version digest, then UTC day (`2026-12-03`).
type Days = BTreeMap<String, BTreeMap<String, u64>>;

/// How many days of counts by day are kept.
const DAYS_KEPT: i64 = 31;

/// A version's downloads over the periods GHCR's version page shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Activity {
    pub today: u64,
    /// Today and the 6 days before.
    pub last_week: u64,
    /// Today and the 29 days before.
    pub last_30_days: u64,
}

/// The UTC day `days_ago` before `now`, as the by-day objects name it.
fn day(now: jiff::Timestamp, days_ago: i64) -> String {
    let then = now - jiff::SignedDuration::from_hours(24 * days_ago);
    then.strftime("%Y-%m-%d").to_string()
}

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
        self.add_by_day(content, repo, pkg, counts).await?;
        Ok(Some(pkg))
    }

    /// Adds `counts` to today's in this process's by-day object, dropping the days past
    /// `DAYS_KEPT`. Written after the totals: a crash between the two loses a flush's
    /// activity, never a total.
    async fn add_by_day(
        &self,
        content: &Content,
        repo: &RepoName,
        pkg: u64,
        counts: &HashMap<Digest, u64>,
    ) -> Result<()> {
        let storage = content.storage();
        let key = keys::package_downloads_by_day(repo, pkg, &self.process);
        let mut stored: Days = read_json(storage.get(&key).await?);
        let now = jiff::Timestamp::now();
        let (today, oldest) = (day(now, 0), day(now, DAYS_KEPT - 1));
        for (digest, n) in counts {
            *stored
                .entry(digest.to_string())
                .or_default()
                .entry(today.clone())
                .or_default() += n;
        }
        for days in stored.values_mut() {
            days.retain(|d, _| *d >= oldest);
        }
        stored.retain(|_, days| !days.is_empty());
        let json = serde_json::to_vec(&stored).expect("counts serialize");
        storage.put(&key, Bytes::from(json)).await?;
        content.listing_changed(&keys::package_downloads_by_day_dir(repo, pkg));
        Ok(())
    }

    /// Version `digest`'s downloads today, in the last week and in the last 30 days:
    /// every process's flushed counts by day, plus this process's pending ones (today's).
    pub async fn activity(
        &self,
        content: &Content,
        repo: &RepoName,
        pkg: u64,
        digest: &str,
    ) -> Result<Activity> {
        let dir = keys::package_downloads_by_day_dir(repo, pkg);
        let files: Vec<String> = (content.cached_list(&dir).await?.iter())
            .map(|process| format!("{dir}/{process}"))
            .collect();
        let now = jiff::Timestamp::now();
        let (today, week, month) = (day(now, 0), day(now, 6), day(now, 29));
        let mut out = Activity::default();
        for raw in content.storage().get_many(&files).await? {
            let days: Days = read_json(raw);
            for (d, n) in days.get(digest).into_iter().flatten() {
                if *d == today {
                    out.today += n;
                }
                if *d >= week {
                    out.last_week += n;
                }
                if *d >= month {
                    out.last_30_days += n;
                }
            }
        }
        let waiting = digest.parse::<Digest>().ok().map_or(0, |d| {
            let pending = self.pending.lock().expect("counts lock");
            (pending.get(repo.as_str()))
                .and_then(|counts| counts.get(&d).copied())
                .unwrap_or(0)
        });
        out.today += waiting;
        out.last_week += waiting;
        out.last_30_days += waiting;
        Ok(out)
    }

    /// Package `pkg`'s downloads (at `repo`) by version digest: every process's flushed
    /// counts, plus this process's pending ones.
    pub async fn of(&self, content: &Content, repo: &RepoName, pkg: u64) -> Result<Counts> {
        let dir = keys::package_downloads_dir(repo, pkg);
        let mut total = Counts::new();
        let files: Vec<String> = (content.cached_list(&dir).await?.iter())
            .map(|process| format!("{dir}/{process}"))
            .collect();
        for raw in content.storage().get_many(&files).await? {
            for (digest, n) in read_counts(raw) {
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
    read_json(raw)
}

/// A stored counts object; one that is missing or unreadable counts nothing.
fn read_json<T: serde::de::DeserializeOwned + Default>(raw: Option<Bytes>) -> T {
    raw.and_then(|r| serde_json::from_slice(&r).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::day;

    #[test]
    fn days_are_utc_dates_that_sort_as_time_does() {
        let now: jiff::Timestamp = "2026-12-03T00:30:00Z".parse().unwrap();
        assert_eq!(day(now, 0), "2026-12-03");
        assert_eq!(day(now, 1), "2026-12-02");
        assert_eq!(day(now, 3), "2026-11-30");
        assert!(day(now, 30) < day(now, 29));
    }
}
