//! The storage key layout of the registry's metadata. This file alone writes it out;
//! everything else asks for keys here.
//!
//! ```text
//! repositories/<name>/_layers/<alg>/<hex>                    blob linked into the repo
//! repositories/<name>/_manifests/revisions/<alg>/<hex>       manifest in the repo: {"mediaType"}
//! repositories/<name>/_manifests/tags/<tag>                  tag → digest
//! repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>     subject → referrer descriptor
//! packages/<owner>/<name>/_record                            package record (id, metadata, times)
//! packages/<owner>/<name>/_versions/<id:016>                 an active version: its record
//! packages/<owner>/<name>/_deleted/<id:016>                  a deleted version, restorable
//! packages/<owner>/<name>/_digests/<alg>-<hex>               digest → version id
//! packages/<owner>/<name>/_downloads/<process>            one process's download counts
//! _berth/ids/<id>                                            an id, claimed once (create-if-absent)
//! _berth/next-id                                             where the next claim starts (a hint)
//! uploads/<id>/state                                         upload session state
//! _berth/upload-state-key                                    key of signed upload states
//! ```
//!
//! Name components match `[a-z0-9]…`, so they never collide with the `_`-prefixed
//! directories.

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

/// What the registry keeps about a package (metadata, times).
pub fn package_record(repo: &RepoName) -> String {
    format!("packages/{}/{}/_record", repo.owner(), repo.package())
}

/// The directory of `repo`'s active (`deleted == false`) or deleted version records, one
/// entry per id, zero-padded so that listing order is id order.
pub fn package_versions(repo: &RepoName, deleted: bool) -> String {
    let dir = if deleted { "_deleted" } else { "_versions" };
    format!("packages/{}/{}/{dir}", repo.owner(), repo.package())
}

pub fn package_version(repo: &RepoName, deleted: bool, id: u64) -> String {
    format!("{}/{}", package_versions(repo, deleted), version_entry(id))
}

/// The entry of version `id` in a [`package_versions`] directory.
pub fn version_entry(id: u64) -> String {
    format!("{id:016}")
}

/// The id a [`package_versions`] entry stands for; `None` for a stray entry.
pub fn version_of_entry(name: &str) -> Option<u64> {
    (name.len() == 16).then(|| name.parse().ok()).flatten()
}

/// Which version id `digest` has in `repo`'s package.
pub fn package_version_by_digest(repo: &RepoName, digest: &Digest) -> String {
    format!(
        "packages/{}/{}/_digests/{}-{}",
        repo.owner(),
        repo.package(),
        digest.algorithm().as_str(),
        digest.hex()
    )
}

/// The directory of `repo`'s download counts, one object per process that counted.
pub fn package_downloads_dir(repo: &RepoName) -> String {
    format!("packages/{}/{}/_downloads", repo.owner(), repo.package())
}

pub fn package_downloads(repo: &RepoName, process: &str) -> String {
    format!("{}/{process}", package_downloads_dir(repo))
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
    }
}
