//! A package's settings, `/orgs/OWNER/packages/container/NAME/settings` (and `/users/…`),
//! for its admins, as GHCR lays them out: who has access (people and teams with a role,
//! the inheritance checkbox), which repositories' workflows have access, and the danger
//! zone (visibility, delete), each destructive change confirmed by typing the package's
//! name. A setting kept elsewhere (a GitOps tool's field of the `Package`, the user's own
//! policy file) is shown read-only with where it is kept. The forms post to
//! `manage.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::response::Response;
use berth_crds::access::{Role, Visibility};
use berth_crds::package::PackageSpec;
use maud::{Markup, html};

use super::layout::page;
use super::session::Viewer;
use super::viewing::{self, NotFound, Shown};
use crate::policy::{Action, KeptElsewhere, Setting};
use crate::state::AppState;

pub async fn of<const ORG: bool>(
    State(app): State<Arc<AppState>>,
    Path((owner, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    parts: Parts,
) -> Result<Response, NotFound> {
    let (viewer, shown) = viewing::open(&app, &parts, ORG, &owner, &name)?;
    if !shown.may(&app, &viewer, Action::Manage) {
        return Err(NotFound(viewer));
    }
    let found = app
        .policy
        .settings(&owner, &name)
        .await
        .map_err(crate::content::Error::Policy);
    let rendered = match found {
        Ok(Some((spec, kept))) => Ok(render(&viewer, &shown, &spec, &kept, &query)),
        Ok(None) => return Err(NotFound(viewer)),
        Err(e) => Err(e),
    };
    Ok(viewing::answer(&viewer, &shown.repo, rendered))
}

/// What a change just done says, by the `done` its redirect carries.
fn notice(query: &HashMap<String, String>) -> Option<&'static str> {
    Some(match query.get("done")?.as_str() {
        "invite" => "Access granted.",
        "remove" => "Access removed.",
        "inherit" => "Inheritance saved.",
        "actions-add" => "Repository added.",
        "actions-remove" => "Repository removed.",
        "visibility" => "Visibility changed.",
        _ => return None,
    })
}

pub const ROLES: [(Role, &str); 3] = [
    (Role::Read, "Read"),
    (Role::Write, "Write"),
    (Role::Admin, "Admin"),
];

fn role_name(role: Role) -> &'static str {
    ROLES
        .iter()
        .find(|(r, _)| *r == role)
        .map_or("Read", |(_, n)| n)
}

/// A role drop-down; `id` labels it.
fn role_select(id: &str, label: &str) -> Markup {
    html! {
        label for=(id) { (label) }
        select #(id) name="role" {
            @for (role, name) in ROLES {
                option value=(role.as_str()) { (name) }
            }
        }
    }
}

/// A form posting `act` to the settings, with the viewer's CSRF token.
fn form(shown: &Shown, viewer: &Viewer, act: &str, class: &str, body: Markup) -> Markup {
    html! {
        form class=(class) method="post" action=(shown.settings_path()) {
            input type="hidden" name="csrf" value=(viewer.csrf().unwrap_or_default());
            input type="hidden" name="do" value=(act);
            (body)
        }
    }
}

/// The note under a setting kept elsewhere.
fn kept_note(kept: &KeptElsewhere, setting: Setting) -> Option<Markup> {
    kept.get(&setting).map(|place| {
        html! { p.muted.kept { "Managed in " (place) "; change it there." } }
    })
}

/// A table of grants: who (a person, a team, a repository), their role, and the form
/// that removes them (none when the list is kept elsewhere).
fn grants(who: &str, rows: impl Iterator<Item = (Markup, Role, Option<Markup>)>) -> Markup {
    html! {
        table.grants {
            thead { tr { th scope="col" { (who) } th scope="col" { "Role" } th scope="col" { span.visually-hidden { "Remove" } } } }
            tbody {
                @for (shown, role, remove) in rows {
                    tr { td { (shown) } td { (role_name(role)) } td { @if let Some(r) = remove { (r) } } }
                }
            }
        }
    }
}

