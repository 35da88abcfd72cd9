//! Tags: small pointer objects from a tag name to a manifest digest.

use bytes::Bytes;

use super::error::{Error, Result};
use super::{Content, corrupt, keys};
use crate::oci::digest::Digest;
use crate::oci::reference::{RepoName, Tag};

impl Content {
    /// What `tag` points at, as of at most the staleness bound ago (now, if this
    /// process wrote it).
    pub async fn tag_get(&self, repo: &RepoName, tag: &Tag) -> Result<Option<Digest>> {
        parse_tag(self.cached_get(&keys::tag(repo, tag)).await?)
    }

    /// What `tag` points at, read from storage (for changes that depend on it).
    pub(super) async fn tag_get_fresh(&self, repo: &RepoName, tag: &Tag) -> Result<Option<Digest>> {
        parse_tag(self.storage.get(&keys::tag(repo, tag)).await?)
    }

    pub(super) async fn tag_set(&self, repo: &RepoName, tag: &Tag, digest: &Digest) -> Result<()> {
        let value = Bytes::from(digest.to_string());
        self.cached_put(&keys::tag(repo, tag), value).await
    }

    pub(super) async fn tag_delete(&self, repo: &RepoName, tag: &Tag) -> Result<bool> {
        self.cached_delete(&keys::tag(repo, tag)).await
    }

    /// The tags of `repo` in lexical order, after `last`, at most `n`.
    pub async fn tags_list(
        &self,
        repo: &RepoName,
        last: Option<&str>,
        n: Option<usize>,
    ) -> Result<Vec<String>> {
        if !self.repository_exists(repo).await? {
            return Err(Error::NameUnknown);
        }
        let mut tags = self.storage.list(&keys::tags(repo)).await?;
        tags.sort_unstable();
        let start = last.map_or(0, |l| tags.partition_point(|t| t.as_str() <= l));
        let end = n.map_or(tags.len(), |n| tags.len().min(start.saturating_add(n)));
        Ok(tags
            .get(start..end)
            .map(<[String]>::to_vec)
            .unwrap_or_default())
    }

    /// The tags pointing at `digest`, read from storage.
    pub async fn tags_pointing_at(&self, repo: &RepoName, digest: &Digest) -> Result<Vec<Tag>> {
        let mut out = Vec::new();
        for name in self.storage.list(&keys::tags(repo)).await? {
            let Ok(tag) = Tag::parse(&name) else { continue };
            if self.tag_get_fresh(repo, &tag).await?.as_ref() == Some(digest) {
                out.push(tag);
            }
        }
        Ok(out)
    }
}

fn parse_tag(raw: Option<Bytes>) -> Result<Option<Digest>> {
    let Some(raw) = raw else { return Ok(None) };
    let text = std::str::from_utf8(&raw).map_err(corrupt)?;
    Ok(Some(text.trim().parse().map_err(corrupt)?))
}
