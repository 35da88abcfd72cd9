//! What a registry pod does with the Kubernetes API: the policy source over Packages and
//! Organizations (`policy.rs`), PATs from Secrets (`tokens.rs`), and the Package status
//! and finalizer work (`lifecycle.rs`), webhook secrets and status (`webhooks.rs`). Each implements a trait
//! its domain module owns (`PolicySource`, `PackageStatusSink`, `HookSite`); `start/cluster.rs` wires them.

use std::path::PathBuf;

pub mod gc_lease;
pub mod lifecycle;
pub mod policy;
pub mod tokens;
pub mod webhooks;

/// Which Registry these pods serve, and where.
#[derive(Clone, Debug)]
pub struct ClusterOptions {
    pub namespace: String,
    /// The Registry's name (its PAT Secrets carry it).
    pub registry: String,
    /// The mounted signing-keys Secret.
    pub keys_dir: PathBuf,
}
