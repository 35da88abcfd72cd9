//! Where a push's effect on a package is reported beyond storage. `packages/` owns the
//! trait; in a cluster `cluster/` implements it by writing the Package's status, so
//! nothing here knows Kubernetes.

use async_trait::async_trait;

use crate::content::RepositoryStats;
use crate::oci::reference::RepoName;

/// Receives a package's counts after each push that changed it.
#[async_trait]
pub trait PackageStatusSink: Send + Sync {
    /// `repo` now holds `stats`. Failures are the sink's to log: a push never fails
    /// because its status could not be written.
    async fn pushed(&self, repo: &RepoName, stats: &RepositoryStats);
}
