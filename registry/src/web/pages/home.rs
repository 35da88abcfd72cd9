//! `/`: where images are pushed and pulled, how to sign in to it, and for a signed-in
//! viewer their owners (themselves and their organizations) with the packages of each
//! they may read.

use std::sync::Arc;

use axum::extract::State;
use axum::http::request::Parts;
use maud::{Markup, html};

use super::layout::page;
use super::session::Viewer;
use super::viewing::{owner_list_path, package_path};
use crate::policy::readable_packages;
use crate::state::AppState;

/// Packages listed per owner (the owner's list has the rest).
const LISTED: usize = 10;

pub async fn home(State(app): State<Arc<AppState>>, parts: Parts) -> Markup {
    let registry = crate::web::push_origin(&app, &parts).registry;
    let viewer = Viewer::of(&app, &parts);
    let snap = app.policy.snapshot();
    // The viewer's own namespace first, then their organizations by name.
    let mut owners: Vec<(String, bool)> = Vec::new();
    if let Some(user) = viewer
        .identity
        .user_name()
        .filter(|_| viewer.name().is_some())
    {
        owners.push((user.to_owned(), false));
        let mut orgs: Vec<String> = snap
            .orgs()
            .filter(|o| o.owners.contains(user) || o.members.contains(user))
            .map(|o| o.name.clone())
            .collect();
        orgs.sort();
        owners.extend(orgs.into_iter().map(|o| (o, true)));
    }
    let listed: Vec<(String, bool, Vec<String>)> = owners
        .into_iter()
        .map(|(owner, org)| {
            let names = readable_packages(&snap, &viewer.identity, &owner, None);
            (owner, org, names)
        })
        .collect();
    page(
        "Berth",
        &viewer,
        html! {
            h1 { "Berth" }
            p { "Container images are served at " code { (registry) } "." }
            section {
                h2 { "Sign in with a personal access token" }
                pre { code { "docker login " (registry) } }
                @if viewer.name().is_none() { p { a href="/login" { "Sign in" } " to see your packages." } }
            }
            @for (owner, org, names) in &listed {
                section {
                    h2 { a href=(owner_list_path(*org, owner)) { (owner) } }
                    @if names.is_empty() {
                        p.muted { "No packages yet." }
                    } @else {
                        (package_links(*org, owner, names))
                    }
                    p.muted {
                        a href=(super::deleted::path_of(owner, *org)) { "Deleted packages" }
                    }
                }
            }
        },
    )
}

fn package_links(org: bool, owner: &str, names: &[String]) -> Markup {
    let base = owner_list_path(org, owner);
    html! {
        ul.versions {
            @for name in names.iter().take(LISTED) {
                li { a href=(package_path(org, owner, name)) { (name) } }
            }
        }
        @if names.len() > LISTED {
            p { a href=(base) { "All " (names.len()) " packages" } }
        }
    }
}
