//! A package's page, `/orgs/OWNER/packages/container/package/NAME` and `/users/…` (a
//! nested name is one `%2F`-encoded segment): what it is, how to pull it, its recent
//! tagged versions and its downloads, as GHCR's page shows them.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::{not_found, page};
use super::session::Viewer;
use crate::oci::reference::RepoName;
use crate::packages::versions::{Page, State as VersionState, Version};
use crate::policy::{Action, Decision, decide};
use crate::state::AppState;
use berth_crds::access::Visibility;

/// Tagged versions the page lists, newest first, as GHCR's "Recent tagged image versions".
const RECENT: usize = 5;
/// Versions read to find them.
const READ: usize = 100;

/// The page under `/orgs/` (`ORG`) or `/users/`: each path serves only its kind of owner.
pub async fn of<const ORG: bool>(
    State(app): State<Arc<AppState>>,
    Path((owner, name)): Path<(String, String)>,
    parts: Parts,
) -> Response {
    let viewer = Viewer::of(&app, &parts);
    if app.policy.snapshot().org(&owner).is_some() != ORG {
        return not_found(&viewer);
    }
    show(&app, &viewer, &owner, &name, &parts).await
}

async fn show(app: &AppState, viewer: &Viewer, owner: &str, name: &str, parts: &Parts) -> Response {
    let snap = app.policy.snapshot();
    let Some(policy) = snap.package(owner, name).filter(|p| !p.deleted) else {
        return not_found(viewer);
    };
    if !matches!(
        decide(&snap, &viewer.identity, owner, name, Action::Pull),
        Decision::Allow
    ) {
        return not_found(viewer);
    }
    let Ok(repo) = RepoName::parse(&format!("{owner}/{name}")) else {
        return not_found(viewer);
    };
    let public = policy.visibility == Visibility::Public;
    match render(app, viewer, &repo, public, parts).await {
        Ok(markup) => markup.into_response(),
        Err(e) => {
            tracing::warn!(package = %repo, error = %e, "rendering the package page failed");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                page(
                    "Unavailable",
                    viewer,
                    html! { h1 { "This page is unavailable" } p { "Storage did not answer; try again." } },
                ),
            )
                .into_response()
        }
    }
}

async fn render(
    app: &AppState,
    viewer: &Viewer,
    repo: &RepoName,
    public: bool,
    parts: &Parts,
) -> crate::content::Result<Markup> {
    let packages = app.packages();
    let record = packages.record_of(repo).await?;
    let (versions, _) = packages
        .versions(
            repo,
            record.id,
            VersionState::Active,
            Page {
                number: 1,
                per_page: READ,
            },
        )
        .await?;
    let downloads = packages.downloads.of(&app.content, repo, record.id).await?;
    let tagged: Vec<&Version> = versions
        .iter()
        .filter(|v| !v.tags.is_empty())
        .take(RECENT)
        .collect();
    let latest = tagged.first().and_then(|v| v.tags.first());
    let registry = crate::web::push_origin(app, parts).registry;
    let pull = match latest {
        Some(tag) => format!("docker pull {registry}/{repo}:{tag}"),
        None => match versions.first() {
            Some(v) => format!("docker pull {registry}/{repo}@{}", v.record.digest),
            None => format!("docker pull {registry}/{repo}"),
        },
    };
    let total: u64 = downloads.values().sum();
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
                        pre { code { "$ " (pull) } }
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
                                @for v in &tagged {
                                    li {
                                        strong { (v.tags.join(", ")) }
                                        div.muted {
                                            "Published " (v.record.created_at)
                                            " · Digest " code { (v.record.digest) }
                                            " · " (downloads.get(&v.record.digest).copied().unwrap_or(0)) " version downloads"
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                aside {
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
