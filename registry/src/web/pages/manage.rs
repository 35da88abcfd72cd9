//! What the pages' forms change: a package's settings (`settings.rs`), its versions'
//! delete and restore, and the restore of a deleted package (`deleted.rs`). Each form
//! carries the session's CSRF token; each change is decided by `policy::permit` as the
//! REST API's, done by the same `packages::` use-cases, and recorded the same way
//! (`web::acts`: the audit line and the webhook event). A change answers with a
//! redirect to the page it was made on (post/redirect/get), a refusal with a page saying
//! why.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_crds::access::{AccessGrant, RepositoryGrant, Role, Visibility};
use berth_crds::package::PackageSpec;
use maud::html;

use super::layout::page;
use super::session::Viewer;
use super::sign_in::{fields, refused};
use super::viewing::{self, NotFound};
use crate::audit::Action as Audited;
use crate::packages::versions::Rules;
use crate::policy::{Action, Refusal, Setting};
use crate::state::AppState;
use crate::web::acts::Actor;

/// The form's fields once its CSRF token is the viewer's (`None`: answer `refused()`).
pub fn checked_form(viewer: &Viewer, body: &[u8]) -> Option<HashMap<String, String>> {
    let form = fields(body);
    viewer
        .csrf_matches(form.get("csrf").map(String::as_str))
        .then_some(form)
}

/// The viewer as the audit trail and events name them.
pub fn actor(app: &AppState, viewer: &Viewer, parts: &Parts) -> Actor {
    Actor {
        who: viewer.identity.audit_name(),
        from: app.client_address(parts),
        origin: crate::web::push_origin(app, parts),
    }
}

/// A change that could not be made: why, and the way back.
pub fn failed(viewer: &Viewer, status: StatusCode, message: &str, back: &str) -> Response {
    let body = page(
        "Not changed",
        viewer,
        html! {
            h1 { "Nothing was changed" }
            p.error role="alert" { (message) }
            p { a href=(back) { "Go back" } }
        },
    );
    (status, body).into_response()
}

/// A storage or policy error of a change, as the page says it.
pub fn content_failed(viewer: &Viewer, e: crate::content::Error, back: &str) -> Response {
    match e {
        crate::content::Error::Refused(message) => {
            failed(viewer, StatusCode::CONFLICT, &message, back)
        }
        e => {
            tracing::warn!(error = %e, "a change on the pages failed");
            let message = "Storage did not answer; try again.";
            failed(viewer, StatusCode::SERVICE_UNAVAILABLE, message, back)
        }
    }
}

/// A refusal of `permit`, as the page says it (a package the viewer cannot see is the
/// not-found page).
pub fn refusal(viewer: Viewer, r: Refusal, back: &str) -> Result<Response, NotFound> {
    match r {
        Refusal::Missing => Err(NotFound(viewer)),
        Refusal::Unauthenticated => Ok(see_other("/login")),
        Refusal::Forbidden(message) => Ok(failed(&viewer, StatusCode::FORBIDDEN, &message, back)),
    }
}

pub fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_owned())],
    )
        .into_response()
}

/// Whether the typed confirmation is the package's name, as GHCR asks for it.
pub fn confirmed(form: &HashMap<String, String>, name: &str) -> bool {
    form.get("confirm").is_some_and(|c| c.trim() == name)
}

