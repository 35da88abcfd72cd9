//! Package versions: every manifest pushed to a package is one, with an id, its tags and
//! times. Deleting one unlinks its manifest and tags (it answers `MANIFEST_UNKNOWN`) and
//! keeps a record that restores it within the restore window.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{Packages, ids};
use crate::content::{Error, Result, Unlinked, keys};
use crate::oci::digest::Digest;
use crate::oci::reference::{RepoName, Tag};

/// What the registry keeps about a version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionRecord {
    pub id: u64,
    pub digest: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// What the delete unlinked, for the restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_tags: Vec<String>,
}

/// A version as the API and the pages show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub record: VersionRecord,
    /// Its tags now (for a deleted version: the tags it had).
    pub tags: Vec<String>,
}

/// Which rules a delete follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rules {
    /// GitHub's package rules (the REST API, the pages).
    Packages,
    /// The distribution spec's: a manifest `DELETE` by digest always deletes.
    Oci,
}

/// Which versions a listing shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Active,
    Deleted,
}

/// A page of a listing: 1-based, as GitHub counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub number: usize,
    pub per_page: usize,
}

impl Page {
    /// The part of `len` items this page covers.
    pub fn range(&self, len: usize) -> std::ops::Range<usize> {
        let start = (self.number.saturating_sub(1))
            .saturating_mul(self.per_page)
            .min(len);
        start..start.saturating_add(self.per_page).min(len)
    }
}

/// GitHub keeps public versions downloaded more often than this from being deleted:
/// others depend on them.
pub const MAX_PUBLIC_DOWNLOADS: u64 = 5000;

