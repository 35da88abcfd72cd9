//! Packages as the registry sees them: created on first push, linked to their source
//! repository, and described by the metadata their images carry.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::auth::identity::Identity;
use crate::content::Content;
use crate::content::keys;
use crate::content::locks::KeyedLocks;
use crate::content::{Error, Result};
use crate::oci::digest::Digest;
use crate::oci::manifest::{Manifest, ManifestKind};
use crate::oci::reference::RepoName;
use crate::policy::PolicySource;
use crate::policy::normalize_url;
use crate::storage::Storage;

pub mod create;
pub mod deletion;
pub mod downloads;
pub mod events;
pub mod ids;
pub mod json;
pub mod metadata;
pub mod retention;
mod status;
pub mod versions;

pub use metadata::Metadata;
pub use status::PackageStatusSink;

/// What the package use-cases work on, borrowed from the registry's state.
pub struct Packages<'a> {
    pub content: &'a Content,
    pub policy: &'a dyn PolicySource,
    /// One package creation at a time per package.
    pub locks: &'a KeyedLocks,
    /// In a cluster: where the Package's status is written.
    pub status: Option<&'a dyn PackageStatusSink>,
    /// How long a deleted version or package can be restored.
    pub restore_window: std::time::Duration,
    /// This process's download counts.
    pub downloads: &'a downloads::Downloads,
    /// Where events go (the webhooks), recorded before a push is answered.
    pub events: Option<&'a dyn events::EventSink>,
}

/// The largest image config read for labels.
const MAX_CONFIG: u64 = 1024 * 1024;

/// What the registry keeps about a package beside its policy.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageRecord {
    /// The package's id in the REST API; 0 in records written before ids existed, until
    /// the API first reads them.
    #[serde(default)]
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(flatten)]
    pub metadata: Metadata,
}

impl PackageRecord {
    /// The package live at `repo`'s name, if any.
    pub async fn load(content: &Content, repo: &RepoName) -> Result<Option<PackageRecord>> {
        Self::load_from(&**content.storage(), repo).await
    }

    pub async fn load_from(
        storage: &dyn Storage,
        repo: &RepoName,
    ) -> Result<Option<PackageRecord>> {
        let raw = storage.get(&keys::package_record(repo)).await?;
        Ok(raw.and_then(|r| serde_json::from_slice(&r).ok()))
    }

    /// Stores the record, giving it an id first if it has none; returns it as stored.
    pub async fn with_id(mut self, content: &Content, repo: &RepoName) -> Result<PackageRecord> {
        if self.id == 0 {
            self.id = ids::allocate(&**content.storage(), &format!("package {repo}")).await?;
        }
        let json = serde_json::to_vec(&self).expect("records serialize");
        content
            .storage()
            .put(&keys::package_record(repo), Bytes::from(json))
            .await?;
        Ok(self)
    }
}

impl Packages<'_> {
    /// `repo`'s package record, with an id: made now for a package the policy names but
    /// nothing was pushed to yet, or whose record predates ids. A name whose package was
    /// deleted has none until a restore or a push.
    pub async fn record_of(&self, repo: &RepoName) -> Result<PackageRecord> {
        // Most calls find it; only making one takes the package's turn.
        if let Some(r) = PackageRecord::load(self.content, repo).await?
            && r.id != 0
        {
            return Ok(r);
        }
        let _turn = self.locks.lock(repo.as_str()).await;
        let record = match PackageRecord::load(self.content, repo).await? {
            Some(r) if r.id != 0 => return Ok(r),
            Some(r) => r,
            None if self.has_deleted(repo).await? => return Err(Error::PackageUnknown),
            None => {
                let now = jiff::Timestamp::now().to_string();
                PackageRecord {
                    id: 0,
                    owner: repo.owner().to_owned(),
                    name: repo.package().to_owned(),
                    created_at: now.clone(),
                    updated_at: now,
                    metadata: Metadata::default(),
                }
            }
        };
        record.with_id(self.content, repo).await
    }

    /// Reports `repo`'s counts to the status sink (in a cluster, the Package's status).
    pub(crate) async fn report(&self, repo: &RepoName, pushed: bool) {
        let Some(status) = self.status else {
            return;
        };
        match self.content.repository_stats(repo).await {
            Ok(stats) => status.changed(repo, &stats, pushed).await,
            Err(e) => {
                tracing::warn!(package = %repo, error = %e, "counting the package's content failed")
            }
        }
    }

    /// Flushes this process's download counts, then reports each flushed package's
    /// total to the status sink.
    pub async fn flush_downloads(&self) -> Result<()> {
        let flushed = self.downloads.flush(self.content).await?;
        let Some(status) = self.status else {
            return Ok(());
        };
        for (repo, pkg) in flushed {
            let total = self
                .downloads
                .of(self.content, &repo, pkg)
                .await?
                .values()
                .sum();
            status.downloaded(&repo, total).await;
        }
        Ok(())
    }
}