/// `POST …/NAME/settings`: the change its `do` field names.
pub async fn settings<const ORG: bool>(
    State(app): State<Arc<AppState>>,
    Path((owner, name)): Path<(String, String)>,
    parts: Parts,
    body: Bytes,
) -> Result<Response, NotFound> {
    let (viewer, shown) = viewing::open(&app, &parts, ORG, &owner, &name)?;
    let Some(form) = checked_form(&viewer, &body) else {
        return Ok(refused());
    };
    let back = shown.settings_path();
    let act = form.get("do").map(String::as_str).unwrap_or_default();
    let needed = if act == "delete" {
        Action::Delete
    } else {
        Action::Manage
    };
    if let Err(r) = shown.permit(&app, &viewer, needed) {
        return refusal(viewer, r, &back);
    }
    let repo = &shown.repo;
    if act == "delete" {
        if !confirmed(&form, repo.package()) {
            let message = format!("Type {} to confirm the delete.", repo.package());
            return Ok(failed(&viewer, StatusCode::BAD_REQUEST, &message, &back));
        }
        let packages = app.packages();
        let done = async {
            let record = packages.record_of(repo).await?;
            packages.delete_package(repo).await?;
            let actor = actor(&app, &viewer, &parts);
            actor
                .package_changed(&app, Audited::DeletePackage, repo, &record)
                .await
        };
        return Ok(match done.await {
            Ok(()) => see_other(&shown.owner_path()),
            Err(e) => content_failed(&viewer, e, &back),
        });
    }
    let found = app.policy.settings(&owner, &name).await;
    let (mut spec, kept) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return Err(NotFound(viewer)),
        Err(e) => return Ok(content_failed(&viewer, e.into(), &back)),
    };
    let snap = app.policy.snapshot();
    let org = snap.org(&owner).filter(|_| shown.org);
    let (setting, audited, what) = match change(act, &form, &mut spec, org, shown.public) {
        Ok(c) => c,
        Err(message) => return Ok(failed(&viewer, StatusCode::BAD_REQUEST, &message, &back)),
    };
    if let Some(place) = kept.get(&setting) {
        let message = format!("This setting is managed in {place}; change it there.");
        return Ok(failed(&viewer, StatusCode::CONFLICT, &message, &back));
    }
    if let Err(e) = app.policy.change_settings(&owner, &name, &spec).await {
        return Ok(content_failed(&viewer, e.into(), &back));
    }
    actor(&app, &viewer, &parts).audit(&app, audited, repo, Some(&what));
    Ok(see_other(&format!("{back}?done={act}")))
}

