//! The registry's content model over `Storage`: repositories that link blobs and
//! manifests, tags, upload sessions and referrers. Every surface (the OCI API, and the
//! REST API and pages to come) calls this; it knows nothing of HTTP, and fails with its
//! own [`Error`], which each surface renders its own way.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::config::Limits;
use crate::oci::digest::Digest;
use crate::storage::{ByteStream, Storage};

mod blobs;
mod cache;
pub mod collect;
pub mod error;
pub mod format;
pub mod keys;
pub(crate) mod locks;
mod manifests;
mod referrers;
mod repository;
mod stats;
mod tags;
pub mod upload_state;
mod uploads;
mod versions;

pub use versions::TagMap;

use error::corrupt;
pub use error::{Error, Result};
pub use manifests::{PutManifest, StoredManifest};
pub use stats::RepositoryStats;
pub use upload_state::UploadStateKey;
pub use uploads::{UploadBody, UploadSession};
pub use versions::Unlinked;

/// Immutable content cached in memory: manifests by digest, whose bytes never change.
const MANIFEST_CACHE_BYTES: u64 = 32 * 1024 * 1024;
/// Tags held at most in the tag maps, over all repositories.
const TAG_MAP_TAGS: u64 = 1_000_000;

/// The registry's content.
pub struct Content {
    storage: Arc<dyn Storage>,
    limits: Limits,
    manifest_bytes: moka::sync::Cache<Digest, Bytes>,
    /// Tags and repository links, for at most the configured staleness bound.
    metadata: cache::MetadataCache,
    /// Listings of version-record directories, for the same bound.
    listings: cache::MetadataCache<cache::Listing>,
    /// Each repository's tags by digest, with the tags listing they were read under
    /// (`Content::tags_by_digest`).
    tag_maps: moka::sync::Cache<String, (Arc<Vec<String>>, versions::TagMap)>,
    /// The key of upload states: given, or made once and kept in storage.
    upload_key: tokio::sync::OnceCell<UploadStateKey>,
    upload_locks: locks::KeyedLocks,
    /// Set once storage was seen to hold a layout this binary reads.
    format_checked: tokio::sync::OnceCell<()>,
}

impl Content {
    /// Content over `storage`, caching no mutable metadata, with the upload-state key
    /// kept in storage.
    pub fn new(storage: Arc<dyn Storage>, limits: Limits) -> Self {
        Content {
            storage,
            limits,
            manifest_bytes: moka::sync::Cache::builder()
                .max_capacity(MANIFEST_CACHE_BYTES)
                .weigher(|_, v: &Bytes| u32::try_from(v.len()).unwrap_or(u32::MAX))
                .build(),
            metadata: cache::MetadataCache::new(Duration::ZERO),
            listings: cache::MetadataCache::new(Duration::ZERO),
            tag_maps: moka::sync::Cache::builder()
                .max_capacity(TAG_MAP_TAGS)
                .weigher(|_, (names, _): &(Arc<Vec<String>>, versions::TagMap)| {
                    u32::try_from(names.len()).unwrap_or(u32::MAX).max(1)
                })
                .build(),
            upload_key: tokio::sync::OnceCell::new(),
            upload_locks: locks::KeyedLocks::default(),
            format_checked: tokio::sync::OnceCell::new(),
        }
    }

    /// Storage answers and holds a layout this binary reads. The layout is checked
    /// until it once passes, so a store that was unreachable at start is checked as
    /// soon as it answers, before the registry reports ready.
    pub async fn check(&self) -> Result<(), format::FormatError> {
        self.storage.check().await?;
        self.format_checked
            .get_or_try_init(|| format::ensure(&*self.storage))
            .await?;
        Ok(())
    }

    /// Caches tags and repository links for up to `bound`: another process's change is
    /// seen within it; this process's own changes at once.
    pub fn with_max_staleness(mut self, bound: Duration) -> Self {
        self.metadata = cache::MetadataCache::new(bound);
        self.listings = cache::MetadataCache::new(bound);
        self
    }

