//! Deleting and restoring whole packages. A delete soft-deletes every version (tags and
//! manifests unlinked, records kept), moves the package's record to a tombstone and
//! frees the name; its policy follows: a `Package` the registry created goes (and comes
//! back on restore), one a user applied stays with `status.deletedAt` set. A restore
//! within the window brings the package, its versions and their tags back, unless the
//! name was pushed to since (a new package now holds it).
//!
//! The live record's removal is the commit point: with a tombstone and no live record
//! the package is deleted. A crash before it leaves the package live (a retried delete
//! finishes, its tombstone rewritten); one after it leaves it deleted, its policy step
//! possibly undone, which a restore or a retried delete settles.

use berth_crds::package::Package;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::versions::MAX_PUBLIC_DOWNLOADS;
use super::{PackageRecord, Packages};
use crate::content::{Error, Result, keys};
use crate::oci::reference::RepoName;
use crate::policy::PolicySnapshot;

/// What the registry keeps about a deleted package.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletedPackage {
    pub record: PackageRecord,
    pub deleted_at: String,
    /// The versions this delete took, restored with the package. Versions deleted one
    /// by one before it stay deleted (each restorable on its own).
    pub versions: Vec<u64>,
    /// The `Package` the registry had created, removed by the delete and made again by
    /// the restore (spec, annotations and status: its publisher stays an admin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Package>,
}

impl Packages<'_> {
    /// Deletes `repo`'s package under GitHub's rule: a public package whose versions
    /// were downloaded more than 5,000 times in all stays.
    pub async fn delete_package(&self, repo: &RepoName) -> Result<()> {
        let record = self.record_of(repo).await?;
        let pkg = record.id;
        let _turn = self.locks.lock(repo.as_str()).await;
        let (owner, name) = (repo.owner(), repo.package());
        let snap = self.policy.snapshot();
        let policy = snap.package(owner, name);
        if policy.is_some_and(|p| p.visibility == berth_crds::access::Visibility::Public) {
            let downloads: u64 = self
                .downloads
                .of(self.content, repo, pkg)
                .await?
                .values()
                .sum();
            if downloads > MAX_PUBLIC_DOWNLOADS {
                return Err(Error::Refused(format!(
                    "Publicly visible packages with more than {MAX_PUBLIC_DOWNLOADS} downloads cannot be deleted. Contact the registry's administrators for help."
                )));
            }
        }
        let resource = match policy {
            Some(_) => self
                .policy
                .package_resource(owner, name)
                .await
                .map_err(Error::Policy)?,
            None => None,
        };
        let registry_made = resource.as_ref().is_some_and(Package::created_by_registry);
        let active = self.records(repo, pkg, false).await?;
        // An earlier attempt that stopped part-way took some versions already.
        let earlier = self.tombstone(repo, pkg).await?;
        let mut versions = earlier
            .as_ref()
            .map(|t| t.versions.clone())
            .unwrap_or_default();
        versions.extend(active.iter().map(|v| v.id));
        versions.sort_unstable();
        versions.dedup();
        let tombstone = DeletedPackage {
            record,
            deleted_at: earlier
                .as_ref()
                .map(|t| t.deleted_at.clone())
                .unwrap_or_else(|| jiff::Timestamp::now().to_string()),
            versions,
            resource: match registry_made {
                true => resource,
                false => earlier.and_then(|t| t.resource),
            },
        };
        let json = serde_json::to_vec(&tombstone).expect("records serialize");
        let storage = self.content.storage();
        storage
            .put(&keys::deleted_package(repo, pkg), Bytes::from(json))
            .await?;
        for version in active {
            self.soft_delete(repo, pkg, version).await?;
        }
        storage.delete(&keys::package_record(repo)).await?;
        if registry_made {
            self.policy
                .remove_package(owner, name)
                .await
                .map_err(Error::Policy)?;
        } else if policy.is_some() {
            self.policy
                .mark_deleted(owner, name, Some(&tombstone.deleted_at))
                .await
                .map_err(Error::Policy)?;
        }
        self.report(repo, false).await;
        tracing::info!(package = %repo, id = pkg, "package deleted (restorable)");
        Ok(())
    }

    /// The package deleted last at `repo`'s name, while it can be restored.
    pub async fn deleted_package(&self, repo: &RepoName) -> Result<Option<DeletedPackage>> {
        let mut latest: Option<DeletedPackage> = None;
        for id in self.deleted_ids(repo).await? {
            if let Some(t) = self.tombstone(repo, id).await?
                && self.restorable(Some(&t.deleted_at))
                && latest.as_ref().is_none_or(|l| l.deleted_at < t.deleted_at)
            {
                latest = Some(t);
            }
        }
        Ok(latest)
    }

    /// `owner`'s deleted packages that can still be restored (a name pushed to since
    /// holds a live package, so its old one cannot), by name, for the owner's list of
    /// deleted packages. Walks the owner's names, nested ones too.
    pub async fn deleted_packages_of(&self, owner: &str) -> Result<Vec<DeletedPackage>> {
        let storage = self.content.storage();
        let mut out = Vec::new();
        let mut names = vec![String::new()];
        while let Some(name) = names.pop() {
            let prefix = match name.as_str() {
                "" => format!("packages/{owner}"),
                n => format!("packages/{owner}/{n}"),
            };
            let entries = storage.list(&prefix).await?;
            let has = |e: &str| entries.iter().any(|x| x == e);
            if !name.is_empty()
                && has("_deleted-packages")
                && !has("_record")
                && let Ok(repo) = RepoName::parse(&format!("{owner}/{name}"))
                && let Some(deleted) = self.deleted_package(&repo).await?
            {
                out.push(deleted);
            }
            for e in entries.iter().filter(|e| !e.starts_with('_')) {
                names.push(match name.as_str() {
                    "" => e.clone(),
                    n => format!("{n}/{e}"),
                });
            }
        }
        out.sort_by(|a, b| a.record.name.cmp(&b.record.name));
        Ok(out)
    }

    /// Restores the package deleted last at `repo`'s name: its policy, the versions its
    /// delete took (with the tags no other version took since) and its record.
    pub async fn restore_package(&self, repo: &RepoName) -> Result<()> {
        let _turn = self.locks.lock(repo.as_str()).await;
        if PackageRecord::load(self.content, repo).await?.is_some() {
            return Err(Error::Refused(format!(
                "{repo} was pushed to since its package was deleted; a new package holds the name. Delete that package first to restore the old one."
            )));
        }
        let tombstone = self
            .deleted_package(repo)
            .await?
            .ok_or(Error::PackageUnknown)?;
        let (owner, name) = (repo.owner(), repo.package());
        match (
            self.policy.snapshot().package(owner, name),
            &tombstone.resource,
        ) {
            // The registry's own Package, made again. Even when this process's policy
            // still shows it (another replica removed it, and this one's watcher has not
            // caught up): making it is idempotent, and one that exists stands.
            (_, Some(resource)) => self
                .policy
                .create_package(recreated(resource))
                .await
                .map_err(Error::Policy)?,
            (Some(p), None) if p.deleted => self
                .policy
                .mark_deleted(owner, name, None)
                .await
                .map_err(Error::Policy)?,
            (Some(_), None) => {}
            (None, None) => {
                return Err(Error::Refused(format!(
                    "{repo}'s Package resource was removed since its delete; apply it again, then restore"
                )));
            }
        }
        let pkg = tombstone.record.id;
        for id in &tombstone.versions {
            if let Some(version) = self.read_record(repo, pkg, true, *id).await? {
                self.relink(repo, pkg, version).await?;
            }
        }
        let record = PackageRecord {
            updated_at: jiff::Timestamp::now().to_string(),
            ..tombstone.record
        };
        let json = serde_json::to_vec(&record).expect("records serialize");
        let storage = self.content.storage();
        storage
            .put(&keys::package_record(repo), Bytes::from(json))
            .await?;
        storage.delete(&keys::deleted_package(repo, pkg)).await?;
        self.report(repo, false).await;
        tracing::info!(package = %repo, id = pkg, "package restored");
        Ok(())
    }

    /// Whether a package was ever deleted at `repo`'s name (and not restored).
    pub(super) async fn has_deleted(&self, repo: &RepoName) -> Result<bool> {
        Ok(!self.deleted_ids(repo).await?.is_empty())
    }

    async fn deleted_ids(&self, repo: &RepoName) -> Result<Vec<u64>> {
        Ok(self
            .content
            .storage()
            .list(&keys::deleted_packages(repo))
            .await?
            .iter()
            .filter_map(|e| keys::version_of_entry(e))
            .collect())
    }

    async fn tombstone(&self, repo: &RepoName, id: u64) -> Result<Option<DeletedPackage>> {
        let key = keys::deleted_package(repo, id);
        match self.content.storage().get(&key).await? {
            None => Ok(None),
            Some(raw) => serde_json::from_slice(&raw)
                .map(Some)
                .map_err(|_| crate::content::error::corrupt(&key)),
        }
    }
}

