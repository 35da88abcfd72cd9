//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (session, monolithic, mount), then
//! `PATCH|PUT|GET|DELETE /v2/<name>/blobs/uploads/<id>`.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::access::{Access, may_read};
use super::{Handled, blob_location, upload_location};
use crate::content::UploadSession;
use crate::error::Error;
use crate::oci::digest::Digest;
use crate::oci::http::{DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID, Query, upload_body, value};
use crate::oci::range::upload_range_header;
use crate::oci::reference::RepoName;
use crate::state::AppState;

pub async fn start(
    app: &AppState,
    access: &Access,
    name: &str,
    parts: &Parts,
    body: Body,
) -> Handled {
    let repo = RepoName::parse(name)?;
    let query = Query::of(parts);
    if let Some(mount) = query.get("mount") {
        let digest: Digest = mount.parse()?;
        // Without `from` there is no repository to mount from that the caller is known
        // to see, so it gets an ordinary session (the spec's fallback).
        if let Some(from) = query.get("from") {
            let from = RepoName::parse(from)?;
            // Only from a repository the caller can read; else an ordinary session.
            if may_read(app, &access.identity, &from)
                && app.content.blob_mount(&repo, &from, &digest).await?
            {
                return Ok(created(name, &digest));
            }
        }
    } else if let Some(digest) = query.digest()? {
        // Monolithic upload: the whole blob in this one request.
        let body = upload_body(parts, body)?;
        app.content.upload_monolithic(&repo, &digest, body).await?;
        return Ok(created(name, &digest));
    }
    let session = app.content.upload_start(&repo).await?;
    Ok(in_progress(StatusCode::ACCEPTED, name, &session))
}

pub async fn patch(app: &AppState, name: &str, id: &str, parts: &Parts, body: Body) -> Handled {
    let repo = RepoName::parse(name)?;
    let query = Query::of(parts);
    let body = upload_body(parts, body)?;
    let session = app
        .content
        .upload_append(&repo, id, query.get(STATE), body)
        .await
        .map_err(|e| with_location(e, name, id))?;
    Ok(in_progress(StatusCode::ACCEPTED, name, &session))
}

pub async fn put(app: &AppState, name: &str, id: &str, parts: &Parts, body: Body) -> Handled {
    let repo = RepoName::parse(name)?;
    let query = Query::of(parts);
    let digest = query.digest()?.ok_or_else(|| {
        Error::DigestInvalid("finishing an upload needs a digest=ALGORITHM:HEX parameter".into())
    })?;
    let body = upload_body(parts, body)?;
    app.content
        .upload_finish(&repo, id, query.get(STATE), &digest, body)
        .await
        .map_err(|e| with_location(e, name, id))?;
    Ok(created(name, &digest))
}

pub async fn status(app: &AppState, name: &str, id: &str, parts: &Parts) -> Handled {
    let repo = RepoName::parse(name)?;
    let query = Query::of(parts);
    let session = app
        .content
        .upload_status(&repo, id, query.get(STATE))
        .await?;
    Ok(in_progress(StatusCode::NO_CONTENT, name, &session))
}

pub async fn cancel(app: &AppState, name: &str, id: &str, parts: &Parts) -> Handled {
    let repo = RepoName::parse(name)?;
    let query = Query::of(parts);
    app.content
        .upload_cancel(&repo, id, query.get(STATE))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The query parameter carrying an upload's signed state, as distribution names it.
const STATE: &str = "_state";

/// A session that continues: where (with its signed state), and how much it holds.
fn in_progress(status: StatusCode, name: &str, session: &UploadSession) -> Response {
    let mut resp = status.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        value(upload_location(name, &session.id, &session.state)),
    );
    h.insert(header::RANGE, value(upload_range_header(session.offset)));
    h.insert(DOCKER_UPLOAD_UUID, value(&session.id));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    resp
}

fn created(name: &str, digest: &Digest) -> Response {
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, value(blob_location(name, digest)));
    h.insert(DOCKER_CONTENT_DIGEST, value(digest.to_string()));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    resp
}

/// A 416 tells the client where the session continues (content gives the signed state).
fn with_location(e: Error, name: &str, id: &str) -> Error {
    match e {
        Error::ChunkOutOfOrder {
            got,
            offset,
            location: state,
        } => Error::ChunkOutOfOrder {
            got,
            offset,
            location: upload_location(name, id, &state),
        },
        e => e,
    }
}
