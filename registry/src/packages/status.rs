//! Where a push's effect on a package is reported beyond storage. `packages/` owns the
//! trait; in a cluster `cluster/` implements it by writing the Package's status, so
//! nothing here knows Kubernetes.

use async_trait::async_trait;

use crate::audit::PackageAct;
use crate::content::RepositoryStats;
use crate::oci::reference::RepoName;

/// Receives a package's counts after each push, delete or restore that changed them.
/// Failures are the sink's to log: a push or a delete never fails because a status
/// could not be written.
#[async_trait]
pub trait PackageStatusSink: Send + Sync {
    /// `repo` now holds `stats`; `pushed` when a push changed it (now is its last push).
    async fn changed(&self, repo: &RepoName, stats: &RepositoryStats, pushed: bool);
    /// `repo`'s versions have been downloaded `total` times in all.
    async fn downloaded(&self, repo: &RepoName, total: u64);
    /// `act` was done to `repo`, as the audit trail records it.
    async fn audited(&self, repo: &RepoName, act: &PackageAct);
    /// `repo`'s retention rules ran (`status.retention` on the Package).
    async fn retention_ran(&self, repo: &RepoName, outcome: &berth_crds::package::RetentionStatus);
}