/// After a manifest push by `id`: create the package if this push was authorized to
/// (`may_create`), link it to its source repository if it had none, and record the
/// metadata the image carries.
#[allow(clippy::too_many_arguments)]
pub async fn after_manifest_push(
    packages: &Packages<'_>,
    id: &Identity,
    may_create: bool,
    repo: &RepoName,
    digest: &Digest,
    manifest: &Manifest,
    tags: &[String],
    origin: &events::PushOrigin,
) -> Result<()> {
    let config = match (manifest.kind, &manifest.config) {
        (ManifestKind::Image, Some(c)) if c.size <= MAX_CONFIG => {
            packages.content.blob_bytes(repo, &c.digest).await?
        }
        _ => None,
    };
    let pushed = Metadata::of(manifest, config.as_deref());
    let (owner, name) = (repo.owner(), repo.package());
    // One creation per package, however many pushes race to make it.
    let turn = packages.locks.lock(repo.as_str()).await;
    let snap = packages.policy.snapshot();
    // A push brings a deleted package (one a user applied, which stays) back as a new
    // package: its old versions stay deleted, restorable no more.
    if snap.package(owner, name).is_some_and(|p| p.deleted) {
        packages
            .policy
            .mark_deleted(owner, name, None)
            .await
            .map_err(Error::Policy)?;
    }
    match snap.package(owner, name) {
        // Authorized as a push to an existing package that has since lost its policy:
        // not this caller's to create.
        None if !may_create => {}
        None => {
            let package = create::new_package(
                &snap,
                id,
                repo,
                pushed.source.as_deref(),
                jiff::Timestamp::now(),
            );
            packages
                .policy
                .create_package(package)
                .await
                .map_err(Error::Policy)?;
            tracing::info!(package = %repo, by = %id, "package created on first push (private)");
        }
        Some(p) if p.repository.is_none() => {
            if let Some(source) = &pushed.source {
                packages
                    .policy
                    .link_package(owner, name, source)
                    .await
                    .map_err(Error::Policy)?;
                tracing::info!(package = %repo, repository = %normalize_url(source), "package linked to its source repository");
            }
        }
        Some(_) => {}
    }
    let now = jiff::Timestamp::now().to_string();
    let record = match PackageRecord::load(packages.content, repo).await? {
        Some(old) => PackageRecord {
            updated_at: now,
            metadata: old.metadata.updated_by(&pushed),
            ..old
        },
        None => PackageRecord {
            id: 0,
            owner: owner.to_owned(),
            name: name.to_owned(),
            created_at: now.clone(),
            updated_at: now,
            metadata: pushed,
        },
    };
    let record = record.with_id(packages.content, repo).await?;
    // The version needs no turn (its id is claimed by a create-if-absent write), so
    // concurrent pushes to one package overlap from here.
    drop(turn);
    let labels = config
        .as_deref()
        .map(metadata::config_labels)
        .unwrap_or_default();
    let actor = id
        .user_name()
        .or(id.repository())
        .unwrap_or("anonymous")
        .to_owned();
    // The event is written beside the version's record, not after it: both are durable
    // before the push is answered, and a push pays for one write, not two in a row. The
    // manifest is stored by now, so the event never announces bytes that are not there.
    packages
        .record_version_and(repo, record.id, digest, async |version| {
            let Some(sink) = packages.events else {
                return Ok(());
            };
            sink.published(events::Published {
                repo,
                actor: &actor,
                package: &record,
                version,
                tags,
                media_type: &manifest.media_type,
                labels: &labels,
                origin,
            })
            .await
        })
        .await?;
    packages.report(repo, true).await;
    Ok(())
}
