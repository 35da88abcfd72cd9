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

use futures_util::{FutureExt, StreamExt, TryStreamExt};

use crate::content::{Content, Result, keys};
use crate::maintenance::walk::{self, ManifestLink};
use crate::oci::digest::Digest;
use crate::oci::manifest::Manifest;
use crate::oci::reference::RepoName;

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
/// `restore_window` from their deletion, at `now`, reading `parallel` keys at once.
pub async fn mark(
    content: &Content,
    restore_window: Duration,
    parallel: usize,
    now: jiff::Timestamp,
) -> Result<Marked> {
    let storage = content.storage().as_ref();
    // A few repositories side by side, each with its own reads side by side.
    let marks: Vec<RepoMark> = futures_util::stream::iter(walk::names(storage).await?)
        .map(|repo| {
            async move { repository(content, &repo, restore_window, parallel, now).await }.boxed()
        })
        .buffered(parallel.div_ceil(REPOSITORY_KEYS))
        .try_collect()
        .await?;
    let mut plan = Marked::default();
    let mut live = HashSet::new();
    for mark in marks {
        live.extend(mark.live);
        plan.links.extend(mark.links);
        plan.expired_versions.extend(mark.expired_versions);
    }
    let mut blobs = storage.blob_list_sizes().await?;
    blobs.sort_unstable_by_key(|(d, _)| d.to_string());
    for (blob, len) in blobs {
        if live.contains(&blob) {
            plan.kept_blobs += 1;
            plan.kept_bytes += len;
        } else {
            plan.blobs.push((blob, len));
        }
    }
    Ok(plan)
}

/// Repositories are marked `parallel / REPOSITORY_KEYS` at once (at least one), each
/// reading up to `parallel` keys at once: most repositories have few manifests.
const REPOSITORY_KEYS: usize = 8;

/// What one repository's roots reach, and what of it is garbage.
struct RepoMark {
    live: HashSet<Digest>,
    links: Vec<(RepoName, Digest)>,
    expired_versions: Vec<String>,
}

async fn repository(
    content: &Content,
    repo: &RepoName,
    window: Duration,
    parallel: usize,
    now: jiff::Timestamp,
) -> Result<RepoMark> {
    let storage = content.storage().as_ref();
    let mut out = RepoMark {
        live: HashSet::new(),
        links: Vec::new(),
        expired_versions: Vec::new(),
    };
    let linked = content.manifest_digests(repo).await?;
    let media_types = super::each(parallel, linked.iter().cloned(), |digest| {
        async move {
            let link = storage.get(&keys::manifest_link(repo, &digest)).await?;
            Ok(link
                .and_then(|l| serde_json::from_slice::<ManifestLink>(&l).ok())
                .map(|l| l.media_type))
        }
        .boxed()
    })
    .await?;
    let mut roots: HashMap<Digest, Option<String>> = linked.into_iter().zip(media_types).collect();
    for (key, version) in walk::deleted_versions(storage, repo).await? {
        // An unreadable record is kept, and so is what it might name: fsck reports
        // it, and a collection never guesses.
        let Ok(version) = version else { continue };
        if expired(version.deleted_at.as_deref(), window, now) {
            out.expired_versions.push(key);
        } else {
            roots.entry(version.digest).or_insert(version.media_type);
        }
    }
    // What this repository's own manifests use, to judge its links: the roots and
    // what they reach, a level of index children at a time.
    let mut used = HashSet::new();
    // Manifests read, apart from `live`: a manifest's digest may also be another's layer.
    let mut seen = HashSet::new();
    let mut level: Vec<(Digest, Option<String>)> = roots.into_iter().collect();
    while !level.is_empty() {
        level.retain(|(digest, _)| seen.insert(digest.clone()));
        out.live
            .extend(level.iter().map(|(digest, _)| digest.clone()));
        let manifests = super::each(parallel, level, |(digest, media_type)| {
            async move {
                let Some(bytes) = content.stored_manifest_bytes(&digest).await? else {
                    return Ok(None);
                };
                Ok(Manifest::parse(media_type.as_deref(), &bytes).ok())
            }
            .boxed()
        })
        .await?;
        let mut next = Vec::new();
        for manifest in manifests.into_iter().flatten() {
            for blob in manifest.required_blobs() {
                out.live.insert(blob.digest.clone());
                used.insert(blob.digest.clone());
            }
            for child in &manifest.manifests {
                next.push((child.digest.clone(), Some(child.media_type.clone())));
            }
        }
        level = next;
    }
    for d in walk::layer_links(storage, repo).await? {
        if !used.contains(&d) {
            out.links.push((repo.clone(), d));
        }
    }
    Ok(out)
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
