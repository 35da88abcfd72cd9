//! Filesystem storage: a directory tree under the data dir.
//!
//! ```text
//! blobs/<alg>/<hex[..2]>/<hex>        blob bytes, named by digest
//! repositories/…, uploads/<id>/state  metadata objects (see content::keys)
//! uploads/<id>/data                   an upload's bytes so far
//! tmp/                                writes in progress (same filesystem, for rename)
//! ```
//!
//! Every publish is write-to-temp, fsync, rename, fsync the directory: a crash leaves
//! either the old object or the new one, never a torn one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::{ByteStream, Result, Storage, StorageError, UploadProgress};
use crate::oci::digest::{Algorithm, Digest};

/// Bytes gathered before each write(2) while receiving an upload.
const WRITE_BUFFER: usize = 1024 * 1024;
/// While an upload streams in, its bytes are flushed to disk every this many bytes, so
/// the flush overlaps the transfer instead of following it.
const FLUSH_EVERY: u64 = 8 * 1024 * 1024;
/// Temp files older than this are leftovers of a crash (no write takes this long).
const STALE_TMP: Duration = Duration::from_secs(24 * 3600);

/// Storage in a local directory.
#[derive(Clone, Debug)]
pub struct FsStorage {
    root: Arc<PathBuf>,
    listings: listing::Listings,
}

impl FsStorage {
    /// Opens (creating if needed) a data directory, and removes temp files that a crash
    /// left behind.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        for dir in ["blobs", "repositories", "uploads", "tmp"] {
            fs::create_dir_all(root.join(dir))?;
        }
        let storage = FsStorage {
            root: Arc::new(root),
            listings: listing::Listings::default(),
        };
        storage.remove_stale_tmp()?;
        Ok(storage)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn remove_stale_tmp(&self) -> io::Result<()> {
        let now = SystemTime::now();
        for entry in fs::read_dir(self.root.join("tmp"))? {
            let entry = entry?;
            let modified = entry.metadata()?.modified()?;
            if now.duration_since(modified).unwrap_or_default() > STALE_TMP {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    fn key_path(&self, key: &str) -> io::Result<PathBuf> {
        let rel = Path::new(key);
        // Keys are built from validated names, so this only guards against a bug.
        let safe = !key.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid storage key {key:?}"),
            ));
        }
        Ok(self.root.join(rel))
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let alg = match digest.algorithm() {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        };
        let hex = digest.hex();
        self.root.join("blobs").join(alg).join(&hex[..2]).join(hex)
    }

    fn upload_data(&self, id: &str) -> io::Result<PathBuf> {
        self.key_path(&format!("uploads/{id}/data"))
    }

    fn tmp_path(&self) -> PathBuf {
        self.root.join("tmp").join(uuid::Uuid::new_v4().to_string())
    }
}

/// Streams `range` of `f`, reading its first chunk into `first` now (on the caller's
/// blocking thread, so a small blob costs one hop in all); `first` is
/// [`read::buffer`] of the range's length, allocated before that hop.
fn open_chunks(
    mut f: File,
    range: Range<u64>,
    (n, first): (u64, Vec<u8>),
) -> io::Result<ByteStream> {
    f.seek(SeekFrom::Start(range.start))?;
    let len = range.end - range.start;
    let (f, first) = read::read_chunk(f, n, first)?;
    Ok(read::chunks(f, first, len - n))
}

/// A received body's buffers gathered into writes of up to [`WRITE_BUFFER`]: fewer
/// `write` calls than one per received buffer, and one copy, as a `BufWriter` makes.
#[derive(Default)]
struct Gathered(BytesMut);

impl Gathered {
    /// Adds `chunk`; returns what is to be written now, if anything.
    fn add(&mut self, chunk: Bytes) -> Option<Bytes> {
        if chunk.is_empty() {
            return None;
        }
        if self.0.is_empty() && chunk.len() >= WRITE_BUFFER {
            return Some(chunk); // as large as a write: as it came, without a copy
        }
        let full = (self.0.len() + chunk.len() > WRITE_BUFFER).then(|| self.take());
        if self.0.capacity() == 0 {
            self.0.reserve(WRITE_BUFFER.max(chunk.len()));
        }
        self.0.extend_from_slice(&chunk);
        full
    }

