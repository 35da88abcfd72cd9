//! The OCI surface's errors (`/v2` and `/token`), rendered in one place:
//! [`OciError::code_and_status`] maps each to the distribution spec's code and an HTTP
//! status, and `IntoResponse` writes the spec's `{"errors":[{code,message,detail}]}` with
//! the headers some of them need (`Location`, `Range`, `Content-Range`, `Allow`,
//! `WWW-Authenticate`). Content's domain errors come in through `From`; the variants
//! here are what only this surface can say.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::TokenError;
use crate::content;
use crate::oci::digest::DigestError;
use crate::oci::manifest::ManifestError;
use crate::oci::reference::NameError;
use crate::storage::StorageError;

/// Everything an OCI request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// What went wrong in the content model (or a package use-case).
    #[error(transparent)]
    Content(content::Error),
    /// An upload chunk that does not start where the session ends (416): `Range` says
    /// where it does, and `location` is where the session continues (none when the
    /// session did not survive the request, as with a monolithic upload).
    #[error(
        "chunk starts at byte {got}, but the upload has {offset} bytes; resume from the reported Range"
    )]
    ChunkOutOfOrder {
        got: u64,
        offset: u64,
        location: Option<String>,
    },
    /// A method the endpoint does not have (405, with `Allow`).
    #[error("{method} is not supported on this endpoint; it allows {allow}")]
    MethodNotAllowed { method: String, allow: &'static str },
    /// Missing or refused credentials (401, with the challenge).
    #[error("{message}")]
    Unauthorized { message: String, challenge: String },
    /// Too many failed sign-ins from this account or address (429, with Retry-After).
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after: std::time::Duration,
    },
    /// Signed in, and not allowed to do this to a package it can see (403).
    #[error("{0}")]
    Denied(String),
    /// A request parameter that cannot be used (400).
    #[error("{0}")]
    InvalidParameter(String),
    /// A path that names no endpoint.
    #[error("no such endpoint")]
    NotFound,
    /// The registry could not sign a token (500): its own failure.
    #[error(transparent)]
    Token(#[from] TokenError),
}

pub type Result<T, E = OciError> = std::result::Result<T, E>;

