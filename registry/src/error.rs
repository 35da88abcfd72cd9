//! The one place where errors become OCI error codes and HTTP statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::oci::digest::{Digest, DigestError};
use crate::oci::manifest::ManifestError;
use crate::oci::reference::NameError;
use crate::storage::StorageError;

/// Everything a registry request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("blob unknown to registry")]
    BlobUnknown,
    #[error(
        "blob upload unknown to registry (it was never started, was cancelled, finished, or expired)"
    )]
    BlobUploadUnknown,
    #[error("blob upload invalid: {0}")]
    BlobUploadInvalid(String),
    /// An upload chunk that does not start where the session ends (416).
    #[error(
        "chunk starts at byte {got}, but the upload has {offset} bytes; resume from the reported Range"
    )]
    ChunkOutOfOrder {
        got: u64,
        offset: u64,
        location: String,
    },
    /// A blob `Range` that lies outside the blob (416).
    #[error("requested range is outside the blob's {len} bytes")]
    RangeNotSatisfiable { len: u64 },
    #[error("{0}")]
    DigestInvalid(String),
    #[error("manifest references {0}, which is not in this repository; push it first")]
    ManifestBlobUnknown(Digest),
    #[error("{0}")]
    ManifestInvalid(String),
    #[error("manifest unknown")]
    ManifestUnknown,
    #[error("{0}")]
    NameInvalid(String),
    #[error("repository name not known to registry")]
    NameUnknown,
    #[error("{0}")]
    SizeInvalid(String),
    /// Larger than a configured limit (413).
    #[error("{0}")]
    TooLarge(String),
    /// A method the endpoint does not have (405, with `Allow`).
    #[error("{method} is not supported on this endpoint; it allows {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
    #[error("{0}")]
    PaginationInvalid(String),
    /// Missing or refused credentials (401, with the Bearer challenge).
    #[error("{message}")]
    Unauthorized { message: String, challenge: String },
    /// Signed in, and not allowed to do this to a package it can see (403).
    #[error("{0}")]
    Denied(String),
    /// A request parameter that cannot be used (400).
    #[error("{0}")]
    InvalidParameter(String),
    /// A path that names no endpoint.
    #[error("no such endpoint")]
    NotFound,
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The policy source could not record a package.
    #[error(transparent)]
    Policy(crate::policy::PolicyWriteError),
}

impl Error {
    /// The OCI error code and the HTTP status.
    pub fn code_and_status(&self) -> (&'static str, StatusCode) {
        use Error::*;
        match self {
            BlobUnknown => ("BLOB_UNKNOWN", StatusCode::NOT_FOUND),
            BlobUploadUnknown => ("BLOB_UPLOAD_UNKNOWN", StatusCode::NOT_FOUND),
            BlobUploadInvalid(_) => ("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST),
            ChunkOutOfOrder { .. } => ("BLOB_UPLOAD_INVALID", StatusCode::RANGE_NOT_SATISFIABLE),
            RangeNotSatisfiable { .. } => ("SIZE_INVALID", StatusCode::RANGE_NOT_SATISFIABLE),
            DigestInvalid(_) => ("DIGEST_INVALID", StatusCode::BAD_REQUEST),
            ManifestBlobUnknown(_) => ("MANIFEST_BLOB_UNKNOWN", StatusCode::BAD_REQUEST),
            ManifestInvalid(_) => ("MANIFEST_INVALID", StatusCode::BAD_REQUEST),
            ManifestUnknown => ("MANIFEST_UNKNOWN", StatusCode::NOT_FOUND),
            NameInvalid(_) => ("NAME_INVALID", StatusCode::BAD_REQUEST),
            NameUnknown => ("NAME_UNKNOWN", StatusCode::NOT_FOUND),
            SizeInvalid(_) => ("SIZE_INVALID", StatusCode::BAD_REQUEST),
            TooLarge(_) => ("SIZE_INVALID", StatusCode::PAYLOAD_TOO_LARGE),
            MethodNotAllowed { .. } => ("UNSUPPORTED", StatusCode::METHOD_NOT_ALLOWED),
            Unauthorized { .. } => ("UNAUTHORIZED", StatusCode::UNAUTHORIZED),
            Denied(_) => ("DENIED", StatusCode::FORBIDDEN),
            // The spec's UNSUPPORTED covers "an invalid set of parameters".
            InvalidParameter(_) => ("UNSUPPORTED", StatusCode::BAD_REQUEST),
            // distribution's code for a bad `n`
            PaginationInvalid(_) => ("PAGINATION_NUMBER_INVALID", StatusCode::BAD_REQUEST),
            NotFound => ("NAME_UNKNOWN", StatusCode::NOT_FOUND),
            // The client's own stream failing is the client's problem, never a 500.
            Storage(StorageError::Body(_)) => ("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST),
            // distribution's code for a registry that cannot serve right now; retryable.
            Storage(StorageError::Unavailable(_)) => {
                ("UNAVAILABLE", StatusCode::SERVICE_UNAVAILABLE)
            }
            Storage(_) | Policy(_) => ("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

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

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = json!({"errors": [{"code": code, "message": self.to_string(), "detail": null}]});
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Error::ChunkOutOfOrder {
                offset, location, ..
            } => {
                if let Ok(v) = HeaderValue::from_str(location) {
                    headers.insert(header::LOCATION, v);
                }
                let range = crate::oci::range::upload_range_header(*offset);
                headers.insert(header::RANGE, HeaderValue::from_str(&range).expect("ascii"));
            }
            Error::Unauthorized { challenge, .. } => {
                if let Ok(v) = HeaderValue::from_str(challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            Error::MethodNotAllowed { allow, .. } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Error::RangeNotSatisfiable { len } => {
                let v = HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii");
                headers.insert(header::CONTENT_RANGE, v);
            }
            _ => {}
        }
        response
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
