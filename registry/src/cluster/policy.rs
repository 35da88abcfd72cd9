//! The policy of a namespace in a cluster: a reflector over its Packages and
//! Organizations feeds the same `PolicySnapshot` the standalone directory does. Every
//! change to either rebuilds the snapshot, so an edit applies on the next request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use berth_crds::names::{PACKAGE_FINALIZER, PAGES_MANAGER, REGISTRY_MANAGER};
use berth_crds::organization::Organization;
use berth_crds::package::{Package, PackageSpec, PackageStatus};
use futures_util::StreamExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::sync::Notify;

use crate::policy::{
    KeptElsewhere, PolicySettings, PolicySnapshot, PolicySource, PolicyWriteError, Setting,
};

/// The policy of one namespace.
pub struct KubeSource {
    packages_api: Api<Package>,
    packages: Store<Package>,
    organizations: Store<Organization>,
    settings: PolicySettings,
    snapshot: ArcSwap<PolicySnapshot>,
    synced: AtomicBool,
    changed: Notify,
    deletions: Notify,
}

impl KubeSource {
    /// Starts watching `namespace`; the snapshot is in force once both caches are full.
    pub fn start(client: Client, namespace: &str, settings: PolicySettings) -> Arc<KubeSource> {
        let packages_api: Api<Package> = Api::namespaced(client.clone(), namespace);
        let orgs_api: Api<Organization> = Api::namespaced(client, namespace);
        let (packages, packages_writer) = reflector::store();
        let (organizations, orgs_writer) = reflector::store();
        let source = Arc::new(KubeSource {
            packages_api: packages_api.clone(),
            packages,
            organizations,
            settings,
            snapshot: ArcSwap::from_pointee(PolicySnapshot::default()),
            synced: AtomicBool::new(false),
            changed: Notify::new(),
            deletions: Notify::new(),
        });
        tokio::spawn(
            reflector::reflector(
                packages_writer,
                watcher(packages_api, watcher::Config::default()),
            )
            .default_backoff()
            .for_each(notify_on(source.clone())),
        );
        tokio::spawn(
            reflector::reflector(orgs_writer, watcher(orgs_api, watcher::Config::default()))
                .default_backoff()
                .for_each(notify_on(source.clone())),
        );
        tokio::spawn(rebuild_on_change(source.clone()));
        source
    }

    fn rebuild(&self) {
        let packages = self.packages.state();
        let orgs = self.organizations.state();
        let snapshot = PolicySnapshot::build(
            orgs.iter().map(|o| o.as_ref()),
            packages.iter().map(|p| p.as_ref()),
            &self.settings,
        );
        self.snapshot.store(Arc::new(snapshot));
    }

    /// Every Package in the namespace (including those being deleted).
    pub fn packages(&self) -> Vec<Arc<Package>> {
        self.packages.state()
    }

    /// Notified on every change, for the deletion of content.
    pub fn deletions(&self) -> &Notify {
        &self.deletions
    }

    fn resource_name(&self, owner: &str, name: &str) -> Option<String> {
        self.snapshot
            .load()
            .package(owner, name)
            .map(|p| p.resource.clone())
    }
}

/// A stream consumer that signals a change for every event.
fn notify_on<T>(source: Arc<KubeSource>) -> impl FnMut(T) -> futures_util::future::Ready<()> {
    move |_| {
        source.changed.notify_one();
        source.deletions.notify_one();
        futures_util::future::ready(())
    }
}

/// Rebuilds the snapshot after every change, once the caches are full. A burst of events
/// (a GitOps sync of many Packages) coalesces into few rebuilds.
async fn rebuild_on_change(source: Arc<KubeSource>) {
    let _ = source.packages.wait_until_ready().await;
    let _ = source.organizations.wait_until_ready().await;
    source.rebuild();
    source.synced.store(true, Ordering::Release);
    tracing::info!(
        packages = source.packages.state().len(),
        "policy synced from the Kubernetes API"
    );
    loop {
        source.changed.notified().await;
        source.rebuild();
    }
}

#[async_trait]
impl PolicySource for KubeSource {
    fn snapshot(&self) -> Arc<PolicySnapshot> {
        self.snapshot.load_full()
    }

    fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Acquire)
    }

    fn problems(&self) -> Vec<String> {
        self.snapshot.load().problems().to_vec()
    }

    async fn create_package(&self, package: Package) -> Result<(), PolicyWriteError> {
        let label = format!("{}/{}", package.spec.owner, package.spec.name);
        let fail = |e: kube::Error| PolicyWriteError {
            package: label.clone(),
            message: e.to_string(),
        };
        let status = package.status.clone().unwrap_or_default();
        let mut spec_only = package.clone();
        spec_only.status = None;
        let params = PostParams {
            field_manager: Some(REGISTRY_MANAGER.into()),
            ..PostParams::default()
        };
        let created = match self.packages_api.create(&params, &spec_only).await {
            Ok(p) => p,
            // Another replica made it first: theirs stands.
            Err(kube::Error::Api(e)) if e.code == 409 => {
                self.snapshot
                    .store(Arc::new(self.snapshot.load().with_package(&package)));
                return Ok(());
            }
            Err(e) => return Err(fail(e)),
        };
        write_status(&self.packages_api, &created.name_any(), &status)
            .await
            .map_err(fail)?;
        // In the snapshot at once, before the watch reports it back.
        self.snapshot
            .store(Arc::new(self.snapshot.load().with_package(&package)));
        Ok(())
    }

    async fn link_package(
        &self,
        owner: &str,
        name: &str,
        repository: &str,
    ) -> Result<(), PolicyWriteError> {
        let fail = |message: String| PolicyWriteError {
            package: format!("{owner}/{name}"),
            message,
        };
        let resource = self
            .resource_name(owner, name)
            .ok_or_else(|| fail("no Package for it".into()))?;
        let status = PackageStatus {
            repository: Some(repository.to_owned()),
            ..PackageStatus::default()
        };
        write_status(&self.packages_api, &resource, &status)
            .await
            .map_err(|e| fail(e.to_string()))
    }

    async fn package_resource(
        &self,
        owner: &str,
        name: &str,
    ) -> Result<Option<Package>, PolicyWriteError> {
        let Some(resource) = self.resource_name(owner, name) else {
            return Ok(None);
        };
        self.packages_api
            .get_opt(&resource)
            .await
            .map_err(|e| write_error(owner, name, e))
    }

    async fn settings(
        &self,
        owner: &str,
        name: &str,
    ) -> Result<Option<(PackageSpec, KeptElsewhere)>, PolicyWriteError> {
        let Some(found) = self.package_resource(owner, name).await? else {
            return Ok(None);
        };
        Ok(Some((found.spec.clone(), kept_elsewhere(&found))))
    }

    async fn change_settings(
        &self,
        owner: &str,
        name: &str,
        spec: &PackageSpec,
    ) -> Result<(), PolicyWriteError> {
        let fail = |message: String| PolicyWriteError {
            package: format!("{owner}/{name}"),
            message,
        };
        let found = self
            .package_resource(owner, name)
            .await?
            .ok_or_else(|| fail("no Package for it".into()))?;
        let kept = kept_elsewhere(&found);
        // Every setting the pages may change, the changed one among them: a server-side
        // apply drops the fields of its manager that it omits. Forced, since the only
        // other owners of these fields are the registry's own manager (which created the
        // Package); a field another manager keeps is left out, so never taken over.
        let mut fields = serde_json::Map::new();
        for setting in Setting::ALL.into_iter().filter(|s| !kept.contains_key(s)) {
            if let Some(value) = setting.value(spec) {
                fields.insert(setting.field().to_owned(), value);
            }
        }
        let patch = serde_json::json!({
            "apiVersion": "berth.dev/v1alpha1",
            "kind": "Package",
            "spec": fields,
        });
        let params = PatchParams::apply(PAGES_MANAGER).force();
        let applied = self
            .packages_api
            .patch(&found.name_any(), &params, &Patch::Apply(&patch))
            .await
            .map_err(|e| fail(e.to_string()))?;
        self.snapshot
            .store(Arc::new(self.snapshot.load().with_package(&applied)));
        Ok(())
    }

    async fn remove_package(&self, owner: &str, name: &str) -> Result<(), PolicyWriteError> {
        let Some(found) = self.package_resource(owner, name).await? else {
            return Ok(());
        };
        let fail = |e| write_error(owner, name, e);
        // Under `deletionPolicy: Delete` the finalizer destroys the content when the
        // resource goes; this delete keeps it for the restore window, so it comes off
        // first.
        if found.finalizers().iter().any(|f| f == PACKAGE_FINALIZER) {
            berth_crds::patch::remove_finalizer(&self.packages_api, &found, PACKAGE_FINALIZER)
                .await
                .map_err(fail)?;
        }
        match self
            .packages_api
            .delete(&found.name_any(), &DeleteParams::default())
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => return Err(fail(e)),
        }
        self.snapshot
            .store(Arc::new(self.snapshot.load().without_package(owner, name)));
        Ok(())
    }

    async fn mark_deleted(
        &self,
        owner: &str,
        name: &str,
        at: Option<&str>,
    ) -> Result<(), PolicyWriteError> {
        let mut found =
            self.package_resource(owner, name)
                .await?
                .ok_or_else(|| PolicyWriteError {
                    package: format!("{owner}/{name}"),
                    message: "no Package for it".into(),
                })?;
        // Every field the registry owns, with `deletedAt` set or (restored) cleared.
        let mut status = registry_fields(
            &found.status.clone().unwrap_or_default(),
            &PackageStatus::default(),
        );
        status.deleted_at = at.map(str::to_owned);
        berth_crds::patch::apply_status(
            &self.packages_api,
            &found.name_any(),
            REGISTRY_MANAGER,
            &status,
        )
        .await
        .map_err(|e| write_error(owner, name, e))?;
        found.status = Some(status);
        self.snapshot
            .store(Arc::new(self.snapshot.load().with_package(&found)));
        Ok(())
    }
}

