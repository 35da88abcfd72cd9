//! A version's page, `/orgs/OWNER/packages/container/NAME/VERSION_ID` (and `/users/…`;
//! `?tag=TAG` picks the tag its commands use): its digest and tags, how to pull it (per
//! platform for an index), its size, its download activity (total, the last 30 days, the
//! last week, today, as GHCR's), and the manifest itself.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use maud::{Markup, html};

use super::layout::page;
use super::session::Viewer;
use super::viewing::{self, NotFound, Shown};
use crate::oci::manifest::Manifest;
use crate::oci::reference::RepoName;
use crate::state::AppState;

pub async fn of<const ORG: bool>(
    State(app): State<Arc<AppState>>,
    Path((owner, name, id)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    parts: Parts,
) -> Result<Response, NotFound> {
    let (viewer, shown) = viewing::open(&app, &parts, ORG, &owner, &name)?;
    let Ok(id) = id.parse::<u64>() else {
        return Err(NotFound(viewer));
    };
    let rendered = render(&app, &viewer, &shown, id, query.get("tag"), &parts).await;
    match rendered {
        Ok(Some(markup)) => Ok(viewing::answer(&viewer, &shown.repo, Ok(markup))),
        Ok(None) => Err(NotFound(viewer)),
        Err(e) => Ok(viewing::answer(&viewer, &shown.repo, Err(e))),
    }
}

/// The bytes a pull of `manifest` fetches: itself, its config and layers, and for an
/// index each child's (children that are not stored count as their descriptors say).
async fn size(
    app: &AppState,
    repo: &RepoName,
    manifest: &Manifest,
    own: u64,
) -> crate::content::Result<u64> {
    let blobs = |m: &Manifest| {
        m.config
            .iter()
            .chain(&m.layers)
            .map(|d| d.size)
            .sum::<u64>()
    };
    let mut total = own + blobs(manifest);
    for child in &manifest.manifests {
        match viewing::manifest_of(app, repo, &child.digest.to_string()).await? {
            Some((m, stored)) => total += stored.bytes.len() as u64 + blobs(&m),
            None => total += child.size,
        }
    }
    Ok(total)
}

/// `bytes` in the units a person reads.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        unit = u;
    }
    format!("{value:.1} {unit}")
}

async fn render(
    app: &AppState,
    viewer: &Viewer,
    shown: &Shown,
    id: u64,
    tag: Option<&String>,
    parts: &Parts,
) -> crate::content::Result<Option<Markup>> {
    let repo = &shown.repo;
    let packages = app.packages();
    let record = packages.record_of(repo).await?;
    let Some(version) = packages.version(repo, record.id, id).await? else {
        return Ok(None);
    };
    // A deleted version has no page here (the versions list's deleted filter shows it).
    if version.record.deleted_at.is_some() {
        return Ok(None);
    }
    let Some((manifest, stored)) = viewing::manifest_of(app, repo, &version.record.digest).await?
    else {
        return Ok(None);
    };
    let tag = tag
        .filter(|t| version.tags.contains(t))
        .or(version.tags.first());
    let registry = crate::web::push_origin(app, parts).registry;
    let digest = &version.record.digest;
    let reference = match tag {
        Some(t) => format!(":{t}"),
        None => format!("@{digest}"),
    };
    let lines = viewing::pull_lines(&registry, repo, &reference, Some(&manifest));
    let downloads = packages.downloads.of(&app.content, repo, record.id).await?;
    let activity = (packages.downloads)
        .activity(&app.content, repo, record.id, &version.record.digest)
        .await?;
    let size = size(app, repo, &manifest, stored.bytes.len() as u64).await?;
    let pretty = serde_json::from_slice::<serde_json::Value>(&stored.bytes)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| String::from_utf8_lossy(&stored.bytes).into_owned());
    let may_delete = shown.may(app, viewer, crate::policy::Action::Delete);
    let title = match tag {
        Some(t) => format!("{} / {t}", repo.package()),
        None => format!("{} / {}", repo.package(), &digest[..digest.len().min(19)]),
    };
    Ok(Some(page(
        &title,
        viewer,
        html! {
            h1 {
                a href=(shown.page_path()) { (repo.package()) }
                " / "
                @match tag { Some(t) => (t), None => code { (digest) } }
            }
            div.layout {
                div.content {
                    section {
                        h2 { "Install from the command line" }
                        (viewing::install(&lines))
                        @if let Some(t) = tag {
                            h2 { "Use as base image in Dockerfile" }
                            pre { code { "FROM " (registry) "/" (repo) ":" (t) } }
                        }
                    }
                    section {
                        h2 { "Manifest" }
                        pre.manifest { code { (pretty) } }
                    }
                }
                aside {
                    h2 { "Details" }
                    dl.details {
                        dt { "Digest" } dd { code { (digest) } }
                        dt { "Tags" }
                        dd {
                            @if version.tags.is_empty() { span.muted { "untagged" } }
                            @else { (version.tags.join(", ")) }
                        }
                        dt { "Published" } dd { (version.record.created_at) }
                        dt { "Size" } dd { (human(size)) }
                    }
                    h2 { "Download activity" }
                    dl.details {
                        dt { "Total downloads" } dd { (downloads.get(digest).copied().unwrap_or(0)) }
                        dt { "Last 30 days" } dd { (activity.last_30_days) }
                        dt { "Last week" } dd { (activity.last_week) }
                        dt { "Today" } dd { (activity.today) }
                    }
                    @if may_delete {
                        h2 { "Delete this version" }
                        form.stack method="post" action=(shown.version_act_path(id, "delete")) {
                            input type="hidden" name="csrf" value=(viewer.csrf().unwrap_or_default());
                            p.muted { "It can be restored from the versions list's Deleted filter for a while." }
                            button.danger type="submit" { "I understand the consequences, delete this version" }
                        }
                    }
                }
            }
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(999), "999 B");
        assert_eq!(human(1000), "1.0 KB");
        assert_eq!(human(1_534_000), "1.5 MB");
        assert_eq!(human(2_000_000_000), "2.0 GB");
    }
}