/// Why a version may not be deleted. The messages are GHCR's where it has them.
pub fn last_tagged_refusal() -> Error {
    Error::Refused(
        "You cannot delete the last tagged version of a package. You must delete the package instead."
            .into(),
    )
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

impl Packages<'_> {
    /// The version `digest` is in `repo`'s package, made when first seen (a push, or a
    /// manifest pushed before versions were recorded). A digest pushed again after its
    /// delete is the same version, active again.
    pub async fn record_version(
        &self,
        repo: &RepoName,
        pkg: u64,
        digest: &Digest,
    ) -> Result<VersionRecord> {
        self.record_version_and(repo, pkg, digest, async |_| Ok(()))
            .await
    }

    /// `record_version`, running `with(record)` while the record is written (a push's
    /// event, which needs the version's id, is written beside it instead of after it).
    pub async fn record_version_and(
        &self,
        repo: &RepoName,
        pkg: u64,
        digest: &Digest,
        with: impl AsyncFnOnce(&VersionRecord) -> Result<()>,
    ) -> Result<VersionRecord> {
        let storage = self.content.storage();
        let by_digest = keys::package_version_by_digest(repo, pkg, digest);
        let id = match read_id(storage.get(&by_digest).await?) {
            Some(id) => id,
            None => {
                let claimed =
                    ids::allocate(&**storage, &format!("version {repo}@{digest}")).await?;
                // A replica racing on the same digest may have won; its id is the one.
                if storage
                    .put_if_absent(&by_digest, Bytes::from(claimed.to_string()))
                    .await?
                {
                    claimed
                } else {
                    read_id(storage.get(&by_digest).await?)
                        .ok_or_else(|| crate::content::error::corrupt(&by_digest))?
                }
            }
        };
        if let Some(active) = self.read_record(repo, pkg, false, id).await? {
            with(&active).await?;
            return Ok(active);
        }
        let record = match self.read_record(repo, pkg, true, id).await? {
            Some(deleted) => VersionRecord {
                deleted_at: None,
                media_type: None,
                deleted_tags: Vec::new(),
                updated_at: now(),
                ..deleted
            },
            None => {
                let at = now();
                VersionRecord {
                    id,
                    digest: digest.to_string(),
                    created_at: at.clone(),
                    updated_at: at,
                    deleted_at: None,
                    media_type: None,
                    deleted_tags: Vec::new(),
                }
            }
        };
        let store = async {
            self.write_record(repo, pkg, false, &record).await?;
            self.remove_record(repo, pkg, true, id).await
        };
        futures_util::try_join!(store, with(&record))?;
        Ok(record)
    }

    /// A page of `repo`'s versions in `state`, newest first, and how many there are.
    pub async fn versions(
        &self,
        repo: &RepoName,
        pkg: u64,
        state: State,
        page: Page,
    ) -> Result<(Vec<Version>, usize)> {
        let deleted = state == State::Deleted;
        // The first page looks for manifests without a version (a later page of the
        // same walk reuses the directory's listing, within the staleness bound).
        if state == State::Active && page.number <= 1 {
            self.record_unrecorded(repo, pkg).await?;
        }
        let ids = self.ids_newest_first(repo, pkg, deleted).await?;
        let total = ids.len();
        let tags = if deleted {
            Default::default()
        } else {
            self.content.tags_by_digest(repo).await?
        };
        let records = self
            .read_records(repo, pkg, deleted, &ids[page.range(total)])
            .await?;
        let out = records
            .into_iter()
            .flatten()
            .map(|record| self.with_tags(record, &tags))
            .collect();
        Ok((out, total))
    }

    /// The newest `n` tagged active versions of `repo` (newest first), as a package's page
    /// shows them, and its newest version: records read newest first, a few at a time,
    /// until `n` are tagged or `most` were read, rather than a whole page of them.
    pub async fn recent_tagged(
        &self,
        repo: &RepoName,
        pkg: u64,
        n: usize,
        most: usize,
    ) -> Result<(Vec<Version>, Option<Version>)> {
        self.record_unrecorded(repo, pkg).await?;
        let mut ids = self.ids_newest_first(repo, pkg, false).await?;
        ids.truncate(most);
        let tags = self.content.tags_by_digest(repo).await?;
        let (mut tagged, mut newest) = (Vec::new(), None);
        for batch in ids.chunks(n.max(1) * 2) {
            let records = self.read_records(repo, pkg, false, batch).await?;
            for version in records
                .into_iter()
                .flatten()
                .map(|r| self.with_tags(r, &tags))
            {
                if newest.is_none() {
                    newest = Some(version.clone());
                }
                if !version.tags.is_empty() && tagged.len() < n {
                    tagged.push(version);
                }
            }
            if tagged.len() >= n {
                break;
            }
        }
        Ok((tagged, newest))
    }

    /// The ids of `repo`'s active (or deleted) versions, newest first.
    async fn ids_newest_first(&self, repo: &RepoName, pkg: u64, deleted: bool) -> Result<Vec<u64>> {
        let entries = self
            .content
            .cached_list(&keys::package_versions(repo, pkg, deleted))
            .await?;
        let mut ids: Vec<u64> = entries
            .iter()
            .filter_map(|e| keys::version_of_entry(e))
            .collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        Ok(ids)
    }

    /// How many active versions `repo`'s package has.
    /// (The manifests that have no version yet are recorded by the next listing; a
    /// package GET does not look for them, as that lists every manifest.)
    pub async fn version_count(&self, repo: &RepoName, pkg: u64) -> Result<usize> {
        Ok(self
            .content
            .cached_list(&keys::package_versions(repo, pkg, false))
            .await?
            .len())
    }

    /// Version `id` of `repo`'s package, active or deleted.
    pub async fn version(&self, repo: &RepoName, pkg: u64, id: u64) -> Result<Option<Version>> {
        if let Some(record) = self.read_record(repo, pkg, false, id).await? {
            let tags = self.content.tags_by_digest(repo).await?;
            return Ok(Some(self.with_tags(record, &tags)));
        }
        Ok(self
            .read_record(repo, pkg, true, id)
            .await?
            .map(|record| self.with_tags(record, &Default::default())))
    }

    /// The id of `digest`'s version in `repo`, if it has one.
    pub async fn version_id(
        &self,
        repo: &RepoName,
        pkg: u64,
        digest: &Digest,
    ) -> Result<Option<u64>> {
        Ok(read_id(
            self.content
                .storage()
                .get(&keys::package_version_by_digest(repo, pkg, digest))
                .await?,
        ))
    }

    /// Deletes version `id`: its manifest and tags are unlinked, its record kept for the
    /// restore window. With `Rules::Packages` (the REST API and the pages) it is refused
    /// for the last tagged version, and for a version a tagged index still needs (GHCR
    /// allows that and breaks the index's pulls); an OCI `DELETE` follows the
    /// distribution spec, which has no such rules (`Rules::Oci`).
    pub async fn delete_version(
        &self,
        repo: &RepoName,
        pkg: u64,
        id: u64,
        rules: Rules,
    ) -> Result<()> {
        let _turn = self.locks.lock(repo.as_str()).await;
        let record = self
            .read_record(repo, pkg, false, id)
            .await?
            .ok_or(Error::VersionUnknown)?;
        if rules == Rules::Packages {
            self.check_delete(repo, pkg, &digest_of(&record)?).await?;
        }
        self.soft_delete(repo, pkg, record).await?;
        self.report(repo, false).await;
        Ok(())
    }

    /// Unlinks `record`'s manifest and tags and moves it to the deleted versions; the
    /// caller holds the package's lock.
    pub(super) async fn soft_delete(
        &self,
        repo: &RepoName,
        pkg: u64,
        record: VersionRecord,
    ) -> Result<()> {
        let id = record.id;
        let unlinked = self
            .content
            .manifest_unlink(repo, &digest_of(&record)?)
            .await?;
        let at = now();
        let deleted = VersionRecord {
            updated_at: at.clone(),
            deleted_at: Some(at),
            media_type: unlinked.as_ref().map(|u| u.media_type.clone()),
            deleted_tags: unlinked
                .map(|u| u.tags.iter().map(Tag::to_string).collect())
                .unwrap_or_default(),
            ..record
        };
        // The deleted record first: a crash between the two writes leaves the version
        // listed as both, never as neither, and the next delete or restore settles it.
        self.write_record(repo, pkg, true, &deleted).await?;
        self.remove_record(repo, pkg, false, id).await
    }

    /// GitHub's rules for deleting a version, and ours: see [`Self::delete_version`].
    async fn check_delete(&self, repo: &RepoName, pkg: u64, digest: &Digest) -> Result<()> {
        let public = self
            .policy
            .snapshot()
            .package(repo.owner(), repo.package())
            .is_some_and(|p| p.visibility == berth_crds::access::Visibility::Public);
        if public {
            let downloads = self.downloads.of(self.content, repo, pkg).await?;
            if downloads.get(&digest.to_string()).copied().unwrap_or(0) > MAX_PUBLIC_DOWNLOADS {
                return Err(Error::Refused(format!(
                    "Publicly visible package versions with more than {MAX_PUBLIC_DOWNLOADS} downloads cannot be deleted. Contact the registry's administrators for help."
                )));
            }
        }
        let tags = self.content.tags_by_digest(repo).await?;
        if tags.contains_key(digest) && !tags.keys().any(|d| d != digest) {
            return Err(last_tagged_refusal());
        }
        for parent in self.content.parents_of(repo, digest).await? {
            if let Some(parent_tags) = tags.get(&parent) {
                return Err(Error::Refused(format!(
                    "{digest} is a platform of {parent}, which is tagged {}; delete that version first",
                    parent_tags.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Restores deleted version `id` within the restore window: its manifest is linked
    /// again, with the tags it had that no other version took meanwhile.
    pub async fn restore_version(&self, repo: &RepoName, pkg: u64, id: u64) -> Result<Vec<String>> {
        let _turn = self.locks.lock(repo.as_str()).await;
        let record = self
            .read_record(repo, pkg, true, id)
            .await?
            .ok_or(Error::VersionUnknown)?;
        if !self.restorable(record.deleted_at.as_deref()) {
            return Err(Error::VersionUnknown);
        }
        let tags = self.relink(repo, pkg, record).await?;
        self.report(repo, false).await;
        Ok(tags)
    }

    /// Whether something deleted at `deleted_at` is still inside the restore window.
    pub(super) fn restorable(&self, deleted_at: Option<&str>) -> bool {
        let Some(at) = deleted_at.and_then(|t| t.parse::<jiff::Timestamp>().ok()) else {
            return true;
        };
        let age = jiff::Timestamp::now().duration_since(at);
        age.as_secs().max(0) as u64 <= self.restore_window.as_secs()
    }

    /// Links deleted `record`'s manifest again, with the tags it had that no other
    /// version took meanwhile, and makes it active; the caller holds the package's lock.
    /// Returns the tags restored.
    pub(super) async fn relink(
        &self,
        repo: &RepoName,
        pkg: u64,
        record: VersionRecord,
    ) -> Result<Vec<String>> {
        let id = record.id;
        let unlinked = Unlinked {
            media_type: record
                .media_type
                .clone()
                .unwrap_or_else(|| crate::oci::media_types::OCI_MANIFEST.to_owned()),
            tags: record
                .deleted_tags
                .iter()
                .filter_map(|t| Tag::parse(t).ok())
                .collect(),
        };
        let restored = self
            .content
            .manifest_relink(repo, &digest_of(&record)?, &unlinked)
            .await?;
        let active = VersionRecord {
            updated_at: now(),
            deleted_at: None,
            media_type: None,
            deleted_tags: Vec::new(),
            ..record
        };
        self.write_record(repo, pkg, false, &active).await?;
        self.remove_record(repo, pkg, true, id).await?;
        Ok(restored.iter().map(Tag::to_string).collect())
    }

    /// Records the manifests of `repo` that have no version yet (pushed before versions
    /// were recorded, or by a push that failed between its link and its record).
    async fn record_unrecorded(&self, repo: &RepoName, pkg: u64) -> Result<()> {
        // Counted from the cached listings (within the staleness bound), side by side,
        // since every first page asks: only a difference walks the manifests themselves.
        let links = futures_util::future::try_join_all(keys::ALGORITHMS.map(|alg| async move {
            let names = self
                .content
                .cached_list(&keys::manifest_links(repo, alg))
                .await?;
            Ok::<_, crate::content::Error>(
                names
                    .iter()
                    .filter(|n| keys::linked_digest(alg, n).is_some())
                    .count(),
            )
        }));
        let dir = keys::package_versions(repo, pkg, false);
        let versions = self.content.cached_list(&dir);
        let (links, active) = futures_util::future::try_join(links, versions).await?;
        let linked: usize = links.into_iter().sum();
        if linked <= active.len() {
            return Ok(());
        }
        for digest in self.content.manifest_digests(repo).await? {
            self.record_version(repo, pkg, &digest).await?;
        }
        Ok(())
    }

    fn with_tags(
        &self,
        record: VersionRecord,
        tags: &std::collections::HashMap<Digest, Vec<String>>,
    ) -> Version {
        let current = record
            .digest
            .parse::<Digest>()
            .ok()
            .and_then(|d| tags.get(&d).cloned());
        let tags = match &record.deleted_at {
            Some(_) => record.deleted_tags.clone(),
            None => current.unwrap_or_default(),
        };
        Version { record, tags }
    }

    /// Every version record of package `pkg`, active or deleted.
    pub(super) async fn records(
        &self,
        repo: &RepoName,
        pkg: u64,
        deleted: bool,
    ) -> Result<Vec<VersionRecord>> {
        let entries = self
            .content
            .storage()
            .list(&keys::package_versions(repo, pkg, deleted))
            .await?;
        let mut out = Vec::new();
        for id in entries.iter().filter_map(|e| keys::version_of_entry(e)) {
            if let Some(r) = self.read_record(repo, pkg, deleted, id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Records `ids` in order, read together (`Storage::get_many`: one blocking task on
    /// the filesystem, side by side on S3); a missing one is `None`.
    async fn read_records(
        &self,
        repo: &RepoName,
        pkg: u64,
        deleted: bool,
        ids: &[u64],
    ) -> Result<Vec<Option<VersionRecord>>> {
        let keys: Vec<String> = ids
            .iter()
            .map(|&id| keys::package_version(repo, pkg, deleted, id))
            .collect();
        let raw = self.content.storage().get_many(&keys).await?;
        raw.into_iter()
            .zip(&keys)
            .map(|(raw, key)| match raw {
                None => Ok(None),
                Some(raw) => serde_json::from_slice(&raw)
                    .map(Some)
                    .map_err(|_| crate::content::error::corrupt(key)),
            })
            .collect()
    }

    pub(super) async fn read_record(
        &self,
        repo: &RepoName,
        pkg: u64,
        deleted: bool,
        id: u64,
    ) -> Result<Option<VersionRecord>> {
        let key = keys::package_version(repo, pkg, deleted, id);
        match self.content.storage().get(&key).await? {
            None => Ok(None),
            Some(raw) => serde_json::from_slice(&raw)
                .map(Some)
                .map_err(|_| crate::content::error::corrupt(&key)),
        }
    }

    async fn write_record(
        &self,
        repo: &RepoName,
        pkg: u64,
        deleted: bool,
        r: &VersionRecord,
    ) -> Result<()> {
        let json = serde_json::to_vec(r).expect("records serialize");
        self.content
            .storage()
            .put(
                &keys::package_version(repo, pkg, deleted, r.id),
                Bytes::from(json),
            )
            .await?;
        self.content
            .listing_changed(&keys::package_versions(repo, pkg, deleted));
        Ok(())
    }

    async fn remove_record(&self, repo: &RepoName, pkg: u64, deleted: bool, id: u64) -> Result<()> {
        self.content
            .storage()
            .delete(&keys::package_version(repo, pkg, deleted, id))
            .await?;
        self.content
            .listing_changed(&keys::package_versions(repo, pkg, deleted));
        Ok(())
    }
}

fn digest_of(record: &VersionRecord) -> Result<Digest> {
    record
        .digest
        .parse()
        .map_err(|_| crate::content::error::corrupt(&record.digest))
}

fn read_id(raw: Option<Bytes>) -> Option<u64> {
    std::str::from_utf8(&raw?).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn pages_cover_their_slice_and_nothing_past_the_end() {
        let p = |number, per_page| Page { number, per_page };
        assert_eq!(p(1, 30).range(250), 0..30);
        assert_eq!(p(9, 30).range(250), 240..250);
        assert_eq!(p(10, 30).range(250), 250..250);
        assert_eq!(p(0, 30).range(250), 0..30);
        assert_eq!(p(usize::MAX, 100).range(5), 5..5);
    }
}
