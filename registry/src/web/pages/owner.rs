//! An owner's packages, `/orgs/OWNER/packages` and `/users/OWNER/packages`: those the
//! viewer may read, by name, 30 to a page (`?page=N`), with GitHub's visibility filter
//! (`?visibility=public|private`) and a name search (`?q=…`, part of the name).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{not_found, page};
use super::session::Viewer;
use crate::state::AppState;

const PER_PAGE: usize = 30;

pub async fn of<const ORG: bool>(
    State(app): State<Arc<AppState>>,
    Path(owner): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    parts: Parts,
) -> Response {
    let viewer = Viewer::of(&app, &parts);
    let snap = app.policy.snapshot();
    if snap.org(&owner).is_some() != ORG {
        return not_found(&viewer);
    }
    let visibility = query
        .get("visibility")
        .map(String::as_str)
        .filter(|v| matches!(*v, "public" | "private"));
    let search = query
        .get("q")
        .map(|q| q.trim().to_lowercase())
        .unwrap_or_default();
    let number = super::viewing::page_number(&query);
    let names: Vec<String> =
        crate::policy::readable_packages(&snap, &viewer.identity, &owner, visibility)
            .into_iter()
            .filter(|n| n.to_lowercase().contains(&search))
            .collect();
    let pages = names.len().div_ceil(PER_PAGE).max(1);
    let start = (number - 1).saturating_mul(PER_PAGE).min(names.len());
    let shown = &names[start..(start + PER_PAGE).min(names.len())];
    let kind = if ORG { "orgs" } else { "users" };
    let base = format!("/{kind}/{owner}/packages");
    let query_of = |page: usize| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(v) = visibility {
            q.append_pair("visibility", v);
        }
        if !search.is_empty() {
            q.append_pair("q", &search);
        }
        q.append_pair("page", &page.to_string());
        format!("{base}?{}", q.finish())
    };
    page(
        &format!("{owner}'s packages"),
        &viewer,
        html! {
            h1 { (owner) "'s packages" }
            form.search method="get" action=(base) role="search" {
                label for="q" { "Find a package" }
                input #q type="search" name="q" value=(search);
                label for="visibility" { "Visibility" }
                select #visibility name="visibility" {
                    option value="" selected[visibility.is_none()] { "All" }
                    option value="public" selected[visibility == Some("public")] { "Public" }
                    option value="private" selected[visibility == Some("private")] { "Private" }
                }
                button type="submit" { "Search" }
            }
            p.muted { (names.len()) " packages" }
            @if shown.is_empty() {
                p.muted { "No packages here." }
            } @else {
                ul.versions {
                    @for name in shown {
                        @let public = snap.package(&owner, name).is_some_and(|p| p.visibility == berth_crds::access::Visibility::Public);
                        li {
                            a href=(super::viewing::package_path(ORG, &owner, name)) { strong { (name) } }
                            span.badge { @if public { "Public" } @else { "Private" } }
                        }
                    }
                }
            }
            (super::viewing::paging(number, pages, query_of))
        },
    )
    .into_response()
}
