//! The frame every page shares, its stylesheet, and the not-found page.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::session::Viewer;

/// Served from this path on the site host (the policy allows only same-origin styles).
pub const STYLESHEET_PATH: &str = "/assets/berth.css";

const STYLESHEET: &str = include_str!("berth.css");

/// The pages' icon (without one, browsers ask for `/favicon.ico` and log its 404).
pub const ICON_PATH: &str = "/assets/berth.svg";

const ICON: &str = include_str!("berth.svg");

pub async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ICON,
    )
        .into_response()
}

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// A whole page for `viewer`: `title` in the tab, who is signed in (or a sign-in link)
/// in the heading bar, `main` as its content.
pub fn page(title: &str, viewer: &Viewer, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Berth" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
                link rel="icon" type="image/svg+xml" href=(ICON_PATH);
            }
            body {
                header.site {
                    a.brand href="/" { "Berth" }
                    nav {
                        @match (viewer.name(), viewer.csrf()) {
                            (Some(name), Some(csrf)) => {
                                span.muted { "Signed in as " strong { (name) } }
                                form.inline method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" { "Sign out" }
                                }
                            }
                            _ => { a href="/login" { "Sign in" } }
                        }
                    }
                }
                main { (main) }
            }
        }
    }
}

/// The 404 of every page: the same for a missing package and one the viewer may not
/// see, so a page tells nothing of what it hides.
pub fn not_found(viewer: &Viewer) -> Response {
    let body = page(
        "Page not found",
        viewer,
        html! {
            h1 { "Page not found" }
            p { "There is nothing here, or you do not have access to it." }
        },
    );
    (StatusCode::NOT_FOUND, body).into_response()
}
