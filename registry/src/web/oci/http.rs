//! HTTP pieces the OCI handlers share: header names, query parameters, bodies.

use std::io;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, header};
use futures_util::{StreamExt, TryStreamExt};

use crate::content::UploadBody;
use crate::content::{Error, Result};
use crate::oci::digest::Digest;
use crate::oci::range::parse_chunk_range;
use crate::storage::ByteStream;

pub const DOCKER_CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
pub const DOCKER_UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
pub const DOCKER_API_VERSION: HeaderName =
    HeaderName::from_static("docker-distribution-api-version");
pub const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
pub const OCI_TAG: HeaderName = HeaderName::from_static("oci-tag");
pub const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");

/// The value of every `Docker-Distribution-Api-Version` header.
pub const API_VERSION: HeaderValue = HeaderValue::from_static("registry/2.0");

/// The query parameters of a request, in order (a key may repeat, e.g. `tag`).
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn of(parts: &Parts) -> Self {
        let q = parts.uri.query().unwrap_or("");
        Query(form_urlencoded::parse(q.as_bytes()).into_owned().collect())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn digest(&self) -> Result<Option<Digest>> {
        self.get("digest")
            .map(|d| d.parse())
            .transpose()
            .map_err(Into::into)
    }
}

pub fn header_str<'a>(parts: &'a Parts, name: &HeaderName) -> Option<&'a str> {
    parts.headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn content_length(parts: &Parts) -> Result<Option<u64>> {
    header_str(parts, &header::CONTENT_LENGTH)
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| Error::SizeInvalid(format!("Content-Length {v:?} is not a number")))
        })
        .transpose()
}

pub fn byte_stream(body: Body) -> ByteStream {
    body.into_data_stream().map_err(io::Error::other).boxed()
}

/// The body of an upload request, with its `Content-Length` and `Content-Range`.
pub fn upload_body(parts: &Parts, body: Body) -> Result<UploadBody> {
    let range = match header_str(parts, &header::CONTENT_RANGE) {
        None => None,
        Some(v) => Some(parse_chunk_range(v).ok_or_else(|| {
            Error::UploadInvalid(format!("Content-Range {v:?} is not of the form START-END"))
        })?),
    };
    Ok(UploadBody {
        stream: byte_stream(body),
        content_length: content_length(parts)?,
        range,
    })
}

/// A header value from text the registry produced (names, digests, numbers).
pub fn value(s: impl AsRef<str>) -> HeaderValue {
    HeaderValue::from_str(s.as_ref()).expect("registry-made header values are visible ASCII")
}

/// Whether an `If-None-Match` value matches `etag` (RFC 9110 §13.1.2: `*`, a list, and
/// weak comparison).
pub fn if_none_match(header: &str, etag: &HeaderValue) -> bool {
    let etag = etag.to_str().unwrap_or("");
    header.trim() == "*"
        || header
            .split(',')
            .map(|t| t.trim())
            .any(|t| t.strip_prefix("W/").unwrap_or(t) == etag)
}

/// The ETag of content named by `digest`.
pub fn etag(digest: &Digest) -> HeaderValue {
    value(format!("\"{digest}\""))
}
