//! Mutable metadata (tags, repository links) cached for a bounded time, so that a
//! manifest GET by tag costs no storage round trip on a remote backend.
//!
//! - **Bound across processes**: an entry lives at most `ttl` after it was read from
//!   storage, so a change made by another process is seen within `ttl`.
//! - **No staleness on the writer**: this process's own writes go through the cache
//!   (written or removed once storage has them), and a read that raced with such a write
//!   never stores what it read.
//! - **Only answers that exist are cached**: a tag or link that is missing is looked up
//!   again every time, so something pushed through another process is never reported
//!   missing from a cache (a manifest push checks its blobs' links on whichever process
//!   it lands).

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

/// Entries held at most.
const ENTRIES: u64 = 100_000;

/// A positive, time-bounded cache of metadata objects by storage key (or, with
/// `V = Listing`, of the listings of directories: those of package version records, where
/// a listing that misses another process's new entry for up to the bound is the stated
/// staleness).
pub struct MetadataCache<V = Bytes> {
    /// `None` when the bound is zero: every read goes to storage.
    entries: Option<moka::sync::Cache<String, V>>,
    /// Bumped by every local write; a read that saw it change does not fill the cache.
    /// The lock also makes "check, then insert" one step against writers.
    epoch: Mutex<u64>,
}

/// A directory's entries, as cached.
pub type Listing = std::sync::Arc<Vec<String>>;

impl<V: Clone + Send + Sync + 'static> MetadataCache<V> {
    pub fn new(ttl: Duration) -> Self {
        MetadataCache {
            entries: (!ttl.is_zero()).then(|| {
                moka::sync::Cache::builder()
                    .max_capacity(ENTRIES)
                    .time_to_live(ttl)
                    .build()
            }),
            epoch: Mutex::new(0),
        }
    }

    /// A cached value, or `None` (then read storage after taking [`Self::epoch`]).
    pub fn get(&self, key: &str) -> Option<V> {
        self.entries.as_ref()?.get(key)
    }

    /// The write epoch before a storage read.
    pub fn epoch(&self) -> u64 {
        *self.epoch.lock().expect("cache epoch poisoned")
    }

    /// Remembers what a read found, unless a local write happened since `epoch`.
    pub fn fill(&self, key: &str, value: &Option<V>, epoch: u64) {
        let (Some(entries), Some(value)) = (&self.entries, value) else {
            return;
        };
        let now = self.epoch.lock().expect("cache epoch poisoned");
        if *now == epoch {
            entries.insert(key.to_owned(), value.clone());
        }
    }

    /// Records a local write that storage has accepted (`None`: a delete).
    pub fn wrote(&self, key: &str, value: Option<V>) {
        let mut epoch = self.epoch.lock().expect("cache epoch poisoned");
        *epoch += 1;
        if let Some(entries) = &self.entries {
            match value {
                Some(v) => entries.insert(key.to_owned(), v),
                None => entries.invalidate(key),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &'static str) -> Option<Bytes> {
        Some(Bytes::from_static(s.as_bytes()))
    }

    #[test]
    fn fills_serve_until_the_bound_passes() {
        let c: MetadataCache = MetadataCache::new(Duration::from_millis(200));
        let e = c.epoch();
        let filled = std::time::Instant::now();
        c.fill("t", &b("v1"), e);
        assert_eq!(c.get("t"), b("v1"));
        while c.get("t").is_some() {
            assert!(filled.elapsed() < Duration::from_secs(5), "never expired");
            std::thread::yield_now();
        }
        assert!(filled.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn local_writes_replace_entries_and_beat_racing_reads() {
        let c: MetadataCache = MetadataCache::new(Duration::from_secs(60));
        let before_write = c.epoch();
        c.wrote("t", b("new"));
        // A read that started before the write and found the old value.
        c.fill("t", &b("old"), before_write);
        assert_eq!(c.get("t"), b("new"));
        c.wrote("t", None);
        assert_eq!(c.get("t"), None);
    }

    #[test]
    fn misses_and_a_zero_bound_cache_nothing() {
        let c: MetadataCache = MetadataCache::new(Duration::from_secs(60));
        let e = c.epoch();
        c.fill("gone", &None, e);
        assert_eq!(c.get("gone"), None);
        let off: MetadataCache = MetadataCache::new(Duration::ZERO);
        let e = off.epoch();
        off.fill("t", &b("v"), e);
        off.wrote("u", b("v"));
        assert_eq!((off.get("t"), off.get("u")), (None, None));
    }
}
