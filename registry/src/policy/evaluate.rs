//! The one evaluation of GHCR's permission model. Pure: a snapshot, an identity, a
//! package and an action in; a decision out.

use berth_crds::access::{AccessGrant, Role, Visibility};
use berth_crds::package::Publisher;

use super::snapshot::{OrgPolicy, PackagePolicy, PolicySnapshot};
use crate::auth::identity::Identity;

/// What a request wants to do to a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Read content and metadata (`read`).
    Pull,
    /// Write content and metadata (`write`); creates the package if it does not exist.
    Push,
    /// Delete content (`admin` and `delete:packages`).
    Delete,
    /// Restore deleted content (`admin` and `write:packages`, as on GitHub).
    Restore,
    /// Change a package's settings: its visibility, who has access, Actions access
    /// (`admin` and `write:packages`: GitHub's web settings need the admin role, and a
    /// session grants no more than its PAT's scopes).
    Manage,
}

/// The outcome of evaluating a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A push that creates the package.
    Create,
    /// Anonymous and not allowed: answer with the challenge (401).
    Unauthenticated,
    /// The caller cannot read the package: answer exactly as for a name that does not
    /// exist, so private packages stay hidden.
    Hidden,
    /// The caller may not do this (403). The message never depends on whether a package
    /// the caller cannot see exists.
    Forbidden(String),
}

/// The caller's role on `pkg` before token scopes cap it.
pub fn role(snap: &PolicySnapshot, id: &Identity, pkg: &PackagePolicy) -> Option<Role> {
    let user = id.user_name();
    if user.is_some_and(|u| snap.is_site_admin(u)) {
        return Some(Role::Admin);
    }
    let org = snap.org(&pkg.owner);
    let publisher = match &pkg.publisher {
        Some(Publisher { user: Some(p), .. }) => user == Some(p.as_str()),
        Some(Publisher {
            repository: Some(r),
            ..
        }) => id.repository() == Some(r.as_str()),
        _ => false,
    };
    let owner = match org {
        Some(org) => user.is_some_and(|u| org.owners.contains(u)),
        None => user == Some(pkg.owner.as_str()),
    };
    if publisher || owner {
        return Some(Role::Admin);
    }
    let mut best = None;
    let mut grant = |r: Role| best = best.max(Some(r));
    for g in &pkg.access {
        if grants_to(g, id, org) {
            grant(g.role);
        }
    }
    if let Some(url) = &pkg.repository
        && pkg.inherit_access
        && let Some((repo_org, repo)) = snap.repository_by_url(url)
    {
        for g in &repo.access {
            if grants_to(g, id, Some(repo_org)) {
                grant(g.role);
            }
        }
        if id.repository() == Some(format!("{}/{}", repo_org.name, repo.name).as_str()) {
            grant(Role::Admin);
        }
    }
    if let Some(r) = id.repository() {
        for g in pkg.actions_access.iter().filter(|g| g.repository == r) {
            grant(g.role);
        }
    }
    match pkg.visibility {
        Visibility::Public if snap.anonymous_pulls() || !id.is_anonymous() => grant(Role::Read),
        Visibility::Internal if org.is_some_and(|o| is_member(o, id)) => grant(Role::Read),
        _ => {}
    }
    best
}

/// Decides `action` by `id` on `OWNER/NAME`.
pub fn decide(
    snap: &PolicySnapshot,
    id: &Identity,
    owner: &str,
    name: &str,
    action: Action,
) -> Decision {
    let decision = decide_inner(snap, id, owner, name, action);
    // Anonymous callers are always asked to sign in rather than refused.
    match decision {
        Decision::Allow | Decision::Create => decision,
        _ if id.is_anonymous() => Decision::Unauthenticated,
        _ => decision,
    }
}

fn decide_inner(
    snap: &PolicySnapshot,
    id: &Identity,
    owner: &str,
    name: &str,
    action: Action,
) -> Decision {
    let denied_push =
        || Decision::Forbidden(format!("permission to push to {owner}/{name} denied"));
    let Some(pkg) = snap.package(owner, name) else {
        // Not a package (yet). Whoever could create it has nothing to be hidden from: its
        // requests reach storage, which holds at most what they uploaded for it.
        let creator = can_create(snap, id, owner, Visibility::Private);
        return match action {
            Action::Push if creator => Decision::Create,
            Action::Push => denied_push(),
            _ if creator => Decision::Allow,
            _ => Decision::Hidden,
        };
    };
    let Some(role) = role(snap, id, pkg) else {
        return match action {
            Action::Push => denied_push(),
            _ => Decision::Hidden,
        };
    };
    let (needed, scope, scope_name) = match action {
        Action::Pull => (Role::Read, id.scopes.read, "read:packages"),
        Action::Push => (Role::Write, id.scopes.write, "write:packages"),
        Action::Delete => (Role::Admin, id.scopes.delete, "delete:packages"),
        Action::Restore | Action::Manage => (Role::Admin, id.scopes.write, "write:packages"),
    };
    if role < needed {
        return Decision::Forbidden(format!(
            "{} on {owner}/{name} needs the {} role; you have {}",
            verb(action),
            needed.as_str(),
            role.as_str()
        ));
    }
    if !scope {
        return Decision::Forbidden(format!(
            "{} on {owner}/{name} needs a token with {scope_name}",
            verb(action)
        ));
    }
    Decision::Allow
}

