//! Whole-repository operations: counting its content, and deleting it.

use super::{Content, keys};
use crate::error::Result;
use crate::oci::digest::Digest;
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
        for alg in ["sha256", "sha512"] {
            let dir = format!("{}/_manifests/revisions/{alg}", keys::repository(repo));
            versions += self.storage.list(&dir).await?.len() as u64;
        }
        let mut size = 0;
        for alg in ["sha256", "sha512"] {
            let dir = format!("{}/_layers/{alg}", keys::repository(repo));
            for hex in self.storage.list(&dir).await? {
                if let Ok(d) = format!("{alg}:{hex}").parse::<Digest>()
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

    /// Removes every tag, manifest, blob link and referrer of `repo` (and its package
    /// record). Blob bytes stay for garbage collection: other repositories may link them.
    pub async fn delete_repository(&self, repo: &RepoName) -> Result<()> {
        let mut stack = vec![keys::repository(repo)];
        while let Some(prefix) = stack.pop() {
            for name in self.storage.list(&prefix).await? {
                let key = format!("{prefix}/{name}");
                // Children of a nested repository (`repo/sub`) are another package's.
                if !name.starts_with('_') && prefix == keys::repository(repo) {
                    continue;
                }
                if !self.storage.list(&key).await?.is_empty() {
                    stack.push(key);
                } else {
                    self.storage.delete(&key).await?;
                }
            }
        }
        self.storage.delete(&keys::package_record(repo)).await?;
        Ok(())
    }
}
