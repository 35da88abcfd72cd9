//! Blob uploads: `POST /v2/<name>/blobs/uploads/` (session, monolithic, mount), then
//! `PATCH|PUT|GET|DELETE /v2/<name>/blobs/uploads/<id>`.

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::access::{Access, may_read};
use super::{Handled, blob_location, upload_location};
use crate::content::{self, UploadSession};
use crate::oci::digest::Digest;
use crate::oci::range::upload_range_header;
use crate::oci::reference::RepoName;
use crate::state::AppState;
use crate::web::oci::error::OciError;
use crate::web::oci::http::{DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID, Query, upload_body, value};

pub async fn start(
    app: &AppState,
    access: &Access,
    repo: &RepoName,
    parts: &Parts,
    body: Body,
) -> Handled {
    let query = Query::of(parts);
    if let Some(mount) = query.get("mount") {
        let digest: Digest = mount.parse()?;
        // Without `from` there is no repository to mount from that the caller is known
        // to see, so it gets an ordinary session (the spec's fallback).
        if let Some(from) = query.get("from") {
            let from = RepoName::parse(from)?;
            // Only from a repository the caller can read; else an ordinary session.
            if may_read(app, &access.identity, &from)
                && app.content.blob_mount(repo, &from, &digest).await?
            {
                return Ok(created(repo, &digest));
            }
        }
    } else if let Some(digest) = query.digest()? {
        // Monolithic upload: the whole blob in this one request.
        let body = upload_body(parts, body)?;
        app.content.upload_monolithic(repo, &digest, body).await?;
        return Ok(created(repo, &digest));
    }
    let session = app.content.upload_start(repo).await?;
    Ok(in_progress(StatusCode::ACCEPTED, repo, &session))
}

pub async fn patch(
    app: &AppState,
    repo: &RepoName,
    id: &str,
    parts: &Parts,
    body: Body,
) -> Handled {
    let query = Query::of(parts);
    let body = upload_body(parts, body)?;
    let appended = app
        .content
        .upload_append(repo, id, query.get(STATE), body)
        .await;
    let session = resumable(app, appended, repo, id, query.get(STATE)).await?;
    Ok(in_progress(StatusCode::ACCEPTED, repo, &session))
}

pub async fn put(app: &AppState, repo: &RepoName, id: &str, parts: &Parts, body: Body) -> Handled {
    let query = Query::of(parts);
    let digest = query.digest()?.ok_or_else(|| {
        content::Error::DigestInvalid(
            "finishing an upload needs a digest=ALGORITHM:HEX parameter".into(),
        )
    })?;
    let body = upload_body(parts, body)?;
    let finished = app
        .content
        .upload_finish(repo, id, query.get(STATE), &digest, body)
        .await;
    resumable(app, finished, repo, id, query.get(STATE)).await?;
    Ok(created(repo, &digest))
}

pub async fn status(app: &AppState, repo: &RepoName, id: &str, parts: &Parts) -> Handled {
    let query = Query::of(parts);
    let session = app
        .content
        .upload_status(repo, id, query.get(STATE))
        .await?;
    Ok(in_progress(StatusCode::NO_CONTENT, repo, &session))
}

pub async fn cancel(app: &AppState, repo: &RepoName, id: &str, parts: &Parts) -> Handled {
    let query = Query::of(parts);
    app.content
        .upload_cancel(repo, id, query.get(STATE))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The query parameter carrying an upload's signed state, as distribution names it.
const STATE: &str = "_state";

/// A session that continues: where (with its signed state), and how much it holds.
fn in_progress(status: StatusCode, repo: &RepoName, session: &UploadSession) -> Response {
    let mut resp = status.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::LOCATION,
        value(upload_location(repo, &session.id, &session.state)),
    );
    h.insert(header::RANGE, value(upload_range_header(session.offset)));
    h.insert(DOCKER_UPLOAD_UUID, value(&session.id));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    resp
}

fn created(repo: &RepoName, digest: &Digest) -> Response {
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    h.insert(header::LOCATION, value(blob_location(repo, digest)));
    h.insert(DOCKER_CONTENT_DIGEST, value(digest.to_string()));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
    resp
}

/// A request's outcome, where a 416 also tells the client where the session continues:
/// its URL with a freshly signed state (none if the session is gone meanwhile).
async fn resumable<T>(
    app: &AppState,
    outcome: content::Result<T>,
    repo: &RepoName,
    id: &str,
    state: Option<&str>,
) -> Result<T, OciError> {
    match outcome {
        Err(content::Error::ChunkOutOfOrder { got, offset }) => {
            let session = app.content.upload_status(repo, id, state).await.ok();
            Err(OciError::ChunkOutOfOrder {
                got,
                offset,
                location: session.map(|s| upload_location(repo, id, &s.state)),
            })
        }
        other => Ok(other?),
    }
}
