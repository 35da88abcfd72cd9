//! The pages surface on the site host (`HOST`): GitHub's package pages, rendered on the
//! server with maud (compiled templates that escape every value they interpolate) and
//! usable without JavaScript. A file per page family; `layout.rs` holds the frame and
//! the stylesheet, `session.rs` who is looking (the session cookie, the forms' CSRF
//! tokens), `sign_in.rs` how a session starts and ends, `headers` below what every page
//! is sent with.
//!
//! What a page shows is what the REST API would show the same viewer: both read the
//! `packages::` use-cases and `policy::decide`; a package the viewer may not read is a
//! 404 identical to a missing one.

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::state::AppState;

mod deleted;
mod home;
mod layout;
mod manage;
mod owner;
mod package;
mod session;
mod settings;
mod sign_in;
mod version;
mod versions;
mod viewing;

pub fn router() -> Router<Arc<AppState>> {
    let router = Router::new()
        .route("/", get(home::home))
        .route(layout::STYLESHEET_PATH, get(layout::stylesheet))
        .route(layout::ICON_PATH, get(layout::icon))
        .route("/login", get(sign_in::form).post(sign_in::sign_in))
        .route("/logout", post(sign_in::sign_out))
        .route(
            "/settings/packages",
            get(deleted::of_user).post(deleted::restore_user),
        )
        .route(
            "/organizations/{org}/settings/packages",
            get(deleted::of_org).post(deleted::restore_org),
        )
        .merge(package_routes::<true>("/orgs"))
        .merge(package_routes::<false>("/users"));
    headers().into_iter().fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::overriding(name, value))
    })
}

/// The pages of one owner's packages, under `/orgs` (`ORG`) or `/users`.
fn package_routes<const ORG: bool>(prefix: &str) -> Router<Arc<AppState>> {
    let base = format!("{prefix}/{{owner}}/packages/container");
    Router::new()
        .route(
            &format!("{prefix}/{{owner}}/packages"),
            get(owner::of::<ORG>),
        )
        .route(&format!("{base}/package/{{name}}"), get(package::of::<ORG>))
        .route(
            &format!("{base}/{{name}}/versions"),
            get(versions::of::<ORG>),
        )
        .route(
            &format!("{base}/{{name}}/settings"),
            get(settings::of::<ORG>).post(manage::settings::<ORG>),
        )
        .route(&format!("{base}/{{name}}/{{id}}"), get(version::of::<ORG>))
        .route(
            &format!("{base}/{{name}}/{{id}}/{{act}}"),
            post(manage::version::<ORG>),
        )
}

/// Sent with every page. Labels, annotations and tag names come from pushed images, so
/// besides escaping them the pages allow no script at all, no inline style, no framing
/// (clickjacking of the settings' buttons) and no sniffing of types.
fn headers() -> [(HeaderName, HeaderValue); 4] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                 base-uri 'none'; frame-ancestors 'none'",
            ),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
    ]
}