/// Makes change `act` of the form to `spec`: the setting it changes, how the audit trail
/// names it, and what it became; or why it cannot be made.
fn change(
    act: &str,
    form: &HashMap<String, String>,
    spec: &mut PackageSpec,
    org: Option<&crate::policy::snapshot::OrgPolicy>,
    public: bool,
) -> Result<(Setting, Audited, String), String> {
    let field = |k: &str| form.get(k).map(|v| v.trim()).unwrap_or_default();
    let role = || Role::parse(field("role")).ok_or("Choose a role: Read, Write or Admin.");
    match act {
        "invite" | "remove" => {
            let who = field("who");
            let team = field("kind") == "team";
            if !valid_name(who) {
                return Err(format!("{who:?} is not a user or team name."));
            }
            let same = |g: &AccessGrant| match team {
                true => g.team.as_deref() == Some(who),
                false => g.user.as_deref() == Some(who),
            };
            let subject = format!("{} {who}", if team { "team" } else { "user" });
            if act == "remove" {
                let before = spec.access.len();
                spec.access.retain(|g| !same(g));
                if spec.access.len() == before {
                    return Err(format!("{subject} has no access here."));
                }
                return Ok((
                    Setting::Access,
                    Audited::ChangeAccess,
                    format!("{subject}: removed"),
                ));
            }
            let role = role()?;
            match (org, team) {
                (None, true) => return Err("Only an organization's packages have teams.".into()),
                (Some(o), true) if !o.teams.contains_key(who) => {
                    return Err(format!("{} has no team {who}.", o.name));
                }
                // GHCR: a private or internal organization package is shared with the
                // organization's members only.
                (Some(o), false)
                    if !public && !o.members.contains(who) && !o.owners.contains(who) =>
                {
                    return Err(format!("{who} is not a member of {}.", o.name));
                }
                _ => {}
            }
            spec.access.retain(|g| !same(g));
            spec.access.push(AccessGrant {
                user: (!team).then(|| who.to_owned()),
                team: team.then(|| who.to_owned()),
                role,
            });
            Ok((
                Setting::Access,
                Audited::ChangeAccess,
                format!("{subject}: {}", role.as_str()),
            ))
        }
        "inherit" => {
            let inherit = field("inherit") == "true";
            spec.inherit_access = Some(inherit);
            Ok((
                Setting::InheritAccess,
                Audited::ChangeAccess,
                format!("inherit access: {inherit}"),
            ))
        }
        "actions-add" | "actions-remove" => {
            let repository = field("repository");
            let valid = repository
                .split_once('/')
                .is_some_and(|(o, r)| valid_name(o) && valid_name(r));
            if !valid {
                return Err(format!("{repository:?} is not a repository (OWNER/REPO)."));
            }
            let before = spec.actions_access.len();
            spec.actions_access.retain(|g| g.repository != repository);
            if act == "actions-remove" {
                if spec.actions_access.len() == before {
                    return Err(format!("{repository} has no access here."));
                }
                let what = format!("repository {repository}: removed");
                return Ok((Setting::ActionsAccess, Audited::ChangeAccess, what));
            }
            let role = role()?;
            spec.actions_access.push(RepositoryGrant {
                repository: repository.to_owned(),
                role,
            });
            let what = format!("repository {repository}: {}", role.as_str());
            Ok((Setting::ActionsAccess, Audited::ChangeAccess, what))
        }
        "visibility" => {
            let visibility = match field("visibility") {
                "public" => Visibility::Public,
                "private" => Visibility::Private,
                "internal" if org.is_some() => Visibility::Internal,
                _ => return Err("Choose a visibility.".into()),
            };
            if !confirmed(form, &spec.name) {
                return Err(format!("Type {} to confirm the change.", spec.name));
            }
            spec.visibility = visibility;
            Ok((
                Setting::Visibility,
                Audited::ChangeVisibility,
                visibility.as_str().to_owned(),
            ))
        }
        other => Err(format!("{other:?} is not a change the settings make.")),
    }
}

/// A user, team, organization or repository name as GitHub allows them.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `POST …/NAME/VERSION_ID/delete` and `…/restore`.
pub async fn version<const ORG: bool>(
    State(app): State<Arc<AppState>>,
    Path((owner, name, id, act)): Path<(String, String, String, String)>,
    parts: Parts,
    body: Bytes,
) -> Result<Response, NotFound> {
    let (viewer, shown) = viewing::open(&app, &parts, ORG, &owner, &name)?;
    if checked_form(&viewer, &body).is_none() {
        return Ok(refused());
    }
    let (Ok(id), Some(action)) = (
        id.parse::<u64>(),
        match act.as_str() {
            "delete" => Some(Action::Delete),
            "restore" => Some(Action::Restore),
            _ => None,
        },
    ) else {
        return Err(NotFound(viewer));
    };
    let back = match action {
        Action::Delete => shown.version_path(id),
        _ => format!(
            "{}?filters%5Bversion_type%5D=deleted",
            shown.versions_path()
        ),
    };
    if let Err(r) = shown.permit(&app, &viewer, action) {
        return refusal(viewer, r, &back);
    }
    let repo = &shown.repo;
    let packages = app.packages();
    let done = async {
        let pkg = packages.record_of(repo).await?.id;
        let audited = match action {
            Action::Delete => {
                packages
                    .delete_version(repo, pkg, id, Rules::Packages)
                    .await?;
                Audited::DeleteVersion
            }
            _ => {
                packages.restore_version(repo, pkg, id).await?;
                Audited::RestoreVersion
            }
        };
        let actor = actor(&app, &viewer, &parts);
        actor.version_changed(&app, audited, repo, pkg, id).await
    };
    Ok(match done.await {
        Ok(()) if action == Action::Delete => see_other(&shown.versions_path()),
        Ok(()) => see_other(&shown.version_path(id)),
        Err(e) => content_failed(&viewer, e, &back),
    })
}