/// The policy a deleted package had, for deciding who may restore it: the snapshot's,
/// or the removed `Package` put back into it.
pub fn policy_for_restore(snap: &PolicySnapshot, deleted: &DeletedPackage) -> PolicySnapshot {
    let (owner, name) = (&deleted.record.owner, &deleted.record.name);
    match (&deleted.resource, snap.package(owner, name)) {
        (Some(resource), None) => snap.with_package(resource),
        _ => snap.clone(),
    }
}

/// `resource` as a new object: its name, labels, annotations, spec and status, without
/// what the API server assigned to the removed one.
fn recreated(resource: &Package) -> Package {
    let mut package = Package::new(
        resource.metadata.name.as_deref().unwrap_or_default(),
        resource.spec.clone(),
    );
    package.metadata.labels = resource.metadata.labels.clone();
    package.metadata.annotations = resource.metadata.annotations.clone();
    package.status = resource.status.clone().map(|mut s| {
        s.deleted_at = None;
        s
    });
    package
}

#[cfg(test)]
mod tests {
    use berth_crds::package::{PackageSpec, PackageStatus, Publisher};

    use super::*;

    #[test]
    fn a_recreated_package_keeps_its_spec_and_publisher_and_drops_server_fields() {
        let mut old = Package::new("acme.app", PackageSpec::new("acme", "app"));
        old.metadata.uid = Some("uid-1".into());
        old.metadata.resource_version = Some("42".into());
        old.metadata.annotations =
            Some([("berth.dev/created-by".into(), "registry".into())].into());
        old.status = Some(PackageStatus {
            publisher: Some(Publisher {
                user: Some("alice".into()),
                repository: None,
            }),
            deleted_at: Some("2026-12-01T00:00:00Z".into()),
            ..PackageStatus::default()
        });
        let new = recreated(&old);
        assert_eq!(new.metadata.name.as_deref(), Some("acme.app"));
        assert_eq!(new.metadata.uid, None);
        assert_eq!(new.metadata.resource_version, None);
        assert!(new.created_by_registry());
        assert_eq!(new.spec, old.spec);
        let status = new.status.unwrap();
        assert_eq!(status.publisher.unwrap().user.as_deref(), Some("alice"));
        assert_eq!(status.deleted_at, None, "a restored package is not deleted");
    }
}
