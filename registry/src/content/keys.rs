//! The storage key layout of the registry's metadata. This file alone writes it out;
//! everything else asks for keys here.
//!
//! ```text
//! repositories/<name>/_layers/<alg>/<hex>                    blob linked into the repo
//! repositories/<name>/_manifests/revisions/<alg>/<hex>       manifest in the repo: {"mediaType"}
//! repositories/<name>/_manifests/tags/<tag>                  tag → digest
//! repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>     subject → referrer descriptor
//! packages/<owner>/<name>/_record                            the live package: record (id, metadata, times)
//! packages/<owner>/<name>/_deleted-packages/<id:016>         a deleted package, restorable
//! packages/<owner>/<name>/_pkg-<id:016>/_versions/<vid:016>  an active version of package <id>
//! packages/<owner>/<name>/_pkg-<id:016>/_deleted/<vid:016>   a deleted version, restorable
//! packages/<owner>/<name>/_pkg-<id:016>/_digests/<alg>-<hex> digest → version id
//! packages/<owner>/<name>/_pkg-<id:016>/_downloads/<process> one process's download counts
//! _berth/ids/<id>                                            an id, claimed once (create-if-absent)
//! _berth/next-id                                             where the next claim starts (a hint)
//! uploads/<id>/state                                         upload session state
//! _berth/upload-state-key                                    key of signed upload states
//! _berth/gc/clock                                            written by a collection to read the store's time
//! _berth/gc/refs/<alg>-<hex>                                 a blob's reference marker (a nonce, rewritten per reference)
//! _berth/gc/tombstones/<alg>-<hex>                           a collection's intent to remove a blob or its links
//! _berth/gc/verdicts/<alg>-<hex>-<run>                       who won that tombstone: "kept" or "deleting"
//! repositories/<name>/_retention/<alg>-<hex>[.<run>]         retention's tombstone for a version, and its verdict
//! ```
//!
//! Name components match `[a-z0-9]…`, so they never collide with the `_`-prefixed
//! directories. A package's versions, digests and downloads live under its id: a name
//! deleted and then pushed to again is a new package with a fresh directory, and the old
//! one's records stay apart (restorable, or left for garbage collection).

use crate::oci::digest::{Algorithm, Digest};
use crate::oci::reference::{RepoName, Tag};

/// Every algorithm a link directory may be named after.
pub const ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Sha512];

pub fn repository(repo: &RepoName) -> String {
    format!("repositories/{repo}")
}

/// Whether `child`, listed under [`repository`], is the repository's own (`_layers`,
/// `_manifests`, …) rather than a nested repository (`repo/sub`, another package).
pub fn is_own_child(child: &str) -> bool {
    child.starts_with('_')
}

/// The directory of `repo`'s blob links of `alg`, one entry per hex digest.
pub fn layer_links(repo: &RepoName, alg: Algorithm) -> String {
    format!("repositories/{repo}/_layers/{}", alg.as_str())
}

pub fn layer_link(repo: &RepoName, d: &Digest) -> String {
    format!("{}/{}", layer_links(repo, d.algorithm()), d.hex())
}

/// The directory of `repo`'s manifest links of `alg`, one entry per hex digest.
pub fn manifest_links(repo: &RepoName, alg: Algorithm) -> String {
    format!("repositories/{repo}/_manifests/revisions/{}", alg.as_str())
}

pub fn manifest_link(repo: &RepoName, d: &Digest) -> String {
    format!("{}/{}", manifest_links(repo, d.algorithm()), d.hex())
}

/// The digest an entry `name` of a [`layer_links`] or [`manifest_links`] directory of
/// `alg` stands for; `None` for a stray entry.
pub fn linked_digest(alg: Algorithm, name: &str) -> Option<Digest> {
    format!("{}:{name}", alg.as_str()).parse().ok()
}

pub fn tags(repo: &RepoName) -> String {
    format!("repositories/{repo}/_manifests/tags")
}

pub fn tag(repo: &RepoName, tag: &Tag) -> String {
    format!("repositories/{repo}/_manifests/tags/{tag}")
}

pub fn referrers(repo: &RepoName, subject: &Digest) -> String {
    format!(
        "repositories/{repo}/_referrers/{}/{}",
        subject.algorithm().as_str(),
        subject.hex()
    )
}

