//! The storage key layout of the registry's metadata.
//!
//! ```text
//! repositories/<name>/_layers/<alg>/<hex>                    blob linked into the repo
//! repositories/<name>/_manifests/revisions/<alg>/<hex>       manifest in the repo: {"mediaType"}
//! repositories/<name>/_manifests/tags/<tag>                  tag → digest
//! repositories/<name>/_referrers/<alg>/<hex>/<alg>-<hex>     subject → referrer descriptor
//! uploads/<id>/state                                         upload session state
//! _berth/upload-state-key                                    key of signed upload states
//! ```
//!
//! Name components match `[a-z0-9]…`, so they never collide with the `_`-prefixed
//! directories.

use crate::oci::digest::Digest;
use crate::oci::reference::{RepoName, Tag};

pub fn repository(repo: &RepoName) -> String {
    format!("repositories/{repo}")
}

pub fn layer_link(repo: &RepoName, d: &Digest) -> String {
    format!(
        "repositories/{repo}/_layers/{}/{}",
        d.algorithm().as_str(),
        d.hex()
    )
}

pub fn manifest_link(repo: &RepoName, d: &Digest) -> String {
    format!(
        "repositories/{repo}/_manifests/revisions/{}/{}",
        d.algorithm().as_str(),
        d.hex()
    )
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
