//! The registry's content model over `Storage`: repositories that link blobs and
//! manifests, tags, upload sessions and referrers. Handlers call this; it knows nothing
//! of HTTP.

use std::sync::Arc;

use bytes::Bytes;

use crate::config::Limits;
use crate::error::{Error, Result};
use crate::oci::digest::Digest;
use crate::oci::reference::RepoName;
use crate::storage::{ByteStream, Storage};

mod blobs;
pub mod keys;
pub(crate) mod locks;
mod manifests;
mod referrers;
mod stats;
mod tags;
mod uploads;

pub use manifests::{PutManifest, StoredManifest};
pub use stats::RepositoryStats;
pub use uploads::{UploadBody, UploadSession};

/// Immutable content cached in memory: manifests by digest, whose bytes never change.
const MANIFEST_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// The registry's content.
pub struct Content {
    storage: Arc<dyn Storage>,
    limits: Limits,
    manifest_bytes: moka::sync::Cache<Digest, Bytes>,
    upload_locks: locks::KeyedLocks,
}

impl Content {
    pub fn new(storage: Arc<dyn Storage>, limits: Limits) -> Self {
        Content {
            storage,
            limits,
            manifest_bytes: moka::sync::Cache::builder()
                .max_capacity(MANIFEST_CACHE_BYTES)
                .weigher(|_, v: &Bytes| u32::try_from(v.len()).unwrap_or(u32::MAX))
                .build(),
            upload_locks: locks::KeyedLocks::default(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// Whether anything (a blob, a manifest) was ever pushed to `repo`.
    pub async fn repository_exists(&self, repo: &RepoName) -> Result<bool> {
        let children = self.storage.list(&keys::repository(repo)).await?;
        Ok(children.iter().any(|c| c.starts_with('_')))
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        Ok(self.storage.get(key).await?.is_some())
    }
}

/// A blob to serve: its full length, and the bytes of the requested range.
pub struct BlobContent {
    pub len: u64,
    pub body: ByteStream,
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Storage(crate::storage::StorageError::Corrupt(what.to_string()))
}
