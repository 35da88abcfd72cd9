//! `GET|HEAD|DELETE /v2/<name>/blobs/<digest>`.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Handled;
use crate::content::Error;
use crate::oci::digest::Digest;
use crate::oci::range::{RangeRequest, parse_range};
use crate::oci::reference::RepoName;
use crate::state::AppState;
use crate::web::oci::http::{DOCKER_CONTENT_DIGEST, etag, header_str, value};

pub async fn get(app: &AppState, repo: &RepoName, digest: &str, parts: &Parts) -> Handled {
    let digest: Digest = digest.parse()?;
    if parts.method == Method::HEAD {
        // Claimed: a client told the blob is here will not upload it, and its manifest
        // will name it.
        let len = app
            .content
            .blob_len_claimed(repo, &digest)
            .await?
            .ok_or(Error::BlobUnknown)?;
        return Ok(blob_response(StatusCode::OK, &digest, len, Body::empty()));
    }
    let range_header = header_str(parts, &header::RANGE);
    // Whole-blob GETs may go straight to the backend (S3 with `redirect: true`), so the
    // bytes bypass the registry. Ranges are answered here, with the spec's 206/416.
    if range_header.is_none()
        && let Some(url) = app.content.blob_redirect(repo, &digest).await?
    {
        let mut resp = StatusCode::TEMPORARY_REDIRECT.into_response();
        let h = resp.headers_mut();
        h.insert(header::LOCATION, value(url));
        h.insert(DOCKER_CONTENT_DIGEST, value(digest.to_string()));
        return Ok(resp);
    }
    let mut partial = None;
    let blob = app
        .content
        .blob_open(repo, &digest, |len| {
            match range_header.map(|h| parse_range(h, len)) {
                None | Some(RangeRequest::Full) => Ok(0..len),
                Some(RangeRequest::Partial(r)) => {
                    partial = Some(r.clone());
                    Ok(r)
                }
                Some(RangeRequest::Unsatisfiable) => Err(Error::RangeNotSatisfiable { len }),
            }
        })
        .await?;
    let body = Body::from_stream(blob.body);
    Ok(match partial {
        None => blob_response(StatusCode::OK, &digest, blob.len, body),
        Some(r) => {
            let mut resp =
                blob_response(StatusCode::PARTIAL_CONTENT, &digest, r.end - r.start, body);
            let range = format!("bytes {}-{}/{}", r.start, r.end - 1, blob.len);
            resp.headers_mut()
                .insert(header::CONTENT_RANGE, value(range));
            resp
        }
    })
}

/// A blob response. Pushed bytes are untrusted: `nosniff` and a sandboxing CSP keep a
/// browser from ever running them as a page.
fn blob_response(status: StatusCode, digest: &Digest, len: u64, body: Body) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(DOCKER_CONTENT_DIGEST, value(digest.to_string()));
    h.insert(header::ETAG, etag(digest));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=31536000"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    resp
}

pub async fn delete(app: &AppState, repo: &RepoName, digest: &str) -> Handled {
    let digest: Digest = digest.parse()?;
    app.content.blob_delete(repo, &digest).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
