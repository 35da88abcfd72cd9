//! `/`: where images are pushed and pulled, and how to sign in to it.

use std::sync::Arc;

use axum::extract::State;
use axum::http::request::Parts;
use maud::{Markup, html};

use super::layout::page;
use super::session::Viewer;
use crate::state::AppState;

pub async fn home(State(app): State<Arc<AppState>>, parts: Parts) -> Markup {
    let registry = crate::web::push_origin(&app, &parts).registry;
    let viewer = Viewer::of(&app, &parts);
    page(
        "Berth",
        &viewer,
        html! {
            h1 { "Berth" }
            p { "Container images are served at " code { (registry) } "." }
            section {
                h2 { "Sign in with a personal access token" }
                pre { code { "docker login " (registry) } }
            }
        },
    )
}
