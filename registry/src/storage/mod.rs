//! Where content lives. The registry's model (repositories, tags, uploads) is built in
//! `content` over this trait; a backend only stores bytes: small metadata objects by key,
//! blobs by digest, and upload data by session id.
//!
//! Every backend publishes content verify-then-publish: a blob is visible under its digest
//! only once all its bytes are durable, so a crash never leaves a blob whose bytes do not
//! match its name.

use std::io;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

use crate::oci::digest::Digest;

/// The trait's contract as one suite of cases, run on every backend.
pub mod contract;
pub mod fs;
pub mod s3;

/// A stream of bytes, read from storage or from a request body.
pub type ByteStream = BoxStream<'static, Result<Bytes, io::Error>>;

/// A stored blob, as the store itself reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobStat {
    pub len: u64,
    /// When its bytes were published, in the store's time.
    pub modified: jiff::Timestamp,
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage I/O failed: {0}")]
    Io(#[from] io::Error),
    /// The bytes being stored could not be read: the client went away, or the stream was
    /// cut because it broke a limit. Nothing is published.
    #[error("reading the request body failed: {0}")]
    Body(io::Error),
    /// Stored data does not have the shape the registry wrote.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The backend cannot be used right now (unreachable, refusing the credentials, the
    /// bucket missing, overloaded); the message names which. Retrying later may work, and
    /// nothing was published.
    #[error("storage is unavailable: {0}")]
    Unavailable(String),
}

/// What a backend must remember about an upload's stored bytes between requests (the S3
/// backend: its multipart upload, parts and buffered chunks; nothing for the filesystem).
/// Opaque to the caller, which keeps it in the session state written after every
/// request, so that any process can continue the upload and the record always matches
/// the hash state beside it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UploadProgress(pub serde_json::Value);

impl UploadProgress {
    /// True for a backend that records nothing (or an upload with no bytes yet).
    pub fn is_empty(&self) -> bool {
        self.0.is_null()
    }
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// How many reads [`Storage::get_many`] keeps in flight by default.
const GET_MANY_AHEAD: usize = 100;

/// A storage backend. Keys are `/`-separated paths built by `content::keys` from
/// validated names and digests.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Whether the backend can serve requests; the error names what is wrong.
    async fn check(&self) -> Result<()>;

    /// Reads a small metadata object.
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;
    /// Reads several small metadata objects, in `keys`' order: side by side by default
    /// (S3: one round trip each, overlapped); the filesystem reads them all in one
    /// blocking task, where a page's hundred records would otherwise be a hundred hops
    /// to the blocking pool and back.
    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Bytes>>> {
        use futures_util::{StreamExt as _, TryStreamExt as _};
        // Made before they are polled: a closure in the stream is not `Send` for every
        // lifetime, as `async_trait` needs.
        let reads: Vec<futures_util::future::BoxFuture<'_, Result<Option<Bytes>>>> =
            keys.iter().map(|k| self.get(k)).collect();
        futures_util::stream::iter(reads)
            .buffered(GET_MANY_AHEAD)
            .try_collect()
            .await
    }
    /// Atomically and durably replaces a small metadata object.
    async fn put(&self, key: &str, value: Bytes) -> Result<()>;
    /// Stores a small metadata object only if `key` holds none; `false` if it did. Two
    /// processes racing to create one key agree on a single winner.
    async fn put_if_absent(&self, key: &str, value: Bytes) -> Result<bool>;
    /// Replaces a small metadata object atomically, but without waiting for it to be
    /// durable: garbage collection's reference markers, which other processes must see
    /// at once and which a crash may lose (what they protect is written durably after
    /// them).
    async fn touch(&self, key: &str, value: Bytes) -> Result<()> {
        self.put(key, value).await
    }
    /// [`Self::put_if_absent`] without waiting for durability, as [`Self::touch`]:
    /// leases (a webhook lane's claim) that only ever cost a duplicate if a crash of
    /// the machine forgets them.
    async fn touch_if_absent(&self, key: &str, value: Bytes) -> Result<bool> {
        self.put_if_absent(key, value).await
    }
    /// Moves the metadata object `from` to `to` with `tail` added to its end, without
    /// waiting for durability: a crash may leave `from` as it was, or with `tail`.
    /// `head` is `from`'s value as the caller read it, for a store that cannot append
    /// or rename (S3 writes `to` whole, then deletes `from`). On the filesystem it is a
    /// rename and an append, so no file is created or removed: a webhook's event
    /// becoming its delivery record.
    async fn move_appending(&self, from: &str, to: &str, head: Bytes, tail: Bytes) -> Result<()> {
        let mut whole = Vec::with_capacity(head.len() + tail.len());
        whole.extend_from_slice(&head);
        whole.extend_from_slice(&tail);
        self.touch(to, whole.into()).await?;
        self.delete(from).await?;
        Ok(())
    }
    /// When a metadata object was last written, in the store's own time (the
    /// filesystem's mtime, S3's `LastModified`); `None` if there is none.
    async fn modified(&self, key: &str) -> Result<Option<jiff::Timestamp>>;
    /// Deletes a metadata object; `false` if there was none.
    async fn delete(&self, key: &str) -> Result<bool>;
    /// The names directly under `prefix` (objects and sub-prefixes), unordered.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// [`Self::list`], shared: a backend that can tell a directory did not change
    /// answers from its last listing (the filesystem, by the directory's mtime).
    async fn list_shared(&self, prefix: &str) -> Result<std::sync::Arc<Vec<String>>> {
        Ok(std::sync::Arc::new(self.list(prefix).await?))
    }

