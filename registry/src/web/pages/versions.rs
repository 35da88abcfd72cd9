//! A package's versions, `/orgs/OWNER/packages/container/NAME/versions` (and `/users/…`),
//! newest first, 30 to a page (`?page=N`), filtered as GHCR's links filter them:
//! `?filters[version_type]=tagged` or `untagged`, and for those who may restore them
//! `deleted`, each deleted version with its Restore button.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use maud::{Markup, html};

use super::layout::page;
use super::session::Viewer;
use super::viewing::{self, NotFound, Shown};
use crate::packages::versions::{Page, State as VersionState, Version};
use crate::state::AppState;

/// Versions on a page of the list.
pub const PER_PAGE: usize = 30;
/// The most versions a filtered list reads (GitHub's own listing stops at 10,000 too).
const MOST: usize = 10_000;
const FILTER: &str = "filters[version_type]";

/// Which versions the list shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Filter {
    All,
    Tagged,
    Untagged,
    Deleted,
}

impl Filter {
    fn of(query: &HashMap<String, String>) -> Filter {
        match query.get(FILTER).map(String::as_str) {
            Some("tagged") => Filter::Tagged,
            Some("untagged") => Filter::Untagged,
            Some("deleted") => Filter::Deleted,
            _ => Filter::All,
        }
    }

    fn keeps(self, v: &Version) -> bool {
        match self {
            Filter::All | Filter::Deleted => true,
            Filter::Tagged => !v.tags.is_empty(),
            Filter::Untagged => v.tags.is_empty(),
        }
    }

    /// The query of this filter's list at `page` (1-based).
    fn query(self, page: usize) -> String {
        let filter = match self {
            Filter::All => String::new(),
            Filter::Tagged => "filters%5Bversion_type%5D=tagged&".to_owned(),
            Filter::Untagged => "filters%5Bversion_type%5D=untagged&".to_owned(),
            Filter::Deleted => "filters%5Bversion_type%5D=deleted&".to_owned(),
        };
        format!("?{filter}page={page}")
    }
}

pub async fn of<const ORG: bool>(
    State(app): State<Arc<AppState>>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    parts: Parts,
) -> Result<Response, NotFound> {
    let (viewer, shown) = viewing::open(&app, &parts, ORG, &owner, &name)?;
    let may_restore = shown.may(&app, &viewer, crate::policy::Action::Restore);
    let filter = Filter::of(&query);
    if filter == Filter::Deleted && !may_restore {
        return Err(NotFound(viewer));
    }
    let number = viewing::page_number(&query);
    let rendered = render(&app, &viewer, &shown, filter, number, may_restore).await;
    Ok(viewing::answer(&viewer, &shown.repo, rendered))
}

async fn render(
    app: &AppState,
    viewer: &Viewer,
    shown: &Shown,
    filter: Filter,
    number: usize,
    may_restore: bool,
) -> crate::content::Result<Markup> {
    let repo = &shown.repo;
    let packages = app.packages();
    let record = packages.record_of(repo).await?;
    // Unfiltered, the store pages the list; a filter needs the versions it pages.
    let (rows, total) = if matches!(filter, Filter::All | Filter::Deleted) {
        let page = Page {
            number,
            per_page: PER_PAGE,
        };
        let state = match filter {
            Filter::Deleted => VersionState::Deleted,
            _ => VersionState::Active,
        };
        packages.versions(repo, record.id, state, page).await?
    } else {
        let every = Page {
            number: 1,
            per_page: MOST,
        };
        let (all, _) = packages
            .versions(repo, record.id, VersionState::Active, every)
            .await?;
        let kept: Vec<Version> = all.into_iter().filter(|v| filter.keeps(v)).collect();
        let total = kept.len();
        let start = (number - 1).saturating_mul(PER_PAGE).min(total);
        let end = (start + PER_PAGE).min(total);
        (kept[start..end].to_vec(), total)
    };
    let downloads = packages.downloads.of(&app.content, repo, record.id).await?;
    let pages = total.div_ceil(PER_PAGE).max(1);
    let list = shown.versions_path();
    let mut filters = vec![
        (Filter::All, "All"),
        (Filter::Tagged, "Tagged"),
        (Filter::Untagged, "Untagged"),
    ];
    if may_restore {
        filters.push((Filter::Deleted, "Deleted"));
    }
    Ok(page(
        &format!("Versions · {}", repo.package()),
        viewer,
        html! {
            h1 { a href=(shown.page_path()) { (repo.package()) } " / versions" }
            nav.filters aria-label="Filter versions" {
                @for (f, label) in filters.iter().copied() {
                    @if f == filter { strong aria-current="page" { (label) } }
                    @else { a href={ (list) (f.query(1)) } { (label) } }
                }
            }
            p.muted { (total) " versions" }
            @if rows.is_empty() {
                p.muted { "No versions here." }
            } @else {
                ul.versions {
                    @for v in &rows {
                        @if filter == Filter::Deleted {
                            li {
                                strong { @if v.tags.is_empty() { "untagged" } @else { (v.tags.join(", ")) } }
                                div.muted {
                                    "Deleted " (v.record.deleted_at.as_deref().unwrap_or_default())
                                    " · Digest " code { (v.record.digest) }
                                }
                                form.inline method="post" action=(shown.version_act_path(v.record.id, "restore")) {
                                    input type="hidden" name="csrf" value=(viewer.csrf().unwrap_or_default());
                                    button type="submit" aria-label={ "Restore " (v.record.digest) } { "Restore" }
                                }
                            }
                        } @else {
                            (viewing::version_row(shown, v, &downloads))
                        }
                    }
                }
            }
            (viewing::paging(number, pages, |n| format!("{list}{}", filter.query(n))))
        },
    ))
}
