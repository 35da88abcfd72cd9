//! Manifests: validated on push, stored as blobs, linked into the repository with their
//! media type, tagged, and indexed by subject for the referrers API.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::{Content, corrupt, keys};
use crate::oci::digest::Digest;
use crate::oci::manifest::{Descriptor, Manifest, ManifestKind};
use crate::oci::reference::{Reference, RepoName, Tag};

/// A manifest as served.
pub struct StoredManifest {
    pub digest: Digest,
    pub media_type: String,
    pub bytes: Bytes,
}

/// What a manifest push stored.
pub struct PutManifest {
    pub digest: Digest,
    pub subject: Option<Digest>,
    pub manifest: Manifest,
}

/// A manifest's link in a repository.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ManifestLink {
    pub(super) media_type: String,
}

impl Content {
    /// Resolves `reference` in `repo` and reads the manifest.
    pub async fn manifest_get(
        &self,
        repo: &RepoName,
        reference: &Reference,
    ) -> Result<StoredManifest> {
        let digest = match reference {
            Reference::Digest(d) => d.clone(),
            Reference::Tag(t) => self.tag_get(repo, t).await?.ok_or(Error::ManifestUnknown)?,
        };
        let link = self
            .cached_get(&keys::manifest_link(repo, &digest))
            .await?
            .ok_or(Error::ManifestUnknown)?;
        let link: ManifestLink = serde_json::from_slice(&link).map_err(corrupt)?;
        let bytes = self.manifest_bytes(&digest).await?;
        Ok(StoredManifest {
            digest,
            media_type: link.media_type,
            bytes,
        })
    }

    /// The bytes of manifest `digest`, from memory when they were read before.
    pub(super) async fn manifest_bytes(&self, digest: &Digest) -> Result<Bytes> {
        self.stored_manifest_bytes(digest)
            .await?
            .ok_or_else(|| corrupt(format!("manifest {digest} is linked but not stored")))
    }

    /// The bytes of manifest `digest` if they are stored, or were when last read: the
    /// collection's mark reads through here, where bytes that went since only keep more.
    pub(crate) async fn stored_manifest_bytes(&self, digest: &Digest) -> Result<Option<Bytes>> {
        if let Some(b) = self.manifest_bytes.get(digest) {
            return Ok(Some(b));
        }
        let Some(len) = self.storage.blob_len(digest).await? else {
            return Ok(None);
        };
        let Some(mut stream) = self.storage.blob_read(digest, 0..len).await? else {
            return Ok(None);
        };
        let mut buf = Vec::with_capacity(len as usize);
        while let Some(chunk) = futures_util::TryStreamExt::try_next(&mut stream)
            .await
            .map_err(crate::storage::StorageError::Io)?
        {
            buf.extend_from_slice(&chunk);
        }
        let bytes = Bytes::from(buf);
        self.manifest_bytes.insert(digest.clone(), bytes.clone());
        Ok(Some(bytes))
    }

    /// Validates and stores a manifest pushed as `reference`, plus any `extra_tags`.
    pub async fn manifest_put(
        &self,
        repo: &RepoName,
        reference: &Reference,
        content_type: Option<&str>,
        body: Bytes,
        extra_tags: &[Tag],
    ) -> Result<PutManifest> {
        if body.len() as u64 > self.limits.max_manifest_bytes {
            return Err(Error::TooLarge(format!(
                "manifest is {} bytes; this registry's limit is {}",
                body.len(),
                self.limits.max_manifest_bytes
            )));
        }
        let manifest = Manifest::parse(content_type, &body)?;
        let digest = match reference {
            Reference::Digest(claimed) => {
                let actual = Digest::of(claimed.algorithm(), &body);
                if actual != *claimed {
                    return Err(Error::DigestInvalid(format!(
                        "manifest content has digest {actual}, not {claimed}"
                    )));
                }
                actual
            }
            Reference::Tag(_) => Digest::sha256_of(&body),
        };
        self.check_references(repo, &manifest).await?;

        self.claim_for_store(&digest, &[], Some(repo)).await?;
        self.storage.blob_put(&digest, body.clone()).await?;
        self.manifest_bytes.insert(digest.clone(), body.clone());
        let link = ManifestLink {
            media_type: manifest.media_type.clone(),
        };
        let link = serde_json::to_vec(&link).expect("link serializes");
        self.cached_put(&keys::manifest_link(repo, &digest), Bytes::from(link))
            .await?;
        if let Some(subject) = &manifest.subject {
            let descriptor = Descriptor {
                media_type: manifest.media_type.clone(),
                digest: digest.clone(),
                size: body.len() as u64,
                artifact_type: manifest.effective_artifact_type().map(str::to_owned),
                annotations: (!manifest.annotations.is_empty())
                    .then(|| manifest.annotations.clone()),
                urls: None,
                platform: None,
                data: None,
            };
            let json = serde_json::to_vec(&descriptor).expect("descriptor serializes");
            self.storage
                .put(
                    &keys::referrer(repo, &subject.digest, &digest),
                    Bytes::from(json),
                )
                .await?;
        }
        let tags = match reference {
            Reference::Tag(t) => std::iter::once(t).chain(extra_tags).collect::<Vec<_>>(),
            Reference::Digest(_) => extra_tags.iter().collect(),
        };
        for tag in tags {
            self.tag_set(repo, tag, &digest).await?;
        }
        Ok(PutManifest {
            digest,
            subject: manifest.subject.as_ref().map(|s| s.digest.clone()),
            manifest,
        })
    }

    /// Every blob the manifest needs must already be in the repository; an index's
    /// children must be manifests in it.
    ///
    /// Each is claimed against garbage collection and checked in storage, not in a
    /// cache (`collect.rs`), concurrently: a manifest must never be stored naming a blob
    /// that a collection is removing.
    async fn check_references(&self, repo: &RepoName, manifest: &Manifest) -> Result<()> {
        let blobs = manifest.required_blobs().map(|b| (&b.digest, false));
        let children = (manifest.kind == ManifestKind::Index)
            .then_some(&manifest.manifests)
            .into_iter()
            .flatten()
            .map(|c| (&c.digest, true));
        let checks = blobs.chain(children).map(|(digest, child)| async move {
            let there = self.blob_len_claimed(repo, digest).await?.is_some()
                && (!child || self.exists(&keys::manifest_link(repo, digest)).await?);
            if there {
                Ok(())
            } else {
                Err(Error::ManifestBlobUnknown(digest.clone()))
            }
        });
        futures_util::future::try_join_all(checks).await?;
        Ok(())
    }

    /// Deletes a tag, or a manifest with every tag that points at it.
    pub async fn manifest_delete(&self, repo: &RepoName, reference: &Reference) -> Result<()> {
        let digest = match reference {
            Reference::Tag(t) => {
                return if self.tag_delete(repo, t).await? {
                    Ok(())
                } else {
                    Err(Error::ManifestUnknown)
                };
            }
            Reference::Digest(d) => d,
        };
        let link = keys::manifest_link(repo, digest);
        if !self.exists(&link).await? {
            return Err(Error::ManifestUnknown);
        }
        // Its subject, to drop it from the referrers index.
        let subject = Manifest::parse(None, &self.manifest_bytes(digest).await?)
            .ok()
            .and_then(|m| m.subject);
        for tag in self.tags_pointing_at(repo, digest).await? {
            self.tag_delete(repo, &tag).await?;
        }
        if let Some(subject) = subject {
            self.storage
                .delete(&keys::referrer(repo, &subject.digest, digest))
                .await?;
        }
        self.cached_delete(&link).await?;
        Ok(())
    }
}