pub fn referrer(repo: &RepoName, subject: &Digest, referrer: &Digest) -> String {
    format!(
        "{}/{}-{}",
        referrers(repo, subject),
        referrer.algorithm().as_str(),
        referrer.hex()
    )
}

/// Everything kept about the packages at `repo`'s name: the live one's record, the
/// deleted ones, and each package id's directory (`_pkg-<id>`).
pub fn package_root(repo: &RepoName) -> String {
    format!("packages/{}/{}", repo.owner(), repo.package())
}

/// The package id of an entry of [`package_root`], if it is a package's directory.
pub fn package_of_entry(name: &str) -> Option<u64> {
    name.strip_prefix("_pkg-")?.parse().ok()
}

/// What the registry keeps about a package (metadata, times).
pub fn package_record(repo: &RepoName) -> String {
    format!("{}/_record", package_root(repo))
}

/// The deleted packages once at `repo`'s name, one entry per package id.
pub fn deleted_packages(repo: &RepoName) -> String {
    format!("{}/_deleted-packages", package_root(repo))
}

pub fn deleted_package(repo: &RepoName, id: u64) -> String {
    format!("{}/{}", deleted_packages(repo), version_entry(id))
}

/// Where package `id` (at `repo`'s name) keeps its versions, digests and downloads.
fn package_dir(repo: &RepoName, id: u64) -> String {
    format!("{}/_pkg-{id:016}", package_root(repo))
}

/// The directory of package `id`'s active (`deleted == false`) or deleted version
/// records, one entry per version id, zero-padded so that listing order is id order.
pub fn package_versions(repo: &RepoName, id: u64, deleted: bool) -> String {
    let dir = if deleted { "_deleted" } else { "_versions" };
    format!("{}/{dir}", package_dir(repo, id))
}

pub fn package_version(repo: &RepoName, id: u64, deleted: bool, version: u64) -> String {
    format!(
        "{}/{}",
        package_versions(repo, id, deleted),
        version_entry(version)
    )
}

/// The entry of id `id` in a [`package_versions`] or [`deleted_packages`] directory.
pub fn version_entry(id: u64) -> String {
    format!("{id:016}")
}

/// The id a [`package_versions`] or [`deleted_packages`] entry stands for; `None` for a
/// stray entry.
pub fn version_of_entry(name: &str) -> Option<u64> {
    (name.len() == 16).then(|| name.parse().ok()).flatten()
}

/// Which version id `digest` has in package `id`.
pub fn package_version_by_digest(repo: &RepoName, id: u64, digest: &Digest) -> String {
    format!(
        "{}/_digests/{}-{}",
        package_dir(repo, id),
        digest.algorithm().as_str(),
        digest.hex()
    )
}

/// The directory of package `id`'s download counts, one object per process that counted.
pub fn package_downloads_dir(repo: &RepoName, id: u64) -> String {
    format!("{}/_downloads", package_dir(repo, id))
}

pub fn package_downloads(repo: &RepoName, id: u64, process: &str) -> String {
    format!("{}/{process}", package_downloads_dir(repo, id))
}

/// Beside each process's counts, the same counts by UTC day (the last 31 days).
pub fn package_downloads_by_day_dir(repo: &RepoName, id: u64) -> String {
    format!("{}/_downloads-by-day", package_dir(repo, id))
}

pub fn package_downloads_by_day(repo: &RepoName, id: u64, process: &str) -> String {
    format!("{}/{process}", package_downloads_by_day_dir(repo, id))
}

/// An id claimed by whatever its value names; ids are never claimed twice.
pub fn id_claim(id: u64) -> String {
    format!("_berth/ids/{id}")
}

/// Where the next id claim should start: a hint, since claims alone keep ids unique.
pub fn next_id() -> &'static str {
    "_berth/next-id"
}

pub fn uploads() -> &'static str {
    "uploads"
}

pub fn upload_state(id: &str) -> String {
    format!("uploads/{id}/state")
}

/// Where the upload-state key is kept when none is configured.
pub fn upload_state_key() -> &'static str {
    "_berth/upload-state-key"
}

