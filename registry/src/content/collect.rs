//! The request side of online garbage collection (`maintenance::gc` is the other).
//!
//! A request that is about to rely on a blob existing (a HEAD that tells a client it
//! need not upload, a mount, a manifest's references, an upload finishing onto bytes
//! that are already stored, a restore) first *claims* it:
//!
//! 1. it rewrites the blob's reference marker (`_berth/gc/refs/…`) with a fresh nonce;
//! 2. it reads the blob's tombstone, if a collection wrote one; when the tombstone
//!    concerns this request (the bytes, or the link in this repository) it creates the
//!    tombstone's verdict as `kept`, unless the collection created it first as
//!    `deleting`;
//! 3. only then does it check, in storage and not in a cache, that the blob is there.
//!
//! A collection writes the tombstone, reads the marker again, and removes the blob only
//! if the marker is unchanged and it created the verdict. Storage is linearizable, so
//! either the request's tombstone read came after the tombstone (and the verdict decides
//! between them), or its marker write came before the collection's second read (and the
//! collection backs off). No lock, lease or clock is needed for that; only the grace
//! period must outlast a request, since a marker older than it is what makes a blob a
//! candidate at all.

use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::{Content, keys};
use crate::oci::digest::Digest;
use crate::oci::reference::RepoName;
use crate::storage::StorageError;

/// The verdict a request writes when it keeps a blob.
pub const KEPT: &[u8] = b"kept";
/// The verdict a collection writes when it goes on to remove a blob.
pub const DELETING: &[u8] = b"deleting";

/// How long a request waits for a collection that won a blob to finish removing it,
/// before the request stores the blob afresh. Removal is a few deletes, so this is
/// only reached when the collection died (the next run finishes its work).
const AWAIT_REMOVAL: Duration = Duration::from_secs(30);

/// A collection's intent to remove a blob, or some repositories' links to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    /// The run that wrote it (names its verdict).
    pub run: String,
    /// Whether the blob's bytes go (nothing live or restorable reaches them).
    pub blob: bool,
    /// Repositories whose link to the blob goes.
    #[serde(default)]
    pub links: Vec<String>,
    /// The reference marker as the collection read it when it chose the blob.
    #[serde(default)]
    pub marker: Option<String>,
}

impl Tombstone {
    /// Whether removing what this names takes away the blob as a request in `repos`
    /// (or, with none, the bytes alone) would use it.
    fn concerns(&self, repos: &[&RepoName]) -> bool {
        self.blob
            || repos
                .iter()
                .any(|r| self.links.iter().any(|l| l == r.as_str()))
    }
}

/// How a claim came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Claim {
    /// No collection removes it now: what storage holds stays.
    Held,
    /// A collection is removing it: treat it as absent.
    Gone,
}

impl Content {
    /// Claims blob `digest`, and its links in `repos`, for a request about to rely on
    /// them (see the module's comment). After [`Claim::Held`] the caller still checks
    /// that they exist, in storage.
    pub(super) async fn claim(&self, digest: &Digest, repos: &[&RepoName]) -> Result<Claim> {
        self.touch_marker(digest).await?;
        self.judge(
            &keys::gc_tombstone(digest),
            |t| t.concerns(repos),
            |run| keys::gc_verdict(digest, run),
        )
        .await
    }

    async fn touch_marker(&self, digest: &Digest) -> Result<()> {
        let nonce = uuid::Uuid::new_v4().to_string();
        Ok(self
            .storage
            .touch(&keys::gc_ref(digest), Bytes::from(nonce))
            .await?)
    }

