//! Finding every repository and package in storage, by listing the key layout of
//! `content::keys`: a repository is a directory under `repositories/` holding `_manifests`
//! or `_layers`, a package one under `packages/` holding its record or version data.
//! Nested names (`acme/app/release`) are directories inside their parent's.

use std::collections::{BTreeSet, HashSet};

use bytes::Bytes;
use futures_util::TryStreamExt;

use crate::content::{Result, keys};
use crate::oci::digest::Digest;
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

/// A manifest's link (`content::manifests` writes it).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ManifestLink {
    pub(super) media_type: String,
}

/// The fields of a deleted version's record the maintenance work needs
/// (`packages::versions` writes it).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeletedRecord {
    digest: String,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    deleted_at: Option<String>,
}

/// A deleted version, kept for its restore.
pub(super) struct DeletedVersion {
    pub(super) digest: Digest,
    pub(super) media_type: Option<String>,
    pub(super) deleted_at: Option<String>,
}

/// Every deleted version's record at `repo`'s name (of every package id), by key; an
/// unreadable one as the reason.
pub(super) async fn deleted_versions(
    storage: &dyn Storage,
    repo: &RepoName,
) -> Result<Vec<(String, Result<DeletedVersion, String>)>> {
    let mut out = Vec::new();
    for id in package_ids(storage, repo).await? {
        let dir = keys::package_versions(repo, id, true);
        for entry in storage.list(&dir).await? {
            let key = format!("{dir}/{entry}");
            let Some(raw) = storage.get(&key).await? else {
                continue;
            };
            let version = serde_json::from_slice::<DeletedRecord>(&raw)
                .map_err(|e| e.to_string())
                .and_then(|r| {
                    Ok(DeletedVersion {
                        digest: r.digest.parse().map_err(|_| "no digest".to_owned())?,
                        media_type: r.media_type,
                        deleted_at: r.deleted_at,
                    })
                });
            out.push((key, version));
        }
    }
    Ok(out)
}

/// The blobs linked into `repo`.
pub(super) async fn layer_links(storage: &dyn Storage, repo: &RepoName) -> Result<HashSet<Digest>> {
    let mut out = HashSet::new();
    for alg in keys::ALGORITHMS {
        for name in storage.list(&keys::layer_links(repo, alg)).await? {
            out.extend(keys::linked_digest(alg, &name));
        }
    }
    Ok(out)
}

/// The package ids that have kept data at `repo`'s name (`_pkg-<id>` directories).
async fn package_ids(storage: &dyn Storage, repo: &RepoName) -> Result<Vec<u64>> {
    let entries = storage.list(&keys::package_root(repo)).await?;
    Ok(entries
        .iter()
        .filter_map(|c| keys::package_of_entry(c))
        .collect())
}

pub(super) async fn read_blob(storage: &dyn Storage, digest: &Digest) -> Result<Option<Bytes>> {
    let Some(len) = storage.blob_len(digest).await? else {
        return Ok(None);
    };
    let Some(stream) = storage.blob_read(digest, 0..len).await? else {
        return Ok(None);
    };
    let chunks: Vec<Bytes> = stream
        .try_collect()
        .await
        .map_err(crate::storage::StorageError::Io)?;
    Ok(Some(chunks.concat().into()))
}