/// Whether `id` may create a package of `visibility` in namespace `owner`.
pub fn can_create(
    snap: &PolicySnapshot,
    id: &Identity,
    owner: &str,
    visibility: Visibility,
) -> bool {
    if !id.scopes.write {
        return false;
    }
    let user = id.user_name();
    if user.is_some_and(|u| snap.is_site_admin(u)) {
        return true;
    }
    let repo_owner = id
        .repository()
        .and_then(|r| r.split_once('/'))
        .map(|(o, _)| o);
    match snap.org(owner) {
        Some(org) => {
            if user.is_some_and(|u| org.owners.contains(u)) {
                return true;
            }
            let workload_of_org = id
                .repository()
                .is_some_and(|r| snap.repository(r).is_some())
                && repo_owner == Some(owner);
            (is_member(org, id) || workload_of_org) && org.creation.allows(visibility)
        }
        // A user namespace: the user, and workloads of the user's repositories.
        None => user == Some(owner) || repo_owner == Some(owner),
    }
}

fn grants_to(g: &AccessGrant, id: &Identity, org: Option<&OrgPolicy>) -> bool {
    if let Some(u) = &g.user {
        return id.user_name() == Some(u.as_str());
    }
    let (Some(team), Some(org)) = (&g.team, org) else {
        return false;
    };
    let by_membership = id
        .user_name()
        .is_some_and(|u| org.teams.get(team).is_some_and(|m| m.contains(u)));
    by_membership
        || id
            .claimed_teams()
            .iter()
            .any(|t| *t == format!("{}/{team}", org.name))
}

fn is_member(org: &OrgPolicy, id: &Identity) -> bool {
    let prefix = format!("{}/", org.name);
    id.user_name()
        .is_some_and(|u| org.owners.contains(u) || org.members.contains(u))
        || id.claimed_teams().iter().any(|t| t.starts_with(&prefix))
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Pull => "pull",
        Action::Push => "push",
        Action::Delete => "delete",
        Action::Restore => "restore",
        Action::Manage => "changing the settings",
    }
}

/// `owner`'s packages that `id` may read, by name, optionally only those of `visibility`
/// (GitHub's filter: `internal` is private where granular permissions apply), as the
/// REST API's list and the pages' list show them.
pub fn readable_packages(
    snap: &PolicySnapshot,
    id: &Identity,
    owner: &str,
    visibility: Option<&str>,
) -> Vec<String> {
    let mut names: Vec<String> = snap
        .packages()
        .filter(|p| p.owner == owner && !p.deleted)
        .filter(|p| match visibility {
            Some("public") => p.visibility == Visibility::Public,
            Some("private") | Some("internal") => p.visibility != Visibility::Public,
            _ => true,
        })
        .filter(|p| decide(snap, id, owner, &p.name, Action::Pull) == Decision::Allow)
        .map(|p| p.name.clone())
        .collect();
    names.sort();
    names
}

/// Why an act on a package was refused, for each surface to render its own way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Missing, deleted, or not the caller's to see: the same answer for all three.
    Missing,
    /// Anonymous where a signed-in caller is needed.
    Unauthenticated,
    /// Seen but not allowed, with the reason.
    Forbidden(String),
}

/// Whether `caller` may do `action` to package `OWNER/NAME`, by the rules every surface
/// that reads and changes packages shares (the REST API, the pages). `as_org`: the
/// request names the owner as an organization (`/orgs/…`), where GitHub wants an owner
/// of the organization for anything but reading.
pub fn permit(
    snap: &PolicySnapshot,
    as_org: bool,
    caller: &Identity,
    owner: &str,
    name: &str,
    action: Action,
) -> Result<(), Refusal> {
    let policy = snap.package(owner, name).ok_or(Refusal::Missing)?;
    // A deleted package is missing to everything but its restore.
    if policy.deleted && action != Action::Restore {
        return Err(Refusal::Missing);
    }
    // Changing a package needs reading it first: one that cannot be seen is missing.
    if action != Action::Pull
        && !matches!(
            decide(snap, caller, owner, name, Action::Pull),
            Decision::Allow | Decision::Create
        )
    {
        return Err(Refusal::Missing);
    }
    match decide(snap, caller, owner, name, action) {
        Decision::Allow | Decision::Create => {}
        Decision::Unauthenticated if action != Action::Pull => {
            return Err(Refusal::Unauthenticated);
        }
        Decision::Forbidden(message) if action != Action::Pull => {
            return Err(Refusal::Forbidden(message));
        }
        _ => return Err(Refusal::Missing),
    }
    if as_org && action != Action::Pull {
        let admin = caller.user_name().is_some_and(|u| {
            snap.is_site_admin(u) || snap.org(owner).is_some_and(|o| o.owners.contains(u))
        });
        if !admin {
            return Err(Refusal::Forbidden(format!(
                "changing {owner}'s packages needs an owner of the organization"
            )));
        }
    }
    Ok(())
}
