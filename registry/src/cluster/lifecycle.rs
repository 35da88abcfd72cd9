//! What the registry pods do for Packages beyond reading them: record what a push
//! changed in the Package's status (tags, versions, size, last push), and delete the
//! content of a Package deleted with `deletionPolicy: Delete` before releasing it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use berth_crds::names::PACKAGE_FINALIZER;
use berth_crds::package::{Package, PackageStatus};
use kube::api::Api;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};

use super::policy::{KubeSource, write_status};
use crate::audit::PackageAct;
use crate::content::{Content, RepositoryStats};
use crate::oci::reference::RepoName;
use crate::packages::PackageStatusSink;
use crate::policy::PolicySource;

/// Writes a package's counts into its Package's status after a push, a delete or a
/// restore, and its downloads after a flush; and records each audited act on it as an
/// Event on the Package (`kubectl describe package` shows who pushed what).
pub struct KubePackageStatus {
    pub api: Api<Package>,
    pub source: Arc<KubeSource>,
    pub recorder: Recorder,
}

impl KubePackageStatus {
    fn resource(&self, repo: &RepoName) -> Option<String> {
        self.source
            .snapshot()
            .package(repo.owner(), repo.package())
            .map(|p| p.resource.clone())
    }

    async fn write(&self, repo: &RepoName, status: PackageStatus) {
        let Some(resource) = self.resource(repo) else {
            return;
        };
        if let Err(e) = write_status(&self.api, &resource, &status).await {
            tracing::warn!(package = %repo, error = %e, "writing the package's status failed");
        }
    }
}

#[async_trait]
impl PackageStatusSink for KubePackageStatus {
    async fn changed(&self, repo: &RepoName, stats: &RepositoryStats, pushed: bool) {
        let status = PackageStatus {
            tag_count: Some(stats.tags),
            version_count: Some(stats.versions),
            size: Some(stats.size),
            last_push: pushed.then(|| jiff::Timestamp::now().to_string()),
            ..PackageStatus::default()
        };
        self.write(repo, status).await;
    }

    async fn downloaded(&self, repo: &RepoName, total: u64) {
        let status = PackageStatus {
            download_count: Some(total),
            ..PackageStatus::default()
        };
        self.write(repo, status).await;
    }

    async fn retention_ran(&self, repo: &RepoName, outcome: &berth_crds::package::RetentionStatus) {
        let status = PackageStatus {
            retention: Some(outcome.clone()),
            ..PackageStatus::default()
        };
        self.write(repo, status).await;
    }

    async fn audited(&self, repo: &RepoName, act: &PackageAct) {
        let Some(resource) = self.resource(repo) else {
            return;
        };
        // The Package as the API server has it (its uid ties the Event to it).
        let package = match self
            .source
            .packages()
            .into_iter()
            .find(|p| p.name_any() == resource)
        {
            Some(p) => p,
            None => match self.api.get_opt(&resource).await {
                Ok(Some(p)) => Arc::new(p),
                _ => return,
            },
        };
        let event = Event {
            type_: EventType::Normal,
            reason: act.action.reason().to_owned(),
            note: Some(act.note()),
            action: act.action.as_str().to_owned(),
            secondary: None,
        };
        if let Err(e) = self
            .recorder
            .publish(&event, &package.object_ref(&()))
            .await
        {
            tracing::warn!(package = %repo, error = %e, "recording the Event on the Package failed");
        }
    }
}

/// Deletes the content of Packages being deleted under `deletionPolicy: Delete`, then
/// removes their finalizer. Every replica may do it; deleting is idempotent.
pub async fn finalize_deleted(content: Arc<Content>, source: Arc<KubeSource>, api: Api<Package>) {
    loop {
        source.deletions().notified().await;
        for pkg in source.packages() {
            let deleting = pkg.metadata.deletion_timestamp.is_some()
                && pkg.finalizers().iter().any(|f| f == PACKAGE_FINALIZER);
            if !deleting {
                continue;
            }
            if let Err(e) = finalize(&content, &api, &pkg).await {
                tracing::warn!(package = %pkg.name_any(), error = %e, "deleting a package's content failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                source.deletions().notify_one();
            }
        }
    }
}

async fn finalize(content: &Content, api: &Api<Package>, pkg: &Package) -> Result<(), String> {
    let repo = RepoName::parse(&format!("{}/{}", pkg.spec.owner, pkg.spec.name))
        .map_err(|e| e.to_string())?;
    content
        .delete_repository(&repo)
        .await
        .map_err(|e| e.to_string())?;
    berth_crds::patch::remove_finalizer(api, pkg, PACKAGE_FINALIZER)
        .await
        .map_err(|e| e.to_string())?;
    tracing::info!(package = %repo, "content deleted with its Package (deletionPolicy: Delete)");
    Ok(())
}
