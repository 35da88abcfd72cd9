//! The frame every page shares, its stylesheet, and the not-found page.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

/// Served from this path on the site host (the policy allows only same-origin styles).
pub const STYLESHEET_PATH: &str = "/assets/berth.css";

const STYLESHEET: &str = include_str!("berth.css");

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

/// A whole page: `title` in the tab and the heading bar, `main` as its content.
pub fn page(title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Berth" }
                link rel="stylesheet" href=(STYLESHEET_PATH);
            }
            body {
                header.site {
                    a.brand href="/" { "Berth" }
                }
                main { (main) }
            }
        }
    }
}

/// The 404 of every page: the same for a missing package and one the viewer may not
/// see, so a page tells nothing of what it hides.
pub fn not_found() -> Response {
    let body = page(
        "Page not found",
        html! {
            h1 { "Page not found" }
            p { "There is nothing here, or you do not have access to it." }
        },
    );
    (StatusCode::NOT_FOUND, body).into_response()
}