/// The settings of `package` that a field manager other than the registry's and the
/// pages' keeps, each with where: the manager's name.
fn kept_elsewhere(package: &Package) -> KeptElsewhere {
    let fields = package.spec_fields_kept_elsewhere();
    Setting::ALL
        .into_iter()
        .filter_map(|s| {
            let manager = fields.get(s.field())?;
            Some((
                s,
                format!(
                    "the Package {} (field manager {manager})",
                    package.name_any()
                ),
            ))
        })
        .collect()
}

fn write_error(owner: &str, name: &str, e: kube::Error) -> PolicyWriteError {
    PolicyWriteError {
        package: format!("{owner}/{name}"),
        message: e.to_string(),
    }
}

/// Applies the registry's status fields under its own field manager (the operator owns
/// the conditions). `update`'s fields are merged over the ones the registry wrote before:
/// a server-side apply removes whatever fields of its manager it omits, so every apply
/// carries the whole set (publisher and creation time stay after a push's counts).
pub async fn write_status(
    api: &Api<Package>,
    resource: &str,
    update: &PackageStatus,
) -> Result<(), kube::Error> {
    let current = api.get_status(resource).await?.status.unwrap_or_default();
    let status = registry_fields(&current, update);
    berth_crds::patch::apply_status(api, resource, REGISTRY_MANAGER, &status).await?;
    Ok(())
}

/// The status fields the registry owns, `update`'s where it has them, else `current`'s.
fn registry_fields(current: &PackageStatus, update: &PackageStatus) -> PackageStatus {
    fn pick<T: Clone>(update: &Option<T>, current: &Option<T>) -> Option<T> {
        update.clone().or_else(|| current.clone())
    }
    PackageStatus {
        publisher: pick(&update.publisher, &current.publisher),
        created_at: pick(&update.created_at, &current.created_at),
        repository: pick(&update.repository, &current.repository),
        tag_count: pick(&update.tag_count, &current.tag_count),
        version_count: pick(&update.version_count, &current.version_count),
        size: pick(&update.size, &current.size),
        last_push: pick(&update.last_push, &current.last_push),
        download_count: pick(&update.download_count, &current.download_count),
        deleted_at: pick(&update.deleted_at, &current.deleted_at),
        retention: pick(&update.retention, &current.retention),
        // The operator's.
        url: None,
        observed_generation: None,
        conditions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_keeps_the_publisher_and_drops_the_operators_fields() {
        let created = PackageStatus {
            publisher: Some(berth_crds::package::Publisher {
                user: Some("alice".into()),
                repository: None,
            }),
            created_at: Some("2026-12-01T00:00:00Z".into()),
            url: Some("operator's".into()),
            observed_generation: Some(3),
            tag_count: Some(1),
            ..PackageStatus::default()
        };
        let push = PackageStatus {
            tag_count: Some(2),
            last_push: Some("2026-12-01T01:00:00Z".into()),
            ..PackageStatus::default()
        };
        let merged = registry_fields(&created, &push);
        assert_eq!(merged.publisher, created.publisher);
        assert_eq!(merged.created_at, created.created_at);
        assert_eq!(merged.tag_count, Some(2));
        assert_eq!(merged.last_push, push.last_push);
        assert_eq!((merged.url, merged.observed_generation), (None, None));
    }
}