impl OciError {
    /// The OCI error code and the HTTP status.
    pub fn code_and_status(&self) -> (&'static str, StatusCode) {
        use OciError::*;
        match self {
            Content(e) => content_code_and_status(e),
            ChunkOutOfOrder { .. } => ("BLOB_UPLOAD_INVALID", StatusCode::RANGE_NOT_SATISFIABLE),
            MethodNotAllowed { .. } => ("UNSUPPORTED", StatusCode::METHOD_NOT_ALLOWED),
            Unauthorized { .. } => ("UNAUTHORIZED", StatusCode::UNAUTHORIZED),
            Denied(_) => ("DENIED", StatusCode::FORBIDDEN),
            TooManyRequests { .. } => ("TOOMANYREQUESTS", StatusCode::TOO_MANY_REQUESTS),
            // The spec's UNSUPPORTED covers "an invalid set of parameters".
            InvalidParameter(_) => ("UNSUPPORTED", StatusCode::BAD_REQUEST),
            NotFound => ("NAME_UNKNOWN", StatusCode::NOT_FOUND),
            Token(_) => ("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

fn content_code_and_status(e: &content::Error) -> (&'static str, StatusCode) {
    use content::Error::*;
    match e {
        BlobUnknown => ("BLOB_UNKNOWN", StatusCode::NOT_FOUND),
        UploadUnknown => ("BLOB_UPLOAD_UNKNOWN", StatusCode::NOT_FOUND),
        UploadInvalid(_) => ("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST),
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
        // distribution's code for a bad `n`
        PaginationInvalid(_) => ("PAGINATION_NUMBER_INVALID", StatusCode::BAD_REQUEST),
        VersionUnknown => ("MANIFEST_UNKNOWN", StatusCode::NOT_FOUND),
        PackageUnknown => ("NAME_UNKNOWN", StatusCode::NOT_FOUND),
        // A package rule (the last tagged version, a tagged index needs it): the spec's
        // code for an operation the registry does not allow.
        Refused(_) => ("DENIED", StatusCode::FORBIDDEN),
        // The client's own stream failing is the client's problem, never a 500.
        Storage(StorageError::Body(_)) => ("BLOB_UPLOAD_INVALID", StatusCode::BAD_REQUEST),
        // distribution's code for a registry that cannot serve right now; retryable.
        Storage(StorageError::Unavailable(_)) => ("UNAVAILABLE", StatusCode::SERVICE_UNAVAILABLE),
        Storage(_) | Policy(_) => ("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR),
    }
}

impl From<content::Error> for OciError {
    fn from(e: content::Error) -> Self {
        match e {
            // Always with the OCI wording; the route adds the session's URL when it can.
            content::Error::ChunkOutOfOrder { got, offset } => OciError::ChunkOutOfOrder {
                got,
                offset,
                location: None,
            },
            e => OciError::Content(e),
        }
    }
}

/// The vocabulary's and storage's errors reach the wire through `content::Error`, so
/// they get the same code whichever layer raised them.
macro_rules! through_content {
    ($($from:ty),*) => {$(
        impl From<$from> for OciError {
            fn from(e: $from) -> Self {
                content::Error::from(e).into()
            }
        }
    )*};
}

through_content!(NameError, DigestError, ManifestError, StorageError);

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = json!({"errors": [{"code": code, "message": self.to_string(), "detail": null}]});
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            OciError::ChunkOutOfOrder {
                offset, location, ..
            } => {
                if let Some(v) = location
                    .as_deref()
                    .and_then(|l| HeaderValue::from_str(l).ok())
                {
                    headers.insert(header::LOCATION, v);
                }
                insert_upload_range(headers, *offset);
            }
            OciError::Content(content::Error::ChunkOutOfOrder { offset, .. }) => {
                insert_upload_range(headers, *offset);
            }
            OciError::Unauthorized { challenge, .. } => {
                if let Ok(v) = HeaderValue::from_str(challenge) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            OciError::TooManyRequests { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, crate::web::retry_after(*retry_after));
            }
            OciError::MethodNotAllowed { allow, .. } => {
                headers.insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            OciError::Content(content::Error::RangeNotSatisfiable { len }) => {
                let v = HeaderValue::from_str(&format!("bytes */{len}")).expect("ascii");
                headers.insert(header::CONTENT_RANGE, v);
            }
            _ => {}
        }
        response
    }
}

/// The `Range` of an upload that holds `offset` bytes.
fn insert_upload_range(headers: &mut axum::http::HeaderMap, offset: u64) {
    let range = crate::oci::range::upload_range_header(offset);
    headers.insert(header::RANGE, HeaderValue::from_str(&range).expect("ascii"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_errors_keep_their_codes_and_statuses() {
        let cases = [
            (content::Error::UploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404),
            (content::Error::NameUnknown, "NAME_UNKNOWN", 404),
            (content::Error::TooLarge("x".into()), "SIZE_INVALID", 413),
            (
                StorageError::Body(std::io::Error::other("gone")).into(),
                "BLOB_UPLOAD_INVALID",
                400,
            ),
            (
                StorageError::Unavailable("down".into()).into(),
                "UNAVAILABLE",
                503,
            ),
            (StorageError::Corrupt("x".into()).into(), "UNKNOWN", 500),
        ];
        for (e, code, status) in cases {
            let (c, s) = OciError::from(e).code_and_status();
            assert_eq!((c, s.as_u16()), (code, status));
        }
    }

    #[test]
    fn an_out_of_order_chunk_says_where_to_resume() {
        let e: OciError = content::Error::ChunkOutOfOrder { got: 8, offset: 4 }.into();
        assert_eq!(
            e.to_string(),
            "chunk starts at byte 8, but the upload has 4 bytes; resume from the reported Range"
        );
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(r.headers()[header::RANGE], "0-3");
        assert!(r.headers().get(header::LOCATION).is_none());
        let r = OciError::ChunkOutOfOrder {
            got: 8,
            offset: 4,
            location: Some("/v2/a/b/blobs/uploads/u?_state=s".into()),
        }
        .into_response();
        assert_eq!(
            r.headers()[header::LOCATION],
            "/v2/a/b/blobs/uploads/u?_state=s"
        );
    }

    #[test]
    fn a_signing_failure_is_the_registrys_own_500() {
        let e = OciError::from(TokenError::NoKey);
        assert_eq!(
            e.code_and_status(),
            ("UNKNOWN", StatusCode::INTERNAL_SERVER_ERROR)
        );
        assert_eq!(e.to_string(), "the registry has no key to sign tokens with");
    }
}
