//! Counting what a repository holds.

use super::error::Result;
use super::{Content, keys};
use crate::oci::reference::RepoName;

/// What a repository holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RepositoryStats {
    pub tags: u64,
    /// Manifests (GHCR's package versions).
    pub versions: u64,
    /// Bytes of linked blobs, each counted once.
    pub size: u64,
}

impl Content {
    pub async fn repository_stats(&self, repo: &RepoName) -> Result<RepositoryStats> {
        let tags = self.storage.list(&keys::tags(repo)).await?.len() as u64;
        let mut versions = 0;
        for alg in keys::ALGORITHMS {
            let dir = keys::manifest_links(repo, alg);
            versions += self.storage.list(&dir).await?.len() as u64;
        }
        let mut size = 0;
        for alg in keys::ALGORITHMS {
            for name in self.storage.list(&keys::layer_links(repo, alg)).await? {
                if let Some(d) = keys::linked_digest(alg, &name)
                    && let Some(len) = self.storage.blob_len(&d).await?
                {
                    size += len;
                }
            }
        }
        Ok(RepositoryStats {
            tags,
            versions,
            size,
        })
    }
}
