//! Whole-repository operations: whether one exists, and deleting one (destructive).

use super::error::Result;
use super::{Content, keys};
use crate::oci::reference::RepoName;

impl Content {
    /// Whether anything (a blob, a manifest) was ever pushed to `repo`.
    pub async fn repository_exists(&self, repo: &RepoName) -> Result<bool> {
        let children = self.storage.list(&keys::repository(repo)).await?;
        Ok(children.iter().any(|c| keys::is_own_child(c)))
    }

    /// Removes every tag, manifest, blob link and referrer of `repo` (and its package
    /// record). Blob bytes stay for garbage collection: other repositories may link them.
    pub async fn delete_repository(&self, repo: &RepoName) -> Result<()> {
        let root = keys::repository(repo);
        let mut stack = vec![root.clone()];
        while let Some(prefix) = stack.pop() {
            for name in self.storage.list(&prefix).await? {
                // Children of a nested repository (`repo/sub`) are another package's.
                if prefix == root && !keys::is_own_child(&name) {
                    continue;
                }
                let key = format!("{prefix}/{name}");
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
