//! The `/v2/` router: one file per endpoint family. Paths are routed by `oci::path`,
//! since repository names contain slashes.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use percent_encoding::percent_decode_str;

use super::path::{OciRoute, parse_route};
use crate::error::{Error, Result};
use crate::state::AppState;

mod access;
mod base;
mod blobs;
mod manifests;
mod referrers;
mod tags;
mod uploads;

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
    let app = &app;
    let access = match access::authorize(app, &parts, route) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let result = match (route, parts.method.as_str()) {
        (OciRoute::Base, "GET" | "HEAD") => Ok(base::handle()),
        (OciRoute::Blob { name, digest }, "GET" | "HEAD") => {
            blobs::get(app, name, digest, &parts).await
        }
        (OciRoute::Blob { name, digest }, "DELETE") => blobs::delete(app, name, digest).await,
        (OciRoute::UploadStart { name }, "POST") => {
            uploads::start(app, &access, name, &parts, body).await
        }
        (OciRoute::Upload { name, id }, "PATCH") => {
            uploads::patch(app, name, id, &parts, body).await
        }
        (OciRoute::Upload { name, id }, "PUT") => uploads::put(app, name, id, &parts, body).await,
        (OciRoute::Upload { name, id }, "GET") => uploads::status(app, name, id, &parts).await,
        (OciRoute::Upload { name, id }, "DELETE") => uploads::cancel(app, name, id, &parts).await,
        (OciRoute::Manifest { name, reference }, "GET" | "HEAD") => {
            manifests::get(app, name, reference, &parts).await
        }
        (OciRoute::Manifest { name, reference }, "PUT") => {
            manifests::put(app, &access, name, reference, &parts, body).await
        }
        (OciRoute::Manifest { name, reference }, "DELETE") => {
            manifests::delete(app, name, reference).await
        }
        (OciRoute::Tags { name }, "GET" | "HEAD") => tags::list(app, name, &parts).await,
        (OciRoute::Referrers { name, digest }, "GET" | "HEAD") => {
            referrers::list(app, name, digest, &parts).await
        }
        (route, _) => Err(not_allowed(route, &parts.method)),
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

fn not_allowed(route: OciRoute<'_>, method: &Method) -> Error {
    Error::MethodNotAllowed {
        method: method.to_string(),
        allow: route.allowed_methods(),
    }
}

/// Where an upload session continues: its id, and the signed state that lets any
/// replica continue it.
fn upload_location(name: &str, id: &str, state: &str) -> String {
    format!("/v2/{name}/blobs/uploads/{id}?_state={state}")
}

/// Where a blob can be read.
fn blob_location(name: &str, digest: &impl std::fmt::Display) -> String {
    format!("/v2/{name}/blobs/{digest}")
}

type Handled = Result<Response>;
