//! Upload sessions. A session's bytes live in storage and its state (offset, SHA-256
//! state, start time, the backend's progress) is a small object written after the bytes
//! are durable, so any process can continue a session, and a crash mid-request loses
//! only that request: the next write starts at the recorded offset and discards the torn
//! tail. Each request names the session with the signed state of its `Location`
//! (`upload_state.rs`), checked before anything is read.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sha2::digest::Digest as _;
use sha2::digest::common::hazmat::{SerializableState, SerializedState};

use super::error::{Error, Result};
use super::upload_state::SignedState;
use super::{Content, corrupt, keys};
use crate::oci::digest::{Algorithm, Digest, DigestHasher};
use crate::oci::range::ChunkRange;
use crate::oci::reference::RepoName;
use crate::storage::{ByteStream, StorageError, UploadProgress};

/// An upload session as the client sees it.
#[derive(Clone)]
pub struct UploadSession {
    pub id: String,
    /// Bytes received so far.
    pub offset: u64,
    /// The signed state for the session's `Location` (`?_state=`), once signed.
    pub state: String,
    started_at_ms: u64,
    sha256: Sha256,
    progress: UploadProgress,
}

/// An upload request's body and what its headers declare about it.
pub struct UploadBody {
    pub stream: ByteStream,
    pub content_length: Option<u64>,
    pub range: Option<ChunkRange>,
}