    /// What is left to be written at the end of the body.
    fn rest(&mut self) -> Option<Bytes> {
        (!self.0.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> Bytes {
        std::mem::take(&mut self.0).freeze()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| io::Error::other(format!("storage task failed: {e}")))?
        .map_err(StorageError::Io)
}

fn not_found_as_none<T>(r: io::Result<T>) -> io::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if is_missing(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// An mtime as a timestamp (the filesystem's clock is the store's).
fn store_time(t: SystemTime) -> Result<jiff::Timestamp> {
    jiff::Timestamp::try_from(t)
        .map_err(|e| StorageError::Corrupt(format!("a file's modification time: {e}")))
}

fn is_missing(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// Makes a rename in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Moves `from` to `to` durably, creating `to`'s directory.
fn publish(from: &Path, to: &Path) -> io::Result<()> {
    let dir = to.parent().expect("published paths have a parent");
    fs::create_dir_all(dir)?;
    fs::rename(from, to)?;
    sync_dir(dir)
}

/// Writes `data` to a new temp file and publishes it at `to`.
fn write_atomically(tmp: &Path, to: &Path, data: &[u8]) -> io::Result<()> {
    let mut f = File::create(tmp)?;
    let written = f.write_all(data).and_then(|()| f.sync_data());
    if let Err(e) = written.and_then(|()| publish(tmp, to)) {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    Ok(())
}

/// Writes `data` to a new temp file and links it at `to` unless `to` exists; the link
/// either creates `to` whole or fails, so racing creators agree on one winner. Flushed
/// to disk first when `durable` (else a power loss may forget it; a killed process
/// does not).
fn create_atomically(tmp: &Path, to: &Path, data: &[u8], durable: bool) -> io::Result<bool> {
    let mut f = File::create(tmp)?;
    let linked = f
        .write_all(data)
        .and_then(|()| if durable { f.sync_data() } else { Ok(()) })
        .and_then(|()| fs::create_dir_all(to.parent().expect("keys have a parent")))
        .and_then(|()| match fs::hard_link(tmp, to) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        });
    let _ = fs::remove_file(tmp);
    let created = linked?;
    if created && durable {
        sync_dir(to.parent().expect("keys have a parent"))?;
    }
    Ok(created)
}

/// Flushes a file being written from a second thread, so that writing into the page
/// cache and writing back to disk proceed together. Durability still comes from the
/// final `sync_data`; this only makes it quick. The thread starts at the first nudge,
/// so a small upload (most chunks, most layers) spawns none.
struct Flusher {
    file: File,
    running: Option<(
        std::sync::mpsc::SyncSender<()>,
        std::thread::JoinHandle<io::Result<()>>,
    )>,
}

impl Flusher {
    fn new(file: File) -> Flusher {
        Flusher {
            file,
            running: None,
        }
    }

    /// Asks for a flush; a no-op while one is already pending.
    fn nudge(&mut self) -> io::Result<()> {
        if self.running.is_none() {
            let (nudges, rx) = std::sync::mpsc::sync_channel::<()>(1);
            let file = self.file.try_clone()?;
            let thread = std::thread::Builder::new()
                .name("berth-flush".into())
                .spawn(move || {
                    while rx.recv().is_ok() {
                        file.sync_data()?;
                    }
                    Ok(())
                })?;
            self.running = Some((nudges, thread));
        }
        if let Some((nudges, _)) = &self.running {
            let _ = nudges.try_send(());
        }
        Ok(())
    }

    fn stop(self) -> io::Result<()> {
        let Some((nudges, thread)) = self.running else {
            return Ok(());
        };
        drop(nudges);
        thread
            .join()
            .map_err(|_| io::Error::other("flush thread panicked"))?
    }
}

#[async_trait]
impl Storage for FsStorage {
    async fn check(&self) -> Result<()> {
        let tmp = self.root.join("tmp");
        blocking(move || {
            // Writable, not merely present: a read-only remount must fail readiness.
            let probe = tmp.join(format!(".ready-{}", uuid::Uuid::new_v4()));
            File::create(&probe)?;
            fs::remove_file(&probe)
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        let path = self.key_path(key)?;
        blocking(move || not_found_as_none(fs::read(path)).map(|o| o.map(Bytes::from))).await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Bytes>>> {
        let paths = keys
            .iter()
            .map(|k| self.key_path(k))
            .collect::<io::Result<Vec<_>>>()?;
        blocking(move || {
            paths
                .into_iter()
                .map(|p| not_found_as_none(fs::read(p)).map(|o| o.map(Bytes::from)))
                .collect()
        })
        .await
    }

    async fn put(&self, key: &str, value: Bytes) -> Result<()> {
        let (tmp, path) = (self.tmp_path(), self.key_path(key)?);
        blocking(move || write_atomically(&tmp, &path, &value)).await
    }

    async fn put_if_absent(&self, key: &str, value: Bytes) -> Result<bool> {
        let (tmp, path) = (self.tmp_path(), self.key_path(key)?);
        blocking(move || create_atomically(&tmp, &path, &value, true)).await
    }

    async fn touch_if_absent(&self, key: &str, value: Bytes) -> Result<bool> {
        let (tmp, path) = (self.tmp_path(), self.key_path(key)?);
        blocking(move || create_atomically(&tmp, &path, &value, false)).await
    }

    async fn touch(&self, key: &str, value: Bytes) -> Result<()> {
        let (tmp, path) = (self.tmp_path(), self.key_path(key)?);
        blocking(move || {
            // Renamed, so a reader sees the old value or the new one; not synced (see
            // the trait).
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir)?;
            }
            fs::write(&tmp, &value)?;
            fs::rename(&tmp, &path)
        })
        .await
    }

    async fn move_appending(&self, from: &str, to: &str, _: Bytes, tail: Bytes) -> Result<()> {
        let (from, to) = (self.key_path(from)?, self.key_path(to)?);
        blocking(move || {
            // One `write` of a small tail: a killed process leaves it whole or absent.
            match fs::OpenOptions::new().append(true).open(&from) {
                Ok(mut f) => f.write_all(&tail)?,
                // Moved meanwhile by another process: the move is made.
                Err(e) if is_missing(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
            if let Some(dir) = to.parent() {
                fs::create_dir_all(dir)?;
            }
            match fs::rename(&from, &to) {
                Err(e) if !is_missing(&e) => Err(e),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn modified(&self, key: &str) -> Result<Option<jiff::Timestamp>> {
        let path = self.key_path(key)?;
        blocking(move || not_found_as_none(fs::metadata(path).and_then(|m| m.modified())))
            .await?
            .map(store_time)
            .transpose()
    }

    async fn blob_stat(&self, digest: &Digest) -> Result<Option<super::BlobStat>> {
        let path = self.blob_path(digest);
        let Some(meta) = blocking(move || not_found_as_none(fs::metadata(path))).await? else {
            return Ok(None);
        };
        Ok(Some(super::BlobStat {
            len: meta.len(),
            modified: store_time(meta.modified()?)?,
        }))
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let path = self.key_path(key)?;
        blocking(move || match fs::remove_file(path) {
            Ok(()) => Ok(true),
            // A directory is a prefix of other keys, not an object.
            Err(e) if is_missing(&e) || e.kind() == io::ErrorKind::IsADirectory => Ok(false),
            Err(e) => Err(e),
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let path = self.key_path(prefix)?;
        blocking(move || listing::read(&path)).await
    }

    async fn list_shared(&self, prefix: &str) -> Result<Arc<Vec<String>>> {
        let path = self.key_path(prefix)?;
        let listings = self.listings.clone();
        blocking(move || listings.list(&path)).await
    }

    async fn blob_len(&self, digest: &Digest) -> Result<Option<u64>> {
        let path = self.blob_path(digest);
        blocking(move || not_found_as_none(fs::metadata(path)).map(|m| m.map(|m| m.len()))).await
    }

    async fn blob_read(&self, digest: &Digest, range: Range<u64>) -> Result<Option<ByteStream>> {
        let path = self.blob_path(digest);
        let first = read::buffer(range.end - range.start);
        blocking(move || match not_found_as_none(File::open(path))? {
            None => Ok(None),
            Some(f) => open_chunks(f, range, first).map(Some),
        })
        .await
    }

    async fn blob_put(&self, digest: &Digest, data: Bytes) -> Result<()> {
        let (tmp, path) = (self.tmp_path(), self.blob_path(digest));
        blocking(move || {
            if path.exists() {
                return Ok(());
            }
            write_atomically(&tmp, &path, &data)
        })
        .await
    }

    async fn blob_delete(&self, digest: &Digest) -> Result<bool> {
        let path = self.blob_path(digest);
        blocking(move || not_found_as_none(fs::remove_file(path)).map(|o| o.is_some())).await
    }

    async fn blob_list(&self) -> Result<Vec<Digest>> {
        let root = self.root.join("blobs");
        blocking(move || {
            let mut out = Vec::new();
            for alg in ["sha256", "sha512"] {
                let Some(prefixes) = not_found_as_none(fs::read_dir(root.join(alg)))? else {
                    continue;
                };
                for prefix in prefixes {
                    for blob in fs::read_dir(prefix?.path())? {
                        let name = blob?.file_name();
                        if let Ok(d) = format!("{alg}:{}", name.to_string_lossy()).parse() {
                            out.push(d);
                        }
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn upload_write(
        &self,
        id: &str,
        _progress: &UploadProgress,
        offset: u64,
        mut body: ByteStream,
    ) -> Result<(u64, UploadProgress)> {
        let path = self.upload_data(id)?;
        // The body is received on this task while a blocking thread writes it, so that
        // reading, hashing (done by the caller's stream) and writing overlap.
        let (tx, mut rx) = mpsc::channel::<Bytes>(16);
        let aborted = Arc::new(AtomicBool::new(false));
        let writer_aborted = aborted.clone();
        let writer = tokio::task::spawn_blocking(move || -> io::Result<u64> {
            fs::create_dir_all(path.parent().expect("upload dir"))?;
            let mut f = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&path)?;
            let have = f.metadata()?.len();
            if have < offset {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("upload data has {have} bytes, its state records {offset}"),
                ));
            }
            // Bytes past `offset` belong to a request that never completed.
            f.set_len(offset)?;
            f.seek(SeekFrom::Start(offset))?;
            let mut flusher = Flusher::new(f.try_clone()?);
            let mut written = 0u64;
            while let Some(chunk) = rx.blocking_recv() {
                f.write_all(&chunk)?;
                written += chunk.len() as u64;
                if written % FLUSH_EVERY < chunk.len() as u64 {
                    flusher.nudge()?;
                }
            }
            flusher.stop()?;
            if !writer_aborted.load(Ordering::Acquire) {
                f.sync_data()?;
            }
            Ok(offset + written)
        });
        // The body's buffers are gathered into writes of up to WRITE_BUFFER here, on the
        // runtime thread rather than the writer's, for the allocator's sake (see
        // `read::buffer`).
        let mut gathered = Gathered::default();
        let mut body_error = None;
        while let Some(item) = body.next().await {
            match item {
                Ok(chunk) => {
                    if let Some(full) = gathered.add(chunk)
                        && tx.send(full).await.is_err()
                    {
                        break; // the writer failed; its error is reported below
                    }
                }
                Err(e) => {
                    body_error = Some(e);
                    aborted.store(true, Ordering::Release);
                    break;
                }
            }
        }
        if body_error.is_none()
            && let Some(rest) = gathered.rest()
        {
            // (A failed writer's error is reported below.)
            let _ = tx.send(rest).await;
        }
        drop(tx);
        let written = writer
            .await
            .map_err(|e| io::Error::other(format!("upload writer failed: {e}")))?;
        match body_error {
            Some(e) => Err(StorageError::Body(e)),
            None => written
                .map(|len| (len, UploadProgress::default()))
                .map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => StorageError::Corrupt(e.to_string()),
                    _ => StorageError::Io(e),
                }),
        }
    }

    async fn upload_read(
        &self,
        id: &str,
        _progress: &UploadProgress,
        len: u64,
    ) -> Result<ByteStream> {
        let path = self.upload_data(id)?;
        let first = read::buffer(len);
        blocking(move || open_chunks(File::open(path)?, 0..len, first)).await
    }

    async fn upload_commit(
        &self,
        id: &str,
        _progress: &UploadProgress,
        len: u64,
        digest: &Digest,
    ) -> Result<()> {
        let data = self.upload_data(id)?;
        let blob = self.blob_path(digest);
        blocking(move || {
            if blob.exists() {
                // Content-addressed: the stored copy has these very bytes.
                return not_found_as_none(fs::remove_file(&data)).map(drop);
            }
            if len == 0 && !data.exists() {
                fs::create_dir_all(data.parent().expect("upload dir"))?;
                File::create(&data)?;
            }
            let f = OpenOptions::new().write(true).open(&data)?;
            if f.metadata()?.len() != len {
                f.set_len(len)?;
                f.sync_data()?;
            }
            drop(f);
            publish(&data, &blob)
        })
        .await
    }

    async fn upload_delete(&self, id: &str) -> Result<()> {
        let dir = self.key_path(&format!("uploads/{id}"))?;
        blocking(move || not_found_as_none(fs::remove_dir_all(dir)).map(drop)).await
    }
}

mod listing;
mod read;
#[cfg(test)]
mod tests;
