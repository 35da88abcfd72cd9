//! What the package versions are made of in a repository: its manifest links and the
//! tags pointing at them. A version's delete unlinks both and keeps the bytes (they are
//! content-addressed), so a restore links them back. The version records themselves
//! (ids, times) are `packages/`'.

use std::collections::HashMap;

use super::error::{Error, Result};
use super::manifests::ManifestLink;
use super::{Content, corrupt, keys};
use crate::oci::digest::Digest;
use crate::oci::manifest::Manifest;
use crate::oci::reference::{Reference, RepoName, Tag};

/// What unlinking a manifest took away, for its restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unlinked {
    pub media_type: String,
    pub tags: Vec<Tag>,
}

impl Content {
    /// The digests of every manifest linked in `repo`.
    pub async fn manifest_digests(&self, repo: &RepoName) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for alg in keys::ALGORITHMS {
            for name in self.storage.list(&keys::manifest_links(repo, alg)).await? {
                out.extend(keys::linked_digest(alg, &name));
            }
        }
        Ok(out)
    }

    /// Every tag of `repo`, by the digest it points at (each tag possibly from the cache,
    /// as a pull by tag reads it).
    pub async fn tags_by_digest(&self, repo: &RepoName) -> Result<HashMap<Digest, Vec<String>>> {
        let mut out: HashMap<Digest, Vec<String>> = HashMap::new();
        let mut names = (*self.cached_list(&keys::tags(repo)).await?).clone();
        names.sort_unstable();
        for name in names {
            let Ok(tag) = Tag::parse(&name) else { continue };
            if let Some(raw) = self.cached_get(&keys::tag(repo, &tag)).await? {
                let digest: Digest = std::str::from_utf8(&raw)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| corrupt(format!("tag {repo}:{tag}")))?;
                out.entry(digest).or_default().push(name);
            }
        }
        Ok(out)
    }

    /// The manifests of `repo` that list `digest` as a child (the indexes that need it).
    pub async fn parents_of(&self, repo: &RepoName, digest: &Digest) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for candidate in self.manifest_digests(repo).await? {
            if candidate == *digest {
                continue;
            }
            let bytes = self.manifest_bytes(&candidate).await?;
            let Ok(m) = Manifest::parse(None, &bytes) else {
                continue;
            };
            if m.manifests.iter().any(|child| child.digest == *digest) {
                out.push(candidate);
            }
        }
        Ok(out)
    }

    /// Unlinks manifest `digest` from `repo`, with every tag that points at it (and its
    /// referrers entry): it answers `MANIFEST_UNKNOWN` from now on. `None` when it was
    /// not linked.
    pub async fn manifest_unlink(
        &self,
        repo: &RepoName,
        digest: &Digest,
    ) -> Result<Option<Unlinked>> {
        let link_key = keys::manifest_link(repo, digest);
        let Some(link) = self.storage.get(&link_key).await? else {
            return Ok(None);
        };
        let link: ManifestLink = serde_json::from_slice(&link).map_err(corrupt)?;
        let subject = Manifest::parse(None, &self.manifest_bytes(digest).await?)
            .ok()
            .and_then(|m| m.subject);
        let tags = self.tags_pointing_at(repo, digest).await?;
        for tag in &tags {
            self.tag_delete(repo, tag).await?;
        }
        if let Some(subject) = subject {
            self.storage
                .delete(&keys::referrer(repo, &subject.digest, digest))
                .await?;
        }
        self.cached_delete(&link_key).await?;
        Ok(Some(Unlinked {
            media_type: link.media_type,
            tags,
        }))
    }

    /// Links manifest `digest` back into `repo` (its bytes must still be stored), with
    /// those of `tags` that no other manifest took meanwhile; returns the tags restored.
    pub async fn manifest_relink(
        &self,
        repo: &RepoName,
        digest: &Digest,
        unlinked: &Unlinked,
    ) -> Result<Vec<Tag>> {
        if self.storage.blob_len(digest).await?.is_none() {
            return Err(Error::ManifestUnknown);
        }
        let bytes = self.manifest_bytes(digest).await?;
        let mut free = Vec::new();
        for tag in &unlinked.tags {
            if self.tag_get_fresh(repo, tag).await?.is_none() {
                free.push(tag.clone());
            }
        }
        self.manifest_put(
            repo,
            &Reference::Digest(digest.clone()),
            Some(&unlinked.media_type),
            bytes,
            &free,
        )
        .await?;
        Ok(free)
    }
}
