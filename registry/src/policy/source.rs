//! Where the policy comes from: a directory of YAML files (standalone) or the Kubernetes
//! API (cluster). Both build the same `PolicySnapshot`.

use std::sync::Arc;

use async_trait::async_trait;
use berth_crds::package::Package;

use super::snapshot::PolicySnapshot;

/// A failure to record a package in the policy source.
#[derive(Debug, thiserror::Error)]
#[error("recording package {package} failed: {message}")]
pub struct PolicyWriteError {
    pub package: String,
    pub message: String,
}

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