    /// The entries of directory `dir`, possibly as listed up to the staleness bound ago
    /// (a page of versions lists their directory; the next pages reuse it).
    pub async fn cached_list(&self, dir: &str) -> Result<std::sync::Arc<Vec<String>>> {
        if let Some(v) = self.listings.get(dir) {
            return Ok(v);
        }
        let epoch = self.listings.epoch();
        let listed = self.storage.list_shared(dir).await?;
        self.listings.fill(dir, &Some(listed.clone()), epoch);
        Ok(listed)
    }

    /// Records that this process changed directory `dir`'s entries: its next listing
    /// reads storage.
    pub fn listing_changed(&self, dir: &str) {
        self.listings.wrote(dir, None);
    }

    /// Signs upload states with `key` (every replica must be given the same one).
    pub fn with_upload_state_key(self, key: UploadStateKey) -> Self {
        let _ = self.upload_key.set(key);
        self
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Whether a metadata object exists, read from storage (for writes).
    async fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.storage.get(key).await?.is_some())
    }

    /// Whether a tag or link exists, possibly from the cache (for reads).
    async fn cached_exists(&self, key: &str) -> Result<bool> {
        Ok(self.cached_get(key).await?.is_some())
    }

    /// Reads a tag or link, possibly from the cache (see `cache.rs` for the bound).
    async fn cached_get(&self, key: &str) -> Result<Option<Bytes>> {
        if let Some(v) = self.metadata.get(key) {
            return Ok(Some(v));
        }
        let epoch = self.metadata.epoch();
        let value = self.storage.get(key).await?;
        self.metadata.fill(key, &value, epoch);
        Ok(value)
    }

    /// [`Content::cached_get`] of several keys, in order; the misses read in one
    /// [`Storage::get_many`].
    async fn cached_get_many(&self, keys: &[String]) -> Result<Vec<Option<Bytes>>> {
        let mut out: Vec<Option<Bytes>> = keys.iter().map(|k| self.metadata.get(k)).collect();
        let misses: Vec<usize> = (0..keys.len()).filter(|&i| out[i].is_none()).collect();
        if misses.is_empty() {
            return Ok(out);
        }
        let epoch = self.metadata.epoch();
        let wanted: Vec<String> = misses.iter().map(|&i| keys[i].clone()).collect();
        let read = self.storage.get_many(&wanted).await?;
        for (i, value) in misses.into_iter().zip(read) {
            self.metadata.fill(&keys[i], &value, epoch);
            out[i] = value;
        }
        Ok(out)
    }

    /// Writes a tag or link through the cache.
    async fn cached_put(&self, key: &str, value: Bytes) -> Result<()> {
        self.storage.put(key, value.clone()).await?;
        self.metadata.wrote(key, Some(value));
        self.parent_changed(key);
        Ok(())
    }

    /// A tag or link written or removed here changes its directory's listing.
    fn parent_changed(&self, key: &str) {
        if let Some((dir, _)) = key.rsplit_once('/') {
            self.listing_changed(dir);
        }
    }

    /// Deletes a tag or link through the cache; `false` if there was none.
    async fn cached_delete(&self, key: &str) -> Result<bool> {
        let existed = self.storage.delete(key).await?;
        self.metadata.wrote(key, None);
        self.parent_changed(key);
        Ok(existed)
    }

    /// The upload-state key: the configured one, else the one kept in storage, made by
    /// whichever process needed it first.
    async fn upload_key(&self) -> Result<&UploadStateKey> {
        self.upload_key
            .get_or_try_init(|| async {
                let key = keys::upload_state_key();
                let fresh = UploadStateKey::generate();
                // Racing processes agree on the first one stored.
                self.storage
                    .put_if_absent(key, Bytes::from(fresh.to_hex()))
                    .await?;
                let stored = self
                    .storage
                    .get(key)
                    .await?
                    .ok_or_else(|| corrupt("the upload-state key vanished"))?;
                std::str::from_utf8(&stored)
                    .ok()
                    .and_then(UploadStateKey::from_hex)
                    .ok_or_else(|| corrupt(format!("{key} does not hold a hex key")))
            })
            .await
    }
}

/// A blob to serve: its full length, and the bytes of the requested range.
pub struct BlobContent {
    pub len: u64,
    pub body: ByteStream,
}