/// Webhook deliveries not yet made, by name (`MILLIS-UUID`, so a listing is in the order
/// the events happened).
pub fn webhook_pending_dir() -> &'static str {
    "_berth/webhooks/pending"
}

pub fn webhook_pending(name: &str) -> String {
    format!("{}/{name}", webhook_pending_dir())
}

/// A replica's claim on delivering one pending event, until the time it names.
pub fn webhook_claim(name: &str) -> String {
    format!("_berth/webhooks/claims/{name}")
}

/// Deliveries made (or given up on), with the receiver's answer, per hook.
pub fn webhook_deliveries_dir() -> &'static str {
    "_berth/webhooks/deliveries"
}

pub fn webhook_deliveries(hook: u64) -> String {
    format!("{}/{hook}", webhook_deliveries_dir())
}

pub fn webhook_delivery(hook: u64, name: &str) -> String {
    format!("{}/{name}", webhook_deliveries(hook))
}

/// Written by each garbage collection to learn the store's time from its own clock.
pub fn gc_clock() -> &'static str {
    "_berth/gc/clock"
}

pub fn gc_refs() -> &'static str {
    "_berth/gc/refs"
}

/// Blob `d`'s reference marker: rewritten before any request relies on `d` existing.
pub fn gc_ref(d: &Digest) -> String {
    format!("{}/{}-{}", gc_refs(), d.algorithm().as_str(), d.hex())
}

pub fn gc_tombstones() -> &'static str {
    "_berth/gc/tombstones"
}

/// A collection's intent to remove blob `d` or links to it.
pub fn gc_tombstone(d: &Digest) -> String {
    format!("{}/{}-{}", gc_tombstones(), d.algorithm().as_str(), d.hex())
}

/// The digest a [`gc_tombstones`] or [`gc_refs`] entry names.
pub fn gc_tombstone_digest(entry: &str) -> Option<Digest> {
    let (alg, hex) = entry.split_once('-')?;
    format!("{alg}:{hex}").parse().ok()
}

pub fn gc_verdicts() -> &'static str {
    "_berth/gc/verdicts"
}

/// Who won tombstone `run` of blob `d`: the collection (`deleting`) or a request that
/// needed it (`kept`). Created once, so exactly one of them wins.
pub fn gc_verdict(d: &Digest, run: &str) -> String {
    format!(
        "{}/{}-{}-{run}",
        gc_verdicts(),
        d.algorithm().as_str(),
        d.hex()
    )
}

/// Retention's intent to delete the version of manifest `d` in `repo` (the same
/// protocol as a collection's tombstone, against pushes that tag it).
pub fn retention_tombstone(repo: &RepoName, d: &Digest) -> String {
    format!(
        "repositories/{repo}/_retention/{}-{}",
        d.algorithm().as_str(),
        d.hex()
    )
}

/// Who won [`retention_tombstone`] `run`: `kept` by a push or `deleting`.
pub fn retention_verdict(repo: &RepoName, d: &Digest, run: &str) -> String {
    format!("{}.{run}", retention_tombstone(repo, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_live_in_their_directories_and_name_their_digest() {
        let repo = RepoName::parse("acme/app").unwrap();
        let d = Digest::sha256_of(b"x");
        let link = layer_link(&repo, &d);
        assert_eq!(
            link,
            format!("repositories/acme/app/_layers/sha256/{}", d.hex())
        );
        assert!(link.starts_with(&layer_links(&repo, Algorithm::Sha256)));
        assert!(manifest_link(&repo, &d).starts_with(&manifest_links(&repo, Algorithm::Sha256)));
        assert_eq!(linked_digest(Algorithm::Sha256, d.hex()), Some(d));
        assert_eq!(linked_digest(Algorithm::Sha512, "stray"), None);
        assert!(is_own_child("_layers") && !is_own_child("sub"));
        assert_eq!(package_record(&repo), "packages/acme/app/_record");
        assert_eq!(
            package_version(&repo, 7, true, 9),
            "packages/acme/app/_pkg-0000000000000007/_deleted/0000000000000009"
        );
        assert_eq!(
            version_of_entry(&version_entry(u64::from(u32::MAX))),
            Some(u64::from(u32::MAX))
        );
    }
}
