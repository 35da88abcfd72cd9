//! Where content lives. The registry's model (repositories, tags, uploads) is built in
//! `content` over this trait; a backend only stores bytes: small metadata objects by key,
//! blobs by digest, and upload data by session id.
//!
//! Every backend publishes content verify-then-rename: a blob is visible under its digest
//! only once all its bytes are durable, so a crash never leaves a blob whose bytes do not
//! match its name.

use std::io;
use std::ops::Range;

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::stream::BoxStream;

use crate::oci::digest::Digest;

pub mod fs;

/// A stream of bytes, read from storage or from a request body.
pub type ByteStream = BoxStream<'static, Result<Bytes, io::Error>>;

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
}

pub type Result<T, E = StorageError> = std::result::Result<T, E>;

/// A storage backend. Keys are `/`-separated paths built by `content::keys` from
/// validated names and digests.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    /// Whether the backend can serve requests; the error names what is wrong.
    async fn check(&self) -> Result<()>;

    /// Reads a small metadata object.
    async fn get(&self, key: &str) -> Result<Option<Bytes>>;
    /// Atomically and durably replaces a small metadata object.
    async fn put(&self, key: &str, value: Bytes) -> Result<()>;
    /// Deletes a metadata object; `false` if there was none.
    async fn delete(&self, key: &str) -> Result<bool>;
    /// The names directly under `prefix` (objects and sub-prefixes), unordered.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;

    /// A blob's length, if the blob is stored.
    async fn blob_len(&self, digest: &Digest) -> Result<Option<u64>>;
    /// Streams `range` of a blob; `None` if the blob is not stored.
    async fn blob_read(&self, digest: &Digest, range: Range<u64>) -> Result<Option<ByteStream>>;
    /// Stores a small blob whose digest the caller has verified. Idempotent.
    async fn blob_put(&self, digest: &Digest, data: Bytes) -> Result<()>;
    /// Deletes a blob's bytes; `false` if there were none.
    async fn blob_delete(&self, digest: &Digest) -> Result<bool>;
    /// Every stored blob's digest (for garbage collection).
    async fn blob_list(&self) -> Result<Vec<Digest>>;

    /// Writes `body` into upload `id` starting at `offset`, discarding anything stored
    /// past `offset` (the torn tail of a request that never completed). Returns the new
    /// length once the bytes are durable.
    async fn upload_write(&self, id: &str, offset: u64, body: ByteStream) -> Result<u64>;
    /// Streams the first `len` bytes of upload `id`.
    async fn upload_read(&self, id: &str, len: u64) -> Result<ByteStream>;
    /// Publishes the first `len` bytes of upload `id` as blob `digest` (verified by the
    /// caller) and removes the upload's data.
    async fn upload_commit(&self, id: &str, len: u64, digest: &Digest) -> Result<()>;
    /// Removes an upload: its data and every metadata object under `uploads/<id>/`.
    async fn upload_delete(&self, id: &str) -> Result<()>;
}
