//! Where the policy comes from: a directory of YAML files (standalone) or the Kubernetes
//! API (cluster). Both build the same `PolicySnapshot`.

use std::sync::Arc;

use std::collections::BTreeMap;

use async_trait::async_trait;
use berth_crds::package::{Package, PackageSpec};
use serde_json::Value;

use super::snapshot::PolicySnapshot;

/// A failure to record a package in the policy source.
#[derive(Debug, thiserror::Error)]
#[error("recording package {package} failed: {message}")]
pub struct PolicyWriteError {
    pub package: String,
    pub message: String,
}

/// A package setting the pages change: a field of the `Package`'s spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Setting {
    Visibility,
    InheritAccess,
    Access,
    ActionsAccess,
}

impl Setting {
    pub const ALL: [Setting; 4] = [
        Setting::Visibility,
        Setting::InheritAccess,
        Setting::Access,
        Setting::ActionsAccess,
    ];

    /// Its field under `spec`.
    pub fn field(self) -> &'static str {
        match self {
            Setting::Visibility => "visibility",
            Setting::InheritAccess => "inheritAccess",
            Setting::Access => "access",
            Setting::ActionsAccess => "actionsAccess",
        }
    }

    /// Its value in `spec`, as the resource holds it (`None`: unset).
    pub fn value(self, spec: &PackageSpec) -> Option<Value> {
        match self {
            Setting::Visibility => serde_json::to_value(spec.visibility).ok(),
            Setting::InheritAccess => spec.inherit_access.map(Value::Bool),
            Setting::Access => serde_json::to_value(&spec.access).ok(),
            Setting::ActionsAccess => serde_json::to_value(&spec.actions_access).ok(),
        }
    }

    /// Copies this setting from `from` into `to`.
    pub fn copy(self, from: &PackageSpec, to: &mut PackageSpec) {
        match self {
            Setting::Visibility => to.visibility = from.visibility,
            Setting::InheritAccess => to.inherit_access = from.inherit_access,
            Setting::Access => to.access = from.access.clone(),
            Setting::ActionsAccess => to.actions_access = from.actions_access.clone(),
        }
    }
}

/// The settings someone else keeps, each with where it is kept (a field manager in a
/// cluster, a file standalone): the pages show them read-only rather than fight a GitOps
/// tool over them.
pub type KeptElsewhere = BTreeMap<Setting, String>;

/// A live policy: read by every request, written when the registry creates or links a
/// package.
#[async_trait]
pub trait PolicySource: Send + Sync {
    /// The policy in force now.
    fn snapshot(&self) -> Arc<PolicySnapshot>;
    /// Whether the first full read has completed (readiness).
    fn is_synced(&self) -> bool;
    /// What could not be read or applied, for logs and `/readyz`.
    fn problems(&self) -> Vec<String>;
    /// Records a package the registry just created; it is in the snapshot on return.
    async fn create_package(&self, package: Package) -> Result<(), PolicyWriteError>;
    /// Records that `OWNER/NAME` is linked to `repository` (a push carried its source
    /// label and the package had none).
    async fn link_package(
        &self,
        owner: &str,
        name: &str,
        repository: &str,
    ) -> Result<(), PolicyWriteError>;
    /// The `Package` (spec and status) that defines `OWNER/NAME`, read from the source.
    async fn package_resource(
        &self,
        owner: &str,
        name: &str,
    ) -> Result<Option<Package>, PolicyWriteError>;
    /// The spec of `OWNER/NAME` and which of its settings are kept elsewhere.
    async fn settings(
        &self,
        owner: &str,
        name: &str,
    ) -> Result<Option<(PackageSpec, KeptElsewhere)>, PolicyWriteError>;
    /// Writes every setting of `OWNER/NAME` that is not kept elsewhere from `spec` (all
    /// of them each time: a server-side apply drops the fields its manager omits), under
    /// the pages' own field manager in a cluster. In the snapshot on return.
    async fn change_settings(
        &self,
        owner: &str,
        name: &str,
        spec: &PackageSpec,
    ) -> Result<(), PolicyWriteError>;
    /// Removes the `Package` the registry created for `OWNER/NAME` (a package deleted
    /// through the API); its content stays, for a restore. Gone from the snapshot on
    /// return.
    async fn remove_package(&self, owner: &str, name: &str) -> Result<(), PolicyWriteError>;
    /// Records in `OWNER/NAME`'s status that it was deleted at `at` (`None`: it was
    /// restored or pushed to again). In the snapshot on return.
    async fn mark_deleted(
        &self,
        owner: &str,
        name: &str,
        at: Option<&str>,
    ) -> Result<(), PolicyWriteError>;
}
