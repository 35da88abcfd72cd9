//! Who may call an endpoint: authentication, then the policy's decision on the
//! repository the path names. Runs before every `/v2/` handler.

use axum::http::header;
use axum::http::request::Parts;

use crate::auth::identity::Identity;
use crate::auth::scope::challenge;
use crate::hosts::realm_and_service;
use crate::oci::reference::RepoName;
use crate::policy::{Action, Decision, decide};
use crate::state::AppState;
use crate::web::oci::error::OciError as Error;

use super::call::Call;

/// What authorization allowed.
pub struct Access {
    pub identity: Identity,
    /// This push will create the package.
    pub creates: bool,
}

/// Authenticates the request, validates its repository name (once: the handlers get the
/// parsed name) and decides whether it may proceed. Authentication comes first, so a
/// client without credentials is asked for them whatever the name.
pub fn authorize<'a>(
    app: &AppState,
    parts: &Parts,
    call: Call<'a>,
) -> Result<(Access, Call<'a, RepoName>), Error> {
    let presented = parts.headers.get(header::AUTHORIZATION);
    let scope = call.target().map(|(name, a)| {
        let actions = match a {
            Action::Pull => "pull",
            Action::Push => "pull,push",
            Action::Delete => "delete",
            // Not an OCI action: no call asks for it.
            Action::Restore | Action::Manage => "pull,push",
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
        .authenticate(presented, app.client_address(parts))
        .map_err(|e| match e.retry_after() {
            Some(retry_after) => Error::TooManyRequests {
                message: e.to_string(),
                retry_after,
            },
            None => unauthorized(e.to_string()),
        })?;
    let call = call.try_map_repo(RepoName::parse)?;
    let Some((repo, action)) = call.target() else {
        // `GET /v2/` is how clients check credentials: without any, it asks for them.
        return match presented {
            None => Err(unauthorized("authentication required".into())),
            Some(_) => Ok((
                Access {
                    identity,
                    creates: false,
                },
                call,
            )),
        };
    };
    let snap = app.policy.snapshot();
    let creates = match decide(&snap, &identity, repo.owner(), repo.package(), action) {
        Decision::Allow => false,
        Decision::Create => true,
        Decision::Unauthenticated => return Err(unauthorized("authentication required".into())),
        // Exactly what a name that does not exist answers.
        Decision::Hidden => return Err(crate::content::Error::NameUnknown.into()),
        Decision::Forbidden(message) => return Err(Error::Denied(message)),
    };
    Ok((Access { identity, creates }, call))
}

/// Whether `identity` may read `from`, for a cross-repository mount. Anything but a
/// yes gives an ordinary upload session, so a mount never reveals a hidden blob.
pub fn may_read(app: &AppState, identity: &Identity, from: &RepoName) -> bool {
    let snap = app.policy.snapshot();
    decide(&snap, identity, from.owner(), from.package(), Action::Pull) == Decision::Allow
}