    /// Steps 2 of a claim, against the tombstone at `key` if `concerns` it.
    async fn judge(
        &self,
        key: &str,
        concerns: impl FnOnce(&Tombstone) -> bool,
        verdict_of: impl FnOnce(&str) -> String,
    ) -> Result<Claim> {
        let Some(raw) = self.storage.get(key).await? else {
            return Ok(Claim::Held);
        };
        // A collection acts only on a tombstone it can read.
        let Ok(tombstone) = serde_json::from_slice::<Tombstone>(&raw) else {
            return Ok(Claim::Held);
        };
        if !concerns(&tombstone) {
            return Ok(Claim::Held);
        }
        let verdict = verdict_of(&tombstone.run);
        if self
            .storage
            .put_if_absent(&verdict, Bytes::from_static(KEPT))
            .await?
        {
            return Ok(Claim::Held);
        }
        // No verdict left means the collection finished: storage says what remains.
        Ok(match self.storage.get(&verdict).await?.as_deref() {
            Some(DELETING) => Claim::Gone,
            _ => Claim::Held,
        })
    }

    /// Claims blob `digest` for storing it (an upload's bytes, a manifest's), waiting
    /// out a collection that is removing it, so that the store afterwards is not undone.
    /// With `version_in`, the manifest's version there is claimed too, against
    /// retention deleting it (a push that tags it, a restore): the push then links it
    /// again after the delete rather than being undone by it. One marker write serves
    /// both.
    pub(super) async fn claim_for_store(
        &self,
        digest: &Digest,
        repos: &[&RepoName],
        version_in: Option<&RepoName>,
    ) -> Result<()> {
        let deadline = tokio::time::Instant::now() + AWAIT_REMOVAL;
        let collection = keys::gc_tombstone(digest);
        let retention = version_in.map(|repo| (repo, keys::retention_tombstone(repo, digest)));
        loop {
            self.touch_marker(digest).await?;
            let mut waiting = Vec::new();
            let claim = self
                .judge(
                    &collection,
                    |t| t.concerns(repos),
                    |run| keys::gc_verdict(digest, run),
                )
                .await?;
            if claim == Claim::Gone {
                waiting.push(collection.as_str());
            }
            if let Some((repo, key)) = &retention {
                let claim = self
                    .judge(
                        key,
                        |_| true,
                        |run| keys::retention_verdict(repo, digest, run),
                    )
                    .await?;
                if claim == Claim::Gone {
                    waiting.push(key.as_str());
                }
            }
            if waiting.is_empty() {
                break;
            }
            // The winner is removing it: wait for its tombstone to go, then claim again.
            for key in waiting {
                while self.storage.get(key).await?.is_some() {
                    if tokio::time::Instant::now() >= deadline {
                        return Err(Error::Storage(StorageError::Unavailable(format!(
                            "{digest} is being removed by a garbage collection or retention run \
                             that has not finished; retry after the next run"
                        ))));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        // A backend's cached view of the blob is refreshed from the store.
        self.storage.blob_stat(digest).await?;
        Ok(())
    }

    /// The length of blob `digest` in `repo`, for a request that relies on it: claimed,
    /// then read from storage rather than a cache.
    pub async fn blob_len_claimed(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
        // Absent blobs need no claim (a push asks about each layer before uploading it).
        if self.storage.blob_stat(digest).await?.is_none()
            || self.claim(digest, &[repo]).await? == Claim::Gone
        {
            return Ok(None);
        }
        if !self.exists(&keys::layer_link(repo, digest)).await?
            && !self.exists(&keys::manifest_link(repo, digest)).await?
        {
            return Ok(None);
        }
        Ok(self.storage.blob_stat(digest).await?.map(|s| s.len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tombstone_concerns_its_bytes_or_the_links_it_names() {
        let app = RepoName::parse("acme/app").unwrap();
        let other = RepoName::parse("acme/other").unwrap();
        let links = Tombstone {
            run: "r".into(),
            blob: false,
            links: vec!["acme/app".into()],
            marker: None,
        };
        assert!(links.concerns(&[&app]));
        assert!(!links.concerns(&[&other]));
        assert!(!links.concerns(&[]), "the bytes stay");
        let bytes = Tombstone {
            blob: true,
            ..links
        };
        assert!(bytes.concerns(&[]) && bytes.concerns(&[&other]));
    }
}
