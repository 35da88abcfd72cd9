//! `/login` and `/logout`: a username and a PAT (or a workload token) for a session
//! cookie (`session.rs`), and back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::page;
use super::session::{
    SESSION_COOKIE, SESSION_TTL, SIGN_IN_COOKIE, Viewer, constant_eq, cookie, set_cookie,
};
use crate::state::AppState;

/// How long a sign-in form may be left open before it is sent.
const FORM_TTL: Duration = Duration::from_secs(3600);

pub async fn form(State(app): State<Arc<AppState>>, parts: Parts) -> Response {
    let viewer = Viewer::of(&app, &parts);
    let csrf = uuid::Uuid::new_v4().simple().to_string();
    let cookie = set_cookie(&app, &parts, SIGN_IN_COOKIE, &csrf, "/login", FORM_TTL);
    let body = sign_in_page(&viewer, &csrf, None);
    ([(header::SET_COOKIE, cookie)], body).into_response()
}

fn sign_in_page(viewer: &Viewer, csrf: &str, error: Option<&str>) -> Markup {
    page(
        "Sign in",
        viewer,
        html! {
            h1 { "Sign in to Berth" }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form.sign-in method="post" action="/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="login" { "Username" }
                input #login type="text" name="login" autocomplete="username" required;
                label for="token" { "Personal access token" }
                input #token type="password" name="token" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// A form's fields.
pub(super) fn fields(body: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

pub async fn sign_in(State(app): State<Arc<AppState>>, parts: Parts, body: Bytes) -> Response {
    let viewer = Viewer::of(&app, &parts);
    let form = fields(&body);
    let sent = form.get("csrf").map(String::as_str).unwrap_or_default();
    let expected = cookie(&parts, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_eq(&expected, sent) {
        return refused();
    }
    let login = form.get("login").map(String::as_str).unwrap_or_default();
    let secret = form.get("token").map(String::as_str).unwrap_or_default();
    let origin = crate::auth::Origin {
        account: Some(login),
        address: app.client_address(&parts),
    };
    // A PAT signs in only as its own user; a workload token names its repository.
    let signed_in = app.auth.sign_in(secret, origin).ok().filter(|s| {
        s.identity
            .user_name()
            .is_none_or(|user| user.eq_ignore_ascii_case(login))
    });
    let Some(signed_in) = signed_in else {
        let page = sign_in_page(&viewer, &expected, Some("Incorrect username or token."));
        return (StatusCode::UNAUTHORIZED, page).into_response();
    };
    let token = match app.auth.issue_session(&signed_in, SESSION_TTL) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "cannot sign a pages session");
            return (StatusCode::SERVICE_UNAVAILABLE, "cannot sign a session now").into_response();
        }
    };
    let session = set_cookie(&app, &parts, SESSION_COOKIE, &token, "/", SESSION_TTL);
    let spent = set_cookie(&app, &parts, SIGN_IN_COOKIE, "", "/login", Duration::ZERO);
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    response.headers_mut().append(header::SET_COOKIE, session);
    response.headers_mut().append(header::SET_COOKIE, spent);
    response
}

pub async fn sign_out(State(app): State<Arc<AppState>>, parts: Parts, body: Bytes) -> Response {
    let viewer = Viewer::of(&app, &parts);
    if !viewer.csrf_matches(fields(&body).get("csrf").map(String::as_str)) {
        return refused();
    }
    let cleared = set_cookie(&app, &parts, SESSION_COOKIE, "", "/", Duration::ZERO);
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, HeaderValue::from_static("/")),
            (header::SET_COOKIE, cleared),
        ],
    )
        .into_response()
}

/// A form sent without its CSRF token (or with another session's).
pub(super) fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        page(
            "Refused",
            &Viewer::anonymous(),
            html! {
                h1 { "This form has expired" }
                p { "Reload the page and send it again." }
            },
        ),
    )
        .into_response()
}
