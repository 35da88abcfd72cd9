//! Blobs as a repository sees them: linked into the repository, stored once by digest.

use std::ops::Range;

use bytes::Bytes;

use super::error::{Error, Result};
use super::{BlobContent, Content, keys};
use crate::oci::digest::Digest;
use crate::oci::reference::RepoName;

impl Content {
    /// The length of blob `digest` if `repo` holds it. Manifests count as blobs too, as
    /// distribution serves them.
    pub async fn blob_len(&self, repo: &RepoName, digest: &Digest) -> Result<Option<u64>> {
        if !self.cached_exists(&keys::layer_link(repo, digest)).await?
            && !self
                .cached_exists(&keys::manifest_link(repo, digest))
                .await?
        {
            return Ok(None);
        }
        Ok(self.storage.blob_len(digest).await?)
    }

    /// Opens blob `digest` in `repo`; `range` is resolved by the caller from the length.
    pub async fn blob_open(
        &self,
        repo: &RepoName,
        digest: &Digest,
        range: impl FnOnce(u64) -> Result<Range<u64>>,
    ) -> Result<BlobContent> {
        let len = self
            .blob_len(repo, digest)
            .await?
            .ok_or(Error::BlobUnknown)?;
        let range = range(len)?;
        let body = self
            .storage
            .blob_read(digest, range)
            .await?
            .ok_or(Error::BlobUnknown)?;
        Ok(BlobContent { len, body })
    }

    /// The whole of a small blob in `repo` (an image config), if it is there.
    pub async fn blob_bytes(&self, repo: &RepoName, digest: &Digest) -> Result<Option<Bytes>> {
        let Some(len) = self.blob_len(repo, digest).await? else {
            return Ok(None);
        };
        let Some(mut stream) = self.storage.blob_read(digest, 0..len).await? else {
            return Ok(None);
        };
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        while let Some(chunk) = futures_util::TryStreamExt::try_next(&mut stream)
            .await
            .map_err(crate::storage::StorageError::Io)?
        {
            buf.extend_from_slice(&chunk);
        }
        Ok(Some(Bytes::from(buf)))
    }

    /// A URL to redirect a GET of blob `digest` in `repo` to, when the backend serves
    /// blobs itself (S3 with `redirect: true`).
    pub async fn blob_redirect(&self, repo: &RepoName, digest: &Digest) -> Result<Option<String>> {
        // Asked first: backends that never redirect answer at once.
        let Some(url) = self.storage.blob_url(digest).await? else {
            return Ok(None);
        };
        if self.blob_len(repo, digest).await?.is_none() {
            return Err(Error::BlobUnknown);
        }
        Ok(Some(url))
    }

    /// Unlinks blob `digest` from `repo`. Its bytes stay until garbage collection, since
    /// other repositories may link them.
    pub async fn blob_delete(&self, repo: &RepoName, digest: &Digest) -> Result<()> {
        if self.cached_delete(&keys::layer_link(repo, digest)).await? {
            Ok(())
        } else {
            Err(Error::BlobUnknown)
        }
    }

    /// Links blob `digest` from repository `from` into `repo`; `false` if `from` does not
    /// hold it (the caller then starts an ordinary upload).
    pub async fn blob_mount(
        &self,
        repo: &RepoName,
        from: &RepoName,
        digest: &Digest,
    ) -> Result<bool> {
        // Claimed for both: a collection may be sweeping `from`'s link, or an old
        // unused one in `repo` that this mount is about to make used.
        if self.claim(digest, &[from, repo]).await? == super::collect::Claim::Gone
            || !self.exists(&keys::layer_link(from, digest)).await?
                && !self.exists(&keys::manifest_link(from, digest)).await?
            || self.storage.blob_stat(digest).await?.is_none()
        {
            return Ok(false);
        }
        self.link_blob(repo, digest).await?;
        Ok(true)
    }

    pub(super) async fn link_blob(&self, repo: &RepoName, digest: &Digest) -> Result<()> {
        let key = keys::layer_link(repo, digest);
        if !self.exists(&key).await? {
            self.cached_put(&key, Bytes::new()).await?;
        }
        Ok(())
    }
}
