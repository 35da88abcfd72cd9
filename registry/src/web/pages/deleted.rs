//! An owner's deleted packages, where GitHub keeps them: `/settings/packages` for the
//! signed-in user's own, `/organizations/ORG/settings/packages` for an organization's.
//! Each package the viewer may restore (decided on the policy it had, as the REST API's
//! restore is) is listed with a Restore form confirmed by typing its name.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{not_found, page};
use super::manage::{self, actor, checked_form, confirmed, failed, see_other};
use super::session::Viewer;
use super::viewing::{owner_list_path, package_path};
use crate::oci::reference::RepoName;
use crate::packages::deletion::{DeletedPackage, policy_for_restore};
use crate::policy::{Action, permit};
use crate::state::AppState;

/// Whose deleted packages a path shows: the viewer's own (`None`) or an organization's.
fn owner_of(app: &AppState, viewer: &Viewer, org: Option<&str>) -> Option<(String, bool)> {
    match org {
        Some(org) => app
            .policy
            .snapshot()
            .org(org)
            .map(|o| (o.name.clone(), true)),
        None => viewer.identity.user_name().map(|u| (u.to_owned(), false)),
    }
}

pub fn path_of(owner: &str, org: bool) -> String {
    match org {
        true => format!("/organizations/{owner}/settings/packages"),
        false => "/settings/packages".to_owned(),
    }
}

/// Whether `viewer` may restore `deleted`.
fn may_restore(app: &AppState, viewer: &Viewer, org: bool, deleted: &DeletedPackage) -> bool {
    let snap = policy_for_restore(&app.policy.snapshot(), deleted);
    let (owner, name) = (&deleted.record.owner, &deleted.record.name);
    permit(&snap, org, &viewer.identity, owner, name, Action::Restore).is_ok()
}

pub async fn of_user(State(app): State<Arc<AppState>>, parts: Parts) -> Response {
    list(&app, &parts, None).await
}

pub async fn of_org(
    State(app): State<Arc<AppState>>,
    Path(org): Path<String>,
    parts: Parts,
) -> Response {
    list(&app, &parts, Some(&org)).await
}

async fn list(app: &AppState, parts: &Parts, org: Option<&str>) -> Response {
    let viewer = Viewer::of(app, parts);
    if viewer.name().is_none() {
        return see_other("/login");
    }
    let Some((owner, is_org)) = owner_of(app, &viewer, org) else {
        return not_found(&viewer);
    };
    let deleted = match app.packages().deleted_packages_of(&owner).await {
        Ok(d) => d,
        Err(e) => return manage::content_failed(&viewer, e, "/"),
    };
    let shown: Vec<&DeletedPackage> = deleted
        .iter()
        .filter(|d| may_restore(app, &viewer, is_org, d))
        .collect();
    let action = path_of(&owner, is_org);
    let csrf = viewer.csrf().unwrap_or_default();
    page(
        "Deleted packages",
        &viewer,
        html! {
            h1 { a href=(owner_list_path(is_org, &owner)) { (owner) } " / deleted packages" }
            p.muted { "A deleted package can be restored for a while after its delete, unless its name has been pushed to since." }
            @if shown.is_empty() {
                p.muted { "No deleted packages you may restore." }
            } @else {
                ul.versions {
                    @for d in &shown {
                        @let name = &d.record.name;
                        @let id = format!("restore-{}", name.replace('/', "-"));
                        li {
                            strong { (name) }
                            div.muted { "Deleted " (d.deleted_at) " · " (d.versions.len()) " versions" }
                            form.stack method="post" action=(action) {
                                input type="hidden" name="csrf" value=(csrf);
                                input type="hidden" name="name" value=(name);
                                label for=(id) { "Type " strong { (name) } " to confirm" }
                                input id=(id) type="text" name="confirm" autocomplete="off" required;
                                button type="submit" { "I understand the consequences, restore this package" }
                            }
                        }
                    }
                }
            }
        },
    )
    .into_response()
}

pub async fn restore_user(State(app): State<Arc<AppState>>, parts: Parts, body: Bytes) -> Response {
    restore(&app, &parts, None, &body).await
}

pub async fn restore_org(
    State(app): State<Arc<AppState>>,
    Path(org): Path<String>,
    parts: Parts,
    body: Bytes,
) -> Response {
    restore(&app, &parts, Some(&org), &body).await
}

async fn restore(app: &AppState, parts: &Parts, org: Option<&str>, body: &[u8]) -> Response {
    let viewer = Viewer::of(app, parts);
    let Some(form) = checked_form(&viewer, body) else {
        return super::sign_in::refused();
    };
    let Some((owner, is_org)) = owner_of(app, &viewer, org) else {
        return not_found(&viewer);
    };
    let back = path_of(&owner, is_org);
    let name = form.get("name").map(String::as_str).unwrap_or_default();
    let Ok(repo) = RepoName::parse(&format!("{owner}/{name}")) else {
        return not_found(&viewer);
    };
    let packages = app.packages();
    let deleted = match packages.deleted_package(&repo).await {
        Ok(Some(d)) if may_restore(app, &viewer, is_org, &d) => d,
        Ok(_) => return not_found(&viewer),
        Err(e) => return manage::content_failed(&viewer, e, &back),
    };
    if !confirmed(&form, name) {
        let message = format!("Type {name} to confirm the restore.");
        return failed(&viewer, StatusCode::BAD_REQUEST, &message, &back);
    }
    let done = async {
        packages.restore_package(&repo).await?;
        let record = packages.record_of(&repo).await?;
        actor(app, &viewer, parts)
            .package_changed(app, crate::audit::Action::RestorePackage, &repo, &record)
            .await
    };
    match done.await {
        Ok(()) => see_other(&package_path(is_org, &owner, &deleted.record.name)),
        Err(e) => manage::content_failed(&viewer, e, &back),
    }
}
