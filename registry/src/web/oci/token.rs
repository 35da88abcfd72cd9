//! `GET /token` and `POST /token`: sign in with a PAT or a workload token (or nothing,
//! for anonymous pulls) and receive a registry token. The token names the caller; what
//! it may do to each repository is decided on every request, so the response is the
//! same whatever the requested scopes, and a partial grant is never an error.
//!
//! Part of the OCI surface (the token realm its challenges name); `auth/` verifies the
//! credentials and signs the token.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::error::OciError;
use super::http::Query;
use crate::auth::scope::parse_scopes;
use crate::auth::{AuthError, SignedIn};
use crate::hosts::realm_and_service;
use crate::state::AppState;

/// Form bodies of `POST /token` are small; anything larger is refused.
const MAX_FORM: usize = 64 * 1024;

/// `/token`, to merge beside the `/v2` router.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/token", get(get_token).post(post_token))
}

async fn get_token(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, _) = request.into_parts();
    let query = Query::of(&parts);
    let result = check_scopes(query.all("scope")).and_then(|()| {
        let who = match parts.headers.get(header::AUTHORIZATION) {
            None => SignedIn::anonymous(),
            Some(value) => app
                .auth
                .sign_in_header(value, app.client_address(&parts))
                .map_err(refused)?,
        };
        issue(&app, &parts, &who, false)
    });
    result.unwrap_or_else(|e| e.into_response())
}

/// The OAuth2 form containerd (and docker, for identity tokens) posts.
async fn post_token(State(app): State<Arc<AppState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_FORM).await else {
        return OciError::InvalidParameter("the token request body is too large".into())
            .into_response();
    };
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| {
        form.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let result = check_scopes(field("scope").into_iter()).and_then(|()| {
        let who = match field("grant_type") {
            Some("password") => {
                let origin = crate::auth::Origin {
                    account: field("username"),
                    address: app.client_address(&parts),
                };
                app.auth
                    .sign_in(field("password").unwrap_or_default(), origin)
                    .map_err(refused)?
            }
            Some(other) => {
                return Err(OciError::InvalidParameter(format!(
                    "grant_type {other:?} is not supported; use password (a PAT or a workload token)"
                )));
            }
            // No grant: like `GET /token`, whatever the Authorization header says.
            None => match parts.headers.get(header::AUTHORIZATION) {
                Some(value) => app
                    .auth
                    .sign_in_header(value, app.client_address(&parts))
                    .map_err(refused)?,
                None => SignedIn::anonymous(),
            },
        };
        issue(&app, &parts, &who, true)
    });
    result.unwrap_or_else(|e| e.into_response())
}

fn check_scopes<'a>(scopes: impl Iterator<Item = &'a str>) -> Result<(), OciError> {
    for s in scopes {
        parse_scopes(s).map_err(|e| OciError::InvalidParameter(e.to_string()))?;
    }
    Ok(())
}

/// Credentials refused at sign-in: a 401 asking for Basic credentials, or a 429 once
/// too many have failed.
fn refused(e: AuthError) -> OciError {
    if let Some(retry_after) = e.retry_after() {
        return OciError::TooManyRequests {
            message: e.to_string(),
            retry_after,
        };
    }
    OciError::Unauthorized {
        message: e.to_string(),
        challenge: r#"Basic realm="berth""#.to_owned(),
    }
}

fn issue(app: &AppState, parts: &Parts, who: &SignedIn, oauth: bool) -> Result<Response, OciError> {
    let (_, service) = realm_and_service(&app.hosts, parts);
    let (token, claims) = app.auth.issue(who, &service)?;
    let issued_at = jiff::Timestamp::from_second(claims.iat)
        .map(|t| t.to_string())
        .unwrap_or_default();
    let expires_in = claims.exp - claims.iat;
    let body = if oauth {
        json!({"access_token": token, "token": token, "expires_in": expires_in, "issued_at": issued_at})
    } else {
        json!({"token": token, "access_token": token, "expires_in": expires_in, "issued_at": issued_at})
    };
    let mut resp = (StatusCode::OK, Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}
