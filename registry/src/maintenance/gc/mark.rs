//! Garbage collection's mark: what in the store nothing live or restorable reaches.
//!
//! The roots are every manifest linked in a repository (tagged or not: an untagged
//! manifest is still a package version until it is deleted, as on GHCR) and every
//! deleted version inside its restore window. From each: its own bytes, its config and
//! layers, and for an index its children (a deleted index's children may be deleted
//! too, and its restore needs them). A referrer is a linked manifest, so it is a root;
//! it does not keep its subject. What the roots do not reach is garbage: blobs, a
//! repository's links to blobs none of its manifests use, and deleted versions past
//! their window.
//!
//! What a push makes while the mark runs may be missed by it; those references are
//! claimed (`content::collect`), which is what keeps them, not the mark.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::content::{Content, Result, keys};
use crate::maintenance::walk::{self, ManifestLink, read_blob};
use crate::oci::digest::Digest;
use crate::oci::manifest::Manifest;
use crate::oci::reference::RepoName;
use crate::storage::Storage;

/// What the roots do not reach.
#[derive(Debug, Default)]
pub struct Marked {
    /// Blobs nothing reaches, with their sizes.
    pub blobs: Vec<(Digest, u64)>,
    /// Links of a repository to blobs none of its manifests use.
    pub links: Vec<(RepoName, Digest)>,
    /// Deleted versions past their restore window (their record's key).
    pub expired_versions: Vec<String>,
    /// Blobs kept, and their bytes.
    pub kept_blobs: u64,
    pub kept_bytes: u64,
}

impl Marked {
    pub fn reclaimed_bytes(&self) -> u64 {
        self.blobs.iter().map(|(_, len)| len).sum()
    }
}

/// The mark of the store behind `content`, with deleted versions restorable for
/// `restore_window` from their deletion, at `now`.
pub async fn mark(
    content: &Content,
    restore_window: Duration,
    now: jiff::Timestamp,
) -> Result<Marked> {
    let storage = content.storage().as_ref();
    let mut mark = Mark {
        storage,
        live: HashSet::new(),
        plan: Marked::default(),
    };
    for repo in walk::names(storage).await? {
        mark.repository(&repo, restore_window, now).await?;
    }
    let mut blobs = storage.blob_list_sizes().await?;
    blobs.sort_unstable_by_key(|(d, _)| d.to_string());
    for (blob, len) in blobs {
        if mark.live.contains(&blob) {
            mark.plan.kept_blobs += 1;
            mark.plan.kept_bytes += len;
        } else {
            mark.plan.blobs.push((blob, len));
        }
    }
    Ok(mark.plan)
}

struct Mark<'a> {
    storage: &'a dyn Storage,
    live: HashSet<Digest>,
    plan: Marked,
}

impl Mark<'_> {
    async fn repository(
        &mut self,
        repo: &RepoName,
        window: Duration,
        now: jiff::Timestamp,
    ) -> Result<()> {
        // What this repository's own manifests use, to judge its links.
        let mut used = HashSet::new();
        let mut roots: HashMap<Digest, Option<String>> = HashMap::new();
        for alg in keys::ALGORITHMS {
            for name in self.storage.list(&keys::manifest_links(repo, alg)).await? {
                let Some(digest) = keys::linked_digest(alg, &name) else {
                    continue;
                };
                let link = self
                    .storage
                    .get(&keys::manifest_link(repo, &digest))
                    .await?;
                let media_type = link
                    .and_then(|l| serde_json::from_slice::<ManifestLink>(&l).ok())
                    .map(|l| l.media_type);
                roots.insert(digest, media_type);
            }
        }
        for (key, version) in walk::deleted_versions(self.storage, repo).await? {
            // An unreadable record is kept, and so is what it might name: fsck reports
            // it, and a collection never guesses.
            let Ok(version) = version else { continue };
            if expired(version.deleted_at.as_deref(), window, now) {
                self.plan.expired_versions.push(key);
            } else {
                roots.entry(version.digest).or_insert(version.media_type);
            }
        }
        for (digest, media_type) in roots {
            self.manifest(&digest, media_type.as_deref(), &mut used)
                .await?;
        }
        for d in walk::layer_links(self.storage, repo).await? {
            if !used.contains(&d) {
                self.plan.links.push((repo.clone(), d));
            }
        }
        Ok(())
    }

    /// Marks manifest `digest` and everything it reaches, adding its blobs to `used`.
    async fn manifest(
        &mut self,
        digest: &Digest,
        media_type: Option<&str>,
        used: &mut HashSet<Digest>,
    ) -> Result<()> {
        let mut pending = vec![(digest.clone(), media_type.map(str::to_owned))];
        let mut seen = HashSet::new();
        while let Some((digest, media_type)) = pending.pop() {
            if !seen.insert(digest.clone()) {
                continue;
            }
            self.live.insert(digest.clone());
            let Some(bytes) = read_blob(self.storage, &digest).await? else {
                continue;
            };
            let Ok(manifest) = Manifest::parse(media_type.as_deref(), &bytes) else {
                continue;
            };
            for blob in manifest.required_blobs() {
                self.live.insert(blob.digest.clone());
                used.insert(blob.digest.clone());
            }
            for child in &manifest.manifests {
                pending.push((child.digest.clone(), Some(child.media_type.clone())));
            }
        }
        Ok(())
    }
}

/// Whether a version deleted at `deleted_at` is past `window` at `now`. A record
/// without a readable time is never expired.
fn expired(deleted_at: Option<&str>, window: Duration, now: jiff::Timestamp) -> bool {
    let Some(at) = deleted_at.and_then(|t| t.parse::<jiff::Timestamp>().ok()) else {
        return false;
    };
    now.duration_since(at).as_secs().max(0) as u64 > window.as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_expires_only_past_its_window() {
        let now: jiff::Timestamp = "2026-12-02T00:00:00Z".parse().unwrap();
        let day = Duration::from_secs(86_400);
        assert!(!expired(Some("2026-12-01T00:00:01Z"), day, now));
        assert!(
            !expired(Some("2026-12-01T00:00:00Z"), day, now),
            "the last second is inside"
        );
        assert!(expired(Some("2026-11-30T23:59:59Z"), day, now));
        assert!(!expired(None, Duration::ZERO, now), "no time, no expiry");
        assert!(!expired(Some("yesterday"), Duration::ZERO, now));
    }
}