impl UploadBody {
    /// A request that carries no bytes.
    pub fn is_empty(&self) -> bool {
        self.content_length == Some(0) && self.range.is_none()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredSession {
    repo: String,
    offset: u64,
    started_at_ms: u64,
    sha256_state: String,
    /// What the storage backend needs to continue (S3: the multipart upload's parts).
    #[serde(default, skip_serializing_if = "UploadProgress::is_empty")]
    storage: UploadProgress,
}

/// The error a body stream is cut with once it passes the layer limit.
#[derive(Debug, thiserror::Error)]
#[error("layer exceeds the size limit")]
struct LayerTooLarge;

/// What went through a body stream.
#[derive(Default)]
struct Tally {
    sha256: Sha256,
    received: u64,
}

/// Checks what a body's headers declare, before a byte of it is read: `Content-Range`
/// and `Content-Length` must agree, and the session (`offset` bytes so far) must stay
/// within `max`. Returns how many bytes the body may still bring.
fn check_declared(body: &UploadBody, offset: u64, max: u64) -> Result<u64> {
    if let Some(range) = body.range
        && body.content_length.is_some_and(|n| n != range.byte_count())
    {
        return Err(Error::UploadInvalid(format!(
            "Content-Range covers {} bytes but Content-Length is {}",
            range.byte_count(),
            body.content_length.unwrap_or_default()
        )));
    }
    let declared = body.range.map(|r| r.byte_count()).or(body.content_length);
    if declared.is_some_and(|n| offset.saturating_add(n) > max) {
        return Err(too_large(max));
    }
    Ok(max - offset.min(max))
}

/// Checks what streaming a body did: storage holds exactly the `offset` bytes before it
/// and the `received` ones (`stored` in all), and a `Content-Range` covered exactly those.
fn check_received(
    range: Option<ChunkRange>,
    offset: u64,
    received: u64,
    stored: u64,
) -> Result<()> {
    if stored != offset + received {
        return Err(corrupt(format!(
            "upload stored {stored} bytes, expected {}",
            offset + received
        )));
    }
    if let Some(range) = range
        && received != range.byte_count()
    {
        return Err(Error::UploadInvalid(format!(
            "Content-Range covers {} bytes but the body had {received}",
            range.byte_count()
        )));
    }
    Ok(())
}

/// A blob over the per-layer limit `max`.
fn too_large(max: u64) -> Error {
    Error::TooLarge(format!(
        "blob exceeds this registry's limit of {max} bytes per layer"
    ))
}

/// Whether a session started at `started_at_ms` has outlived `timeout` at `now_ms`
/// (milliseconds, so no session dies early and sub-second timeouts work).
fn expired(started_at_ms: u64, timeout: std::time::Duration, now_ms: u64) -> bool {
    u128::from(now_ms.saturating_sub(started_at_ms)) >= timeout.as_millis()
}

impl UploadSession {
    /// What the session's `Location` vouches for.
    fn signed(&self) -> SignedState {
        SignedState {
            offset: self.offset,
            started_at_ms: self.started_at_ms,
        }
    }
}

/// Whether a request body turns out to hold no bytes (it is consumed).
async fn carries_nothing(mut stream: ByteStream) -> Result<bool> {
    while let Some(chunk) = stream.next().await {
        if !chunk.map_err(StorageError::Body)?.is_empty() {
            return Ok(false);
        }
    }
    Ok(true)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl Content {
    /// Starts a session for `repo`.
    pub async fn upload_start(&self, repo: &RepoName) -> Result<UploadSession> {
        let mut session = UploadSession {
            id: uuid::Uuid::new_v4().to_string(),
            offset: 0,
            state: String::new(),
            started_at_ms: now_ms(),
            sha256: Sha256::new(),
            progress: UploadProgress::default(),
        };
        self.save_session(repo, &mut session).await?;
        Ok(session)
    }

    /// A live session of `repo`, named by its id and signed `state`.
    pub async fn upload_status(
        &self,
        repo: &RepoName,
        id: &str,
        state: Option<&str>,
    ) -> Result<UploadSession> {
        let (mut session, _) = self.open_session(repo, id, state).await?;
        self.sign(repo, &mut session).await?;
        Ok(session)
    }

    /// Appends a chunk (with `Content-Range`) or a stream (without) to a session.
    pub async fn upload_append(
        &self,
        repo: &RepoName,
        id: &str,
        state: Option<&str>,
        body: UploadBody,
    ) -> Result<UploadSession> {
        let _turn = self.upload_locks.lock(id).await;
        let (mut session, signed) = self.open_session(repo, id, state).await?;
        self.write_body(&mut session, signed, body).await?;
        self.save_session(repo, &mut session).await?;
        Ok(session)
    }

    /// Finishes a session with an optional last chunk: verifies `digest`, publishes the
    /// blob and links it into `repo`. Returns the blob's length.
    pub async fn upload_finish(
        &self,
        repo: &RepoName,
        id: &str,
        state: Option<&str>,
        digest: &Digest,
        body: UploadBody,
    ) -> Result<u64> {
        let _turn = self.upload_locks.lock(id).await;
        let (session, signed) = self.open_session(repo, id, state).await?;
        self.finish(repo, session, signed, digest, body).await
    }

    async fn finish(
        &self,
        repo: &RepoName,
        mut session: UploadSession,
        signed: SignedState,
        digest: &Digest,
        body: UploadBody,
    ) -> Result<u64> {
        let id = session.id.clone();
        if !body.is_empty() {
            self.write_body(&mut session, signed, body).await?;
        }
        let actual = match digest.algorithm() {
            Algorithm::Sha256 => Digest::from_sha256_output(&session.sha256.clone().finalize()),
            // Sessions keep SHA-256 state only; other algorithms re-read the bytes once.
            algorithm => self.rehash(&session, algorithm).await?,
        };
        if actual != *digest {
            self.storage.upload_delete(&id).await?;
            return Err(Error::DigestInvalid(format!(
                "the uploaded content has digest {actual}, not {digest}; the upload was discarded"
            )));
        }
        // Stored bytes may be a collection's candidate: claimed first (`collect.rs`).
        self.claim_for_store(digest, &[repo], None).await?;
        // Publishing the blob and linking it into `repo` are independent writes, each
        // durable before the client hears 201; overlapping them saves a round of flushes
        // per push. A link that outlives a failed publish (or a crash between the two)
        // names a blob that is not stored, which reads as unknown, never as wrong bytes,
        // and a retried PUT publishes it.
        let (published, linked) = futures_util::future::join(
            self.storage
                .upload_commit(&id, &session.progress, session.offset, digest),
            self.link_blob(repo, digest),
        )
        .await;
        published?;
        linked?;
        self.storage.upload_delete(&id).await?;
        Ok(session.offset)
    }

    /// A whole blob in one request. Refused up front when the declared length is over
    /// the limit; nothing is left behind when it fails.
    pub async fn upload_monolithic(
        &self,
        repo: &RepoName,
        digest: &Digest,
        body: UploadBody,
    ) -> Result<u64> {
        let declared = body.range.map(|r| r.byte_count()).or(body.content_length);
        if declared.is_some_and(|n| n > self.limits.max_layer_bytes) {
            return Err(too_large(self.limits.max_layer_bytes));
        }
        let session = self.upload_start(repo).await?;
        let id = session.id.clone();
        let signed = session.signed();
        let result = self.finish(repo, session, signed, digest, body).await;
        if result.is_err() {
            let _ = self.storage.upload_delete(&id).await;
        }
        result
    }

    /// Cancels a session and removes its bytes.
    pub async fn upload_cancel(
        &self,
        repo: &RepoName,
        id: &str,
        state: Option<&str>,
    ) -> Result<()> {
        let _turn = self.upload_locks.lock(id).await;
        self.open_session(repo, id, state).await?;
        Ok(self.storage.upload_delete(id).await?)
    }

    /// Removes sessions past the upload timeout, and upload data left without a state.
    /// Returns how many were removed.
    pub async fn purge_expired_uploads(&self) -> Result<usize> {
        let mut purged = 0;
        for id in self.storage.list(keys::uploads()).await? {
            let state = self.storage.get(&keys::upload_state(&id)).await?;
            let expired = match state.map(|s| serde_json::from_slice::<StoredSession>(&s)) {
                Some(Ok(s)) => self.is_expired(s.started_at_ms),
                // Unreadable or missing state: the session can never continue.
                _ => true,
            };
            if expired {
                let _turn = self.upload_locks.lock(&id).await;
                self.storage.upload_delete(&id).await?;
                purged += 1;
            }
        }
        Ok(purged)
    }

    fn is_expired(&self, started_at_ms: u64) -> bool {
        expired(started_at_ms, self.limits.upload_timeout, now_ms())
    }

    /// Checks a request's signed state, then loads the session it names.
    async fn open_session(
        &self,
        repo: &RepoName,
        id: &str,
        state: Option<&str>,
    ) -> Result<(UploadSession, SignedState)> {
        let key = self.upload_key().await?;
        let signed = state
            .and_then(|s| key.verify(repo.as_str(), id, s))
            .ok_or(Error::UploadUnknown)?;
        let session = self.load_session(repo, id).await?;
        if session.started_at_ms != signed.started_at_ms {
            return Err(Error::UploadUnknown);
        }
        Ok((session, signed))
    }

    /// Signs the session's current offset for its `Location`.
    async fn sign(&self, repo: &RepoName, session: &mut UploadSession) -> Result<()> {
        let key = self.upload_key().await?;
        session.state = key.sign(repo.as_str(), &session.id, session.signed());
        Ok(())
    }

    async fn load_session(&self, repo: &RepoName, id: &str) -> Result<UploadSession> {
        // Ids are UUIDs this registry made; anything else names no session (and must
        // never reach a storage key).
        let id = uuid::Uuid::parse_str(id)
            .map_err(|_| Error::UploadUnknown)?
            .to_string();
        let raw = self
            .storage
            .get(&keys::upload_state(&id))
            .await?
            .ok_or(Error::UploadUnknown)?;
        let stored: StoredSession = serde_json::from_slice(&raw).map_err(corrupt)?;
        if stored.repo != repo.as_str() {
            return Err(Error::UploadUnknown);
        }
        if self.is_expired(stored.started_at_ms) {
            self.storage.upload_delete(&id).await?;
            return Err(Error::UploadUnknown);
        }
        let state = base64::engine::general_purpose::STANDARD
            .decode(&stored.sha256_state)
            .map_err(corrupt)?;
        let state = SerializedState::<Sha256>::try_from(state.as_slice())
            .map_err(|_| corrupt("SHA-256 state has the wrong length"))?;
        let sha256 =
            Sha256::deserialize(&state).map_err(|_| corrupt("SHA-256 state is invalid"))?;
        Ok(UploadSession {
            id,
            offset: stored.offset,
            state: String::new(),
            started_at_ms: stored.started_at_ms,
            sha256,
            progress: stored.storage,
        })
    }

    /// Persists the session's state and signs it for the next `Location`.
    async fn save_session(&self, repo: &RepoName, s: &mut UploadSession) -> Result<()> {
        let stored = StoredSession {
            repo: repo.to_string(),
            offset: s.offset,
            started_at_ms: s.started_at_ms,
            sha256_state: base64::engine::general_purpose::STANDARD.encode(s.sha256.serialize()),
            storage: s.progress.clone(),
        };
        let json = serde_json::to_vec(&stored).expect("session state serializes");
        self.storage
            .put(&keys::upload_state(&s.id), Bytes::from(json))
            .await?;
        self.sign(repo, s).await
    }

    /// Streams `body` into the session's storage, hashing as it goes, within the limits.
    /// The bytes start where `Content-Range` says or, without one, where the client was
    /// last told the session ends (`signed`); either must be the session's true end.
    async fn write_body(
        &self,
        session: &mut UploadSession,
        signed: SignedState,
        body: UploadBody,
    ) -> Result<()> {
        let start = body.range.map_or(signed.offset, |r| r.start);
        if start != session.offset {
            if body.range.is_none() && carries_nothing(body.stream).await? {
                return Ok(()); // a body-less request with an old Location appends nothing
            }
            return Err(Error::ChunkOutOfOrder {
                got: start,
                offset: session.offset,
            });
        }
        let remaining = check_declared(&body, session.offset, self.limits.max_layer_bytes)?;
        let (stored, progress, tally) = self.stream_in(session, body.stream, remaining).await?;
        check_received(body.range, session.offset, tally.received, stored)?;
        session.offset = stored;
        session.sha256 = tally.sha256;
        session.progress = progress;
        Ok(())
    }

    /// Writes `stream` after the session's bytes, counting and hashing it; a stream of
    /// more than `remaining` bytes is cut off as too large. Returns the stored length,
    /// the backend's progress and what went through.
    async fn stream_in(
        &self,
        session: &UploadSession,
        stream: ByteStream,
        remaining: u64,
    ) -> Result<(u64, UploadProgress, Tally)> {
        let tally = Arc::new(Mutex::new(Tally {
            sha256: session.sha256.clone(),
            received: 0,
        }));
        let counter = tally.clone();
        let stream = stream
            .map(move |chunk| {
                let chunk = chunk?;
                let mut t = counter.lock().expect("tally poisoned");
                t.received += chunk.len() as u64;
                if t.received > remaining {
                    return Err(io::Error::other(LayerTooLarge));
                }
                t.sha256.update(&chunk);
                Ok(chunk)
            })
            .boxed();
        let written = self
            .storage
            .upload_write(&session.id, &session.progress, session.offset, stream)
            .await;
        let tally = std::mem::take(&mut *tally.lock().expect("tally poisoned"));
        match written {
            Err(StorageError::Body(e)) if e.get_ref().is_some_and(|e| e.is::<LayerTooLarge>()) => {
                Err(too_large(self.limits.max_layer_bytes))
            }
            other => {
                let (stored, progress) = other?;
                Ok((stored, progress, tally))
            }
        }
    }

    async fn rehash(&self, session: &UploadSession, algorithm: Algorithm) -> Result<Digest> {
        let mut hasher = DigestHasher::new(algorithm);
        if session.offset == 0 {
            return Ok(hasher.finish());
        }
        let mut stream = self
            .storage
            .upload_read(&session.id, &session.progress, session.offset)
            .await?;
        while let Some(chunk) = stream.try_next().await.map_err(StorageError::Io)? {
            hasher.update(&chunk);
        }
        Ok(hasher.finish())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::StreamExt as _;

    use super::*;

    fn body(content_length: Option<u64>, range: Option<(u64, u64)>) -> UploadBody {
        UploadBody {
            stream: futures_util::stream::empty().boxed(),
            content_length,
            range: range.map(|(start, end_inclusive)| ChunkRange {
                start,
                end_inclusive,
            }),
        }
    }

    #[test]
    fn declared_lengths_must_agree_and_fit_the_limit() {
        // Nothing declared: whatever is left under the limit.
        assert_eq!(check_declared(&body(None, None), 4, 10).unwrap(), 6);
        assert_eq!(check_declared(&body(Some(6), None), 4, 10).unwrap(), 6);
        assert_eq!(check_declared(&body(None, Some((4, 9))), 4, 10).unwrap(), 6);
        assert!(matches!(
            check_declared(&body(Some(7), None), 4, 10),
            Err(Error::TooLarge(_))
        ));
        assert!(matches!(
            check_declared(&body(None, Some((4, 10))), 4, 10),
            Err(Error::TooLarge(_))
        ));
        // Disagreeing headers are refused before the limit is looked at.
        let Err(Error::UploadInvalid(m)) = check_declared(&body(Some(3), Some((4, 5))), 4, 10)
        else {
            panic!("a length that disagrees with the range was accepted");
        };
        assert_eq!(m, "Content-Range covers 2 bytes but Content-Length is 3");
        // A session already past the limit (a lowered limit) has no room, and no overflow.
        assert_eq!(check_declared(&body(None, None), 12, 10).unwrap(), 0);
        assert!(matches!(
            check_declared(&body(Some(u64::MAX), None), 4, 10),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn received_bytes_must_be_stored_and_match_the_range() {
        assert!(check_received(None, 4, 6, 10).is_ok());
        let range = Some(ChunkRange {
            start: 4,
            end_inclusive: 9,
        });
        assert!(check_received(range, 4, 6, 10).is_ok());
        let Err(Error::UploadInvalid(m)) = check_received(range, 4, 5, 9) else {
            panic!("a short chunk was accepted");
        };
        assert_eq!(m, "Content-Range covers 6 bytes but the body had 5");
        assert!(matches!(
            check_received(None, 4, 6, 11),
            Err(Error::Storage(StorageError::Corrupt(_)))
        ));
    }

    #[test]
    fn sessions_live_exactly_their_timeout() {
        // Started at x.950 s and looked at in the next wall-clock second: 100 ms old.
        assert!(!expired(10_950, Duration::from_secs(1), 11_050));
        assert!(!expired(10_950, Duration::from_secs(1), 11_949));
        assert!(expired(10_950, Duration::from_secs(1), 11_950));
        // Sub-second timeouts work, rather than expiring at once.
        assert!(!expired(5_000, Duration::from_millis(800), 5_001));
        assert!(expired(5_000, Duration::from_millis(800), 5_800));
        // A clock that steps back never expires a session early.
        assert!(!expired(5_000, Duration::from_secs(1), 4_000));
    }
}
