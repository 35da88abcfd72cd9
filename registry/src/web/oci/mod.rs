//! The OCI surface: `/v2/` (a file per endpoint family) and `/token` (`token.rs`).
//! Paths are parsed by `oci::path`, since repository names contain slashes, then mapped
//! once to a typed `Call` (`call.rs`) that authorization and dispatch both read; errors
//! are rendered as the spec's JSON in one place (`error.rs`).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use percent_encoding::percent_decode_str;

use self::access::Access;
use self::call::{Call, RepoOp};
use self::error::{OciError as Error, Result};
use crate::metrics::RouteLabel;
use crate::oci::path::parse_route;
use crate::oci::reference::RepoName;
use crate::state::AppState;

mod access;
mod base;
mod blobs;
mod manifests;
mod referrers;
mod tags;
mod uploads;

pub mod call;
pub mod error;
pub mod http;
pub mod token;

/// The OCI Distribution API.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v2", any(dispatch))
        .route("/v2/", any(dispatch))
        .route("/v2/{*rest}", any(dispatch))
}

async fn dispatch(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Routed on the raw path: the repository name is never decoded, so `%2F` cannot
    // smuggle a slash (or `%2e%2e` a `..`) into it; such a name is NAME_INVALID. Only
    // the last segment may arrive encoded (`sha256%3A…`).
    let path = parts.uri.path();
    let rest = if path == "/v2" {
        Some("")
    } else {
        path.strip_prefix("/v2/")
    };
    let Some(raw_route) = rest.and_then(parse_route) else {
        return Error::NotFound.into_response();
    };
    let decoded = raw_route
        .last_segment()
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned());
    let route = match &decoded {
        Some(last) => raw_route.with_last_segment(last),
        None => raw_route,
    };
    let label = RouteLabel(route.label());
    let body = super::layers::count_received(&app.metrics, label, body);
    let mut response = match Call::of(route, &parts.method)
        .and_then(|call| access::authorize(&app, &parts, call))
    {
        Err(e) => e.into_response(),
        Ok((_, Call::Base)) => base::handle(),
        Ok((access, Call::Repo { repo, op })) => handle(&app, &access, &repo, op, &parts, body)
            .await
            .unwrap_or_else(IntoResponse::into_response),
    };
    response.extensions_mut().insert(RouteLabel(route.label()));
    response
}

/// Runs an authorized call on a repository.
async fn handle(
    app: &AppState,
    access: &Access,
    repo: &RepoName,
    op: RepoOp<'_>,
    parts: &Parts,
    body: Body,
) -> Handled {
    match op {
        RepoOp::BlobGet { digest } => blobs::get(app, repo, digest, parts).await,
        RepoOp::BlobDelete { digest } => blobs::delete(app, repo, digest).await,
        RepoOp::UploadStart => uploads::start(app, access, repo, parts, body).await,
        RepoOp::UploadPatch { id } => uploads::patch(app, repo, id, parts, body).await,
        RepoOp::UploadPut { id } => uploads::put(app, repo, id, parts, body).await,
        RepoOp::UploadStatus { id } => uploads::status(app, repo, id, parts).await,
        RepoOp::UploadCancel { id } => uploads::cancel(app, repo, id, parts).await,
        RepoOp::ManifestGet { reference } => manifests::get(app, repo, reference, parts).await,
        RepoOp::ManifestPut { reference } => {
            manifests::put(app, access, repo, reference, parts, body).await
        }
        RepoOp::ManifestDelete { reference } => {
            manifests::delete(app, access, repo, reference, parts).await
        }
        RepoOp::TagsList => tags::list(app, repo, parts).await,
        RepoOp::Referrers { digest } => referrers::list(app, repo, digest, parts).await,
    }
}

/// Where an upload session continues: its id, and the signed state that lets any
/// replica continue it.
fn upload_location(name: &RepoName, id: &str, state: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}?_state={state}")
}

/// Where a blob can be read.
fn blob_location(name: &RepoName, digest: &impl std::fmt::Display) -> String {
    format!("/v2/{name}/blobs/{digest}")
}

type Handled = Result<Response>;
