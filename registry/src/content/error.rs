//! What can go wrong in the content model, in its own terms.
//!
//! This is a domain error: it says what happened (a blob is unknown, a chunk starts in
//! the wrong place), never how to answer it. It carries no status, header, URL or
//! challenge. Each surface renders it its own way: the OCI API in `oci/error.rs` (codes
//! and statuses of the distribution spec), and the REST API and the pages (to come) with
//! their own renderers, so every variant must stay meaningful without HTTP.

use crate::oci::digest::{Digest, DigestError};
use crate::oci::manifest::ManifestError;
use crate::oci::reference::NameError;
use crate::policy::PolicyWriteError;
use crate::storage::StorageError;

/// Everything a content (or package) operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("blob unknown to registry")]
    BlobUnknown,
    /// No live upload session has this id in this repository.
    #[error(
        "blob upload unknown to registry (it was never started, was cancelled, finished, or expired)"
    )]
    UploadUnknown,
    /// An upload request that contradicts itself (declared and received lengths).
    #[error("blob upload invalid: {0}")]
    UploadInvalid(String),
    /// Bytes that do not start where the session ends; the session is unchanged and
    /// continues at `offset`.
    #[error("chunk starts at byte {got}, but the upload has {offset} bytes")]
    ChunkOutOfOrder { got: u64, offset: u64 },
    /// A byte range that lies outside a blob of `len` bytes.
    #[error("requested range is outside the blob's {len} bytes")]
    RangeNotSatisfiable { len: u64 },
    #[error("{0}")]
    DigestInvalid(String),
    /// A manifest that needs a blob (or child manifest) the repository does not hold.
    #[error("manifest references {0}, which is not in this repository; push it first")]
    ManifestBlobUnknown(Digest),
    #[error("{0}")]
    ManifestInvalid(String),
    #[error("manifest unknown")]
    ManifestUnknown,
    #[error("{0}")]
    NameInvalid(String),
    /// Nothing was ever pushed to the repository.
    #[error("repository name not known to registry")]
    NameUnknown,
    /// A length that cannot be one (not a number, negative).
    #[error("{0}")]
    SizeInvalid(String),
    /// Larger than a configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// A page size or cursor that cannot be used.
    #[error("{0}")]
    PaginationInvalid(String),
    /// No version of the package has this id (in the state asked for).
    #[error("package version not found")]
    VersionUnknown,
    /// No package by this name (or none the caller may see).
    #[error("package not found")]
    PackageUnknown,
    /// A package rule refuses the change; the message says which and what to do instead.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The policy source could not record a package.
    #[error(transparent)]
    Policy(#[from] PolicyWriteError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<NameError> for Error {
    fn from(e: NameError) -> Self {
        match e {
            NameError::Digest(d) => Error::DigestInvalid(d.to_string()),
            e => Error::NameInvalid(e.to_string()),
        }
    }
}

impl From<DigestError> for Error {
    fn from(e: DigestError) -> Self {
        Error::DigestInvalid(e.to_string())
    }
}

impl From<ManifestError> for Error {
    fn from(e: ManifestError) -> Self {
        Error::ManifestInvalid(e.to_string())
    }
}

/// Stored data without the shape the registry wrote.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::Storage(StorageError::Corrupt(what.to_string()))
}