    /// A blob's length, if the blob is stored.
    async fn blob_len(&self, digest: &Digest) -> Result<Option<u64>>;
    /// A blob's length and when it was stored (store time), read from the store itself,
    /// never from a cache: garbage collection and the references it races with decide
    /// on this. A backend that caches blob lengths refreshes its entry.
    async fn blob_stat(&self, digest: &Digest) -> Result<Option<BlobStat>>;
    /// Streams `range` of a blob; `None` if the blob is not stored.
    async fn blob_read(&self, digest: &Digest, range: Range<u64>) -> Result<Option<ByteStream>>;
    /// Stores a small blob whose digest the caller has verified. Idempotent.
    async fn blob_put(&self, digest: &Digest, data: Bytes) -> Result<()>;
    /// Deletes a blob's bytes; `false` if there were none.
    async fn blob_delete(&self, digest: &Digest) -> Result<bool>;
    /// Every stored blob's digest (for garbage collection).
    async fn blob_list(&self) -> Result<Vec<Digest>>;
    /// Every stored blob with its length (garbage collection's totals). A backend whose
    /// listing carries sizes answers from it rather than asking blob by blob.
    async fn blob_list_sizes(&self) -> Result<Vec<(Digest, u64)>> {
        let mut out = Vec::new();
        for digest in self.blob_list().await? {
            if let Some(len) = self.blob_len(&digest).await? {
                out.push((digest, len));
            }
        }
        Ok(out)
    }
    /// A URL from which a client may fetch the whole blob itself, valid for a while (a
    /// presigned S3 URL), when the backend is set to redirect; `None` otherwise.
    async fn blob_url(&self, _digest: &Digest) -> Result<Option<String>> {
        Ok(None)
    }

    /// Writes `body` into upload `id` starting at `offset`, discarding anything stored
    /// past `offset` (the torn tail of a request that never completed). `progress` is
    /// what the last completed write returned. Returns the new length and progress once
    /// the bytes are durable; the caller persists both.
    async fn upload_write(
        &self,
        id: &str,
        progress: &UploadProgress,
        offset: u64,
        body: ByteStream,
    ) -> Result<(u64, UploadProgress)>;
    /// Streams the first `len` bytes of upload `id`. Only for finishing: afterwards the
    /// upload may accept no more writes (S3 must complete a multipart upload to read it).
    async fn upload_read(
        &self,
        id: &str,
        progress: &UploadProgress,
        len: u64,
    ) -> Result<ByteStream>;
    /// Publishes the first `len` bytes of upload `id` as blob `digest` (verified by the
    /// caller). Idempotent: a retry after a failure part-way finishes the job.
    async fn upload_commit(
        &self,
        id: &str,
        progress: &UploadProgress,
        len: u64,
        digest: &Digest,
    ) -> Result<()>;
    /// Removes an upload: its data and every metadata object under `uploads/<id>/`.
    /// A blob it published stays.
    async fn upload_delete(&self, id: &str) -> Result<()>;
}
