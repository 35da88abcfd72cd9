//! A package's page, `/orgs/OWNER/packages/container/package/NAME` and `/users/…` (a
//! nested name is one `%2F`-encoded segment): what it is, how to pull it, its recent
//! tagged versions and its downloads, as GHCR's page shows them.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::response::Response;
use maud::{Markup, html};

use super::layout::page;
use super::session::Viewer;
use super::viewing::{self, NotFound, Shown};
use crate::state::AppState;

/// Tagged versions the page lists, newest first, as GHCR's "Recent tagged image versions".
const RECENT: usize = 5;
/// Versions read to find them.
const READ: usize = 100;

/// The page under `/orgs/` (`ORG`) or `/users/`: each path serves only its kind of owner.
pub async fn of<const ORG: bool>(
    State(app): State<Arc<AppState>>,
    Path((owner, name)): Path<(String, String)>,
    parts: Parts,
) -> Result<Response, NotFound> {
    let (viewer, shown) = viewing::open(&app, &parts, ORG, &owner, &name)?;
    let rendered = render(&app, &viewer, &shown, &parts).await;
    Ok(viewing::answer(&viewer, &shown.repo, rendered))
}

async fn render(
    app: &AppState,
    viewer: &Viewer,
    shown: &Shown,
    parts: &Parts,
) -> crate::content::Result<Markup> {
    let (repo, public) = (&shown.repo, shown.public);
    let packages = app.packages();
    let record = packages.record_of(repo).await?;
    let (tagged, newest) = packages
        .recent_tagged(repo, record.id, RECENT, READ)
        .await?;
    let downloads = packages.downloads.of(&app.content, repo, record.id).await?;
    let latest = tagged.first().and_then(|v| v.tags.first());
    let registry = crate::web::push_origin(app, parts).registry;
    // The newest tagged version, as GHCR's header and install command show it (the
    // newest version by digest when nothing is tagged).
    let head = tagged.first().or(newest.as_ref());
    let lines = match head {
        Some(v) => {
            let reference = match latest {
                Some(tag) => format!(":{tag}"),
                None => format!("@{}", v.record.digest),
            };
            let manifest = viewing::manifest_of(app, repo, &v.record.digest).await?;
            viewing::pull_lines(
                &registry,
                repo,
                &reference,
                manifest.as_ref().map(|(m, _)| m),
            )
        }
        None => vec![(None, format!("docker pull {registry}/{repo}"))],
    };
    let total: u64 = downloads.values().sum();
    let may_manage = shown.may(app, viewer, crate::policy::Action::Manage);
    let meta = &record.metadata;
    Ok(page(
        repo.package(),
        viewer,
        html! {
            h1 {
                (repo.package())
                @if let Some(tag) = latest { span.tag { (tag) } }
                span.badge { @if public { "Public" } @else { "Private" } }
            }
            div.layout {
                div.content {
                    section {
                        h2 { "Install from the command line" }
                        (viewing::install(&lines))
                    }
                    @if let Some(description) = &meta.description {
                        section { h2 { "About" } p { (description) } }
                    }
                    section {
                        h2 { "Recent tagged image versions" }
                        @if tagged.is_empty() {
                            p.muted { "No tagged versions." }
                        } @else {
                            ul.versions {
                                @for v in &tagged { (viewing::version_row(shown, v, &downloads)) }
                            }
                            p { a href=(shown.versions_path()) { "View all versions" } }
                        }
                    }
                }
                aside {
                    @if may_manage {
                        p { a href=(shown.settings_path()) { "Package settings" } }
                    }
                    h2 { "Details" }
                    dl.details {
                        dt { "Owner" } dd { (repo.owner()) }
                        dt { "Last published" } dd { (record.updated_at) }
                        dt { "Total downloads" } dd { (total) }
                        @if let Some(license) = &meta.licenses {
                            dt { "License" } dd { (license) }
                        }
                        @if let Some(source) = meta.source.as_deref().filter(|s| s.starts_with("https://") || s.starts_with("http://")) {
                            dt { "Source" } dd { a href=(source) rel="noopener noreferrer" { (source) } }
                        }
                    }
                }
            }
        },
    ))
}
