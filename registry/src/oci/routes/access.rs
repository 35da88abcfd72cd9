//! Who may call an endpoint: authentication, then the policy's decision on the
//! repository the path names. Runs before every `/v2/` handler.

use axum::http::request::Parts;
use axum::http::{Method, header};

use crate::auth::identity::Identity;
use crate::auth::scope::challenge;
use crate::error::Error;
use crate::hosts::realm_and_service;
use crate::oci::path::OciRoute;
use crate::oci::reference::RepoName;
use crate::policy::{Action, Decision, decide};
use crate::state::AppState;

/// What authorization allowed.
pub struct Access {
    pub identity: Identity,
    /// This push will create the package.
    pub creates: bool,
}

/// The action a method on a route is, and the repository it acts on (none for `/v2/`).
fn action<'a>(route: OciRoute<'a>, method: &Method) -> Result<Option<(&'a str, Action)>, Error> {
    use OciRoute::*;
    let m = method.as_str();
    let act = match (route, m) {
        (Base, "GET" | "HEAD") => return Ok(None),
        (Blob { name, .. } | Manifest { name, .. }, "GET" | "HEAD") => (name, Action::Pull),
        (Tags { name } | Referrers { name, .. }, "GET" | "HEAD") => (name, Action::Pull),
        (UploadStart { name }, "POST") => (name, Action::Push),
        (Upload { name, .. }, "GET" | "PATCH" | "PUT" | "DELETE") => (name, Action::Push),
        (Manifest { name, .. }, "PUT") => (name, Action::Push),
        (Blob { name, .. } | Manifest { name, .. }, "DELETE") => (name, Action::Delete),
        (route, _) => {
            return Err(Error::MethodNotAllowed {
                method: m.to_owned(),
                allow: route.allowed_methods(),
            });
        }
    };
    Ok(Some(act))
}

/// Authenticates the request and decides whether it may proceed.
pub fn authorize(app: &AppState, parts: &Parts, route: OciRoute<'_>) -> Result<Access, Error> {
    let target = action(route, &parts.method)?;
    let presented = parts.headers.get(header::AUTHORIZATION);
    let scope = target.map(|(name, a)| {
        let actions = match a {
            Action::Pull => "pull",
            Action::Push => "pull,push",
            Action::Delete => "delete",
        };
        format!("repository:{name}:{actions}")
    });
    let unauthorized = |message: String| {
        let (realm, service) = realm_and_service(&app.hosts, parts);
        Error::Unauthorized {
            message,
            challenge: challenge(&realm, &service, scope.as_deref()),
        }
    };
    let identity = app
        .auth
        .authenticate(presented)
        .map_err(|e| unauthorized(e.to_string()))?;
    let Some((name, action)) = target else {
        // `GET /v2/` is how clients check credentials: without any, it asks for them.
        return match presented {
            None => Err(unauthorized("authentication required".into())),
            Some(_) => Ok(Access {
                identity,
                creates: false,
            }),
        };
    };
    let repo = RepoName::parse(name)?;
    let snap = app.policy.snapshot();
    match decide(&snap, &identity, repo.owner(), repo.package(), action) {
        Decision::Allow => Ok(Access {
            identity,
            creates: false,
        }),
        Decision::Create => Ok(Access {
            identity,
            creates: true,
        }),
        Decision::Unauthenticated => Err(unauthorized("authentication required".into())),
        // Exactly what a name that does not exist answers.
        Decision::Hidden => Err(Error::NameUnknown),
        Decision::Forbidden(message) => Err(Error::Denied(message)),
    }
}

/// Whether `identity` may read `from`, for a cross-repository mount. Anything but a
/// yes gives an ordinary upload session, so a mount never reveals a hidden blob.
pub fn may_read(app: &AppState, identity: &Identity, from: &RepoName) -> bool {
    let snap = app.policy.snapshot();
    decide(&snap, identity, from.owner(), from.package(), Action::Pull) == Decision::Allow
}
