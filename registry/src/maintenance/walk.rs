//! Finding every repository and package in storage, by listing the key layout of
//! `content::keys`: a repository is a directory under `repositories/` holding `_manifests`
//! or `_layers`, a package one under `packages/` holding its record or version data.
//! Nested names (`acme/app/release`) are directories inside their parent's.

use std::collections::BTreeSet;

use crate::content::{Result, keys};
use crate::oci::reference::RepoName;
use crate::storage::Storage;

/// Every repository or package name in `storage`, in order.
pub async fn names(storage: &dyn Storage) -> Result<Vec<RepoName>> {
    let mut found = BTreeSet::new();
    for (root, marks) in [
        ("repositories", &["_manifests", "_layers"][..]),
        ("packages", &["_record", "_deleted-packages"][..]),
    ] {
        let mut pending = vec![String::new()];
        while let Some(name) = pending.pop() {
            let dir = if name.is_empty() {
                root.to_owned()
            } else {
                format!("{root}/{name}")
            };
            let children = storage.list(&dir).await?;
            let is_one = children
                .iter()
                .any(|c| marks.contains(&c.as_str()) || keys::package_of_entry(c).is_some());
            if is_one && let Ok(repo) = RepoName::parse(&name) {
                found.insert(repo);
            }
            for child in children.into_iter().filter(|c| !c.starts_with('_')) {
                pending.push(if name.is_empty() {
                    child
                } else {
                    format!("{name}/{child}")
                });
            }
        }
    }
    Ok(found.into_iter().collect())
}
