//! What the package versions are made of in a repository: its manifest links and the
//! tags pointing at them. A version's delete unlinks both and keeps the bytes (they are
//! content-addressed), so a restore links them back. The version records themselves
//! (ids, times) are `packages/`'.

use std::collections::HashMap;

use super::error::{Error, Result};

/// A repository's tags by the digest each points at.
pub type TagMap = std::sync::Arc<HashMap<Digest, Vec<String>>>;
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
    /// as a pull by tag reads it). Kept with the tags directory's listing it was read
    /// under: while the listing answers with that same listing (on the filesystem, the
    /// directory's mtime is unchanged, so no tag was written, moved or removed; on S3,
    /// within the staleness bound), the map stands, and a page of versions costs no
    /// read per tag.
    pub async fn tags_by_digest(&self, repo: &RepoName) -> Result<TagMap> {
        let listing = self.cached_list(&keys::tags(repo)).await?;
        if let Some((seen, map)) = self.tag_maps.get(repo.as_str())
            && std::sync::Arc::ptr_eq(&seen, &listing)
        {
            return Ok(map);
        }
        let mut out: HashMap<Digest, Vec<String>> = HashMap::new();
        let mut names = (*listing).clone();
        names.sort_unstable();
        let tags: Vec<Tag> = names.iter().filter_map(|n| Tag::parse(n).ok()).collect();
        let links: Vec<String> = tags.iter().map(|t| keys::tag(repo, t)).collect();
        let read = self.cached_get_many(&links).await?;
        for (tag, raw) in tags.into_iter().zip(read) {
            let name = tag.to_string();
            if let Some(raw) = raw {
                let digest: Digest = std::str::from_utf8(&raw)
                    .ok()
                    .and_then(|s| s.trim().parse().ok())
                    .ok_or_else(|| corrupt(format!("tag {repo}:{tag}")))?;
                out.entry(digest).or_default().push(name);
            }
        }
        let map = std::sync::Arc::new(out);
        self.tag_maps
            .insert(repo.to_string(), (listing, map.clone()));
        Ok(map)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use bytes::Bytes;

    use super::*;
    use crate::storage::Storage;
    use crate::storage::fs::FsStorage;

    fn digest(n: u8) -> Digest {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
            .parse()
            .unwrap()
    }

    #[tokio::test]
    async fn a_kept_tag_map_follows_every_tag_move() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Arc::new(FsStorage::open(dir.path()).unwrap());
        let content = Content::new(storage.clone(), Default::default());
        let repo = RepoName::parse("alice/app").unwrap();
        let tag = |t: &str| keys::tag(&repo, &Tag::parse(t).unwrap());
        // Written straight to storage, as another process would.
        let put = |key: String, d: Digest| {
            let storage = storage.clone();
            async move { storage.put(&key, Bytes::from(d.to_string())).await.unwrap() }
        };
        put(tag("v1"), digest(1)).await;
        put(tag("latest"), digest(1)).await;

        // Once the directory is quiet, the map is kept: the same map twice.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (a, b) = (
                content.tags_by_digest(&repo).await.unwrap(),
                content.tags_by_digest(&repo).await.unwrap(),
            );
            assert_eq!(a[&digest(1)], ["latest", "v1"]);
            if Arc::ptr_eq(&a, &b) {
                break;
            }
            assert!(Instant::now() < deadline, "the map is never kept");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // A tag moved by another process shows at once.
        put(tag("latest"), digest(2)).await;
        let moved = content.tags_by_digest(&repo).await.unwrap();
        assert_eq!(moved[&digest(1)], ["v1"]);
        assert_eq!(moved[&digest(2)], ["latest"]);
    }
}
