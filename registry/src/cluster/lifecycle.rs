//! What the registry pods do for Packages beyond reading them: record what a push
//! changed in the Package's status (tags, versions, size, last push), and delete the
//! content of a Package deleted with `deletionPolicy: Delete` before releasing it.

use std::sync::{Arc, Weak};
use std::time::Duration;

use berth_crds::names::PACKAGE_FINALIZER;
use berth_crds::package::{Package, PackageStatus};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::policy::{KubeSource, write_status};
use crate::oci::reference::RepoName;
use crate::state::AppState;

/// Writes `repo`'s counts into its Package's status after a push.
pub async fn record_push(app: &AppState, api: &Api<Package>, repo: &RepoName) {
    let Some(resource) = app
        .policy
        .snapshot()
        .package(repo.owner(), repo.package())
        .map(|p| p.resource.clone())
    else {
        return;
    };
    let stats = match app.content.repository_stats(repo).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(package = %repo, error = %e, "counting the package's content failed");
            return;
        }
    };
    let status = PackageStatus {
        tag_count: Some(stats.tags),
        version_count: Some(stats.versions),
        size: Some(stats.size),
        last_push: Some(jiff::Timestamp::now().to_string()),
        ..PackageStatus::default()
    };
    if let Err(e) = write_status(api, &resource, &status).await {
        tracing::warn!(package = %repo, error = %e, "writing the package's status failed");
    }
}

/// Deletes the content of Packages being deleted under `deletionPolicy: Delete`, then
/// removes their finalizer. Every replica may do it; deleting is idempotent.
pub async fn finalize_deleted(state: Weak<AppState>, source: Arc<KubeSource>, api: Api<Package>) {
    loop {
        source.deletions().notified().await;
        let Some(app) = state.upgrade() else { return };
        for pkg in source.packages() {
            let deleting = pkg.metadata.deletion_timestamp.is_some()
                && pkg.finalizers().iter().any(|f| f == PACKAGE_FINALIZER);
            if !deleting {
                continue;
            }
            if let Err(e) = finalize(&app, &api, &pkg).await {
                tracing::warn!(package = %pkg.name_any(), error = %e, "deleting a package's content failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                source.deletions().notify_one();
            }
        }
    }
}

async fn finalize(app: &AppState, api: &Api<Package>, pkg: &Package) -> Result<(), String> {
    let repo = RepoName::parse(&format!("{}/{}", pkg.spec.owner, pkg.spec.name))
        .map_err(|e| e.to_string())?;
    app.content
        .delete_repository(&repo)
        .await
        .map_err(|e| e.to_string())?;
    let finalizers: Vec<_> = pkg
        .finalizers()
        .iter()
        .filter(|f| *f != PACKAGE_FINALIZER)
        .cloned()
        .collect();
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": pkg.resource_version()}});
    api.patch(
        &pkg.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|e| e.to_string())?;
    tracing::info!(package = %repo, "content deleted with its Package (deletionPolicy: Delete)");
    Ok(())
}