fn render(
    viewer: &Viewer,
    shown: &Shown,
    spec: &PackageSpec,
    kept: &KeptElsewhere,
    query: &HashMap<String, String>,
) -> Markup {
    let name = shown.repo.package();
    let access_kept = kept.contains_key(&Setting::Access);
    let actions_kept = kept.contains_key(&Setting::ActionsAccess);
    let visibilities: &[(Visibility, &str)] = if shown.org {
        &[
            (Visibility::Public, "Public"),
            (Visibility::Private, "Private"),
            (Visibility::Internal, "Internal"),
        ]
    } else {
        &[
            (Visibility::Public, "Public"),
            (Visibility::Private, "Private"),
        ]
    };
    page(
        &format!("Settings · {name}"),
        viewer,
        html! {
            h1 { a href=(shown.page_path()) { (name) } " / settings" }
            @if let Some(n) = notice(query) { p.notice role="status" { (n) } }
            section {
                h2 { "Manage access" }
                @if spec.access.is_empty() {
                    p.muted { "No one has been given access yet; the owner and the publisher are admins." }
                } @else {
                    (grants("Who", spec.access.iter().map(|g| {
                        let (kind, who) = match (&g.user, &g.team) {
                            (_, Some(t)) => ("team", t.as_str()),
                            (u, _) => ("user", u.as_deref().unwrap_or_default()),
                        };
                        let label = html! { @if kind == "team" { "team " } strong { (who) } };
                        let remove = (!access_kept).then(|| form(shown, viewer, "remove", "inline", html! {
                            input type="hidden" name="kind" value=(kind);
                            input type="hidden" name="who" value=(who);
                            button type="submit" aria-label={ "Remove " (who) } { "Remove" }
                        }));
                        (label, g.role, remove)
                    })))
                }
                @if let Some(note) = kept_note(kept, Setting::Access) { (note) }
                @else {
                    h3 { "Invite teams or people" }
                    (form(shown, viewer, "invite", "stack", html! {
                        @if shown.org {
                            label for="invite-kind" { "Kind" }
                            select #invite-kind name="kind" {
                                option value="user" { "Person" }
                                option value="team" { "Team" }
                            }
                        } @else {
                            input type="hidden" name="kind" value="user";
                        }
                        label for="invite-who" { "Username" @if shown.org { " or team" } }
                        input #invite-who type="text" name="who" required;
                        (role_select("invite-role", "Role"))
                        button type="submit" { "Invite" }
                    }))
                }
                h3 { "Inherited access" }
                @if let Some(note) = kept_note(kept, Setting::InheritAccess) {
                    p { "Inherit access from source repository: " (if spec.inherit_access.unwrap_or(false) { "yes" } else { "no" }) }
                    (note)
                } @else {
                    (form(shown, viewer, "inherit", "stack", html! {
                        div.check {
                            input #inherit type="checkbox" name="inherit" value="true" checked[spec.inherit_access.unwrap_or(false)];
                            label for="inherit" { "Inherit access from source repository (recommended)" }
                        }
                        @if spec.repository.is_none() {
                            p.muted { "The package is not linked to a repository yet: a push labelled org.opencontainers.image.source links it." }
                        }
                        button type="submit" { "Save" }
                    }))
                }
            }
            section {
                h2 { "Manage Actions access" }
                @if spec.actions_access.is_empty() {
                    p.muted { "No repository's workflows have access." }
                } @else {
                    (grants("Repository", spec.actions_access.iter().map(|g| {
                        let remove = (!actions_kept).then(|| form(shown, viewer, "actions-remove", "inline", html! {
                            input type="hidden" name="repository" value=(g.repository);
                            button type="submit" aria-label={ "Remove " (g.repository) } { "Remove" }
                        }));
                        (html! { strong { (g.repository) } }, g.role, remove)
                    })))
                }
                @if let Some(note) = kept_note(kept, Setting::ActionsAccess) { (note) }
                @else {
                    (form(shown, viewer, "actions-add", "stack", html! {
                        label for="actions-repository" { "Add repository (OWNER/REPO)" }
                        input #actions-repository type="text" name="repository" required;
                        (role_select("actions-role", "Role"))
                        button type="submit" { "Add repository" }
                    }))
                }
            }
            section.danger {
                h2 { "Danger zone" }
                h3 { "Change visibility" }
                p { "This package is " strong { (spec.visibility.as_str()) } "." }
                @if let Some(note) = kept_note(kept, Setting::Visibility) { (note) }
                @else {
                    (form(shown, viewer, "visibility", "stack", html! {
                        fieldset {
                            legend { "Visibility" }
                            @for (v, label) in visibilities {
                                div.check {
                                    input id={ "visibility-" (v.as_str()) } type="radio" name="visibility" value=(v.as_str()) checked[*v == spec.visibility];
                                    label for={ "visibility-" (v.as_str()) } { (label) }
                                }
                            }
                        }
                        label for="visibility-confirm" { "Type " strong { (name) } " to confirm" }
                        input #visibility-confirm type="text" name="confirm" autocomplete="off" required;
                        button.danger type="submit" { "I understand the consequences, change package visibility" }
                    }))
                }
                h3 { "Delete this package" }
                p { "Every version goes with it; the package can be restored for a while from the owner's deleted packages." }
                (form(shown, viewer, "delete", "stack", html! {
                    label for="delete-confirm" { "Type " strong { (name) } " to confirm" }
                    input #delete-confirm type="text" name="confirm" autocomplete="off" required;
                    button.danger type="submit" { "I understand the consequences, delete this package" }
                }))
            }
        },
    )
}
