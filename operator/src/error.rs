//! The operator's errors: an invalid spec becomes a condition and waits for a change;
//! anything else is transient and retried with backoff.

/// A reconcile failure worth retrying.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("generating secret material: {0}")]
    Material(String),
    #[error("{0} has no namespace")]
    NoNamespace(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
