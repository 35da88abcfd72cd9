//! Who calls the REST API and what they may do: GitHub's credentials (`Bearer` or
//! `token` with a PAT, Basic with a PAT, workload tokens, registry tokens), the owner a
//! path names, and the policy's decision with GitHub's answers (no read access is a 404
//! identical to a missing package).

use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};

use super::error::ApiError;
use crate::auth::identity::Identity;
use crate::oci::reference::RepoName;
use crate::packages::json::AccountKind;
use crate::policy::{Action, PolicySnapshot, Refusal, permit};
use crate::state::AppState;

/// Which owner a path is under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `/user/…`: the signed-in user.
    User,
    /// `/users/{username}/…`
    Users,
    /// `/orgs/{org}/…`
    Orgs,
}

/// The caller behind the request's `Authorization` header (anonymous without one).
pub fn caller(app: &AppState, parts: &Parts) -> Result<Identity, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(Identity::anonymous());
    };
    let text = value.to_str().map_err(|_| ApiError::bad_credentials())?;
    let (scheme, secret) = text.split_once(' ').ok_or_else(ApiError::bad_credentials)?;
    let secret = secret.trim();
    let address = app.client_address(parts);
    let origin = crate::auth::Origin {
        account: None,
        address,
    };
    let signed_in = |secret: &str| app.auth.sign_in(secret, origin).map(|s| s.identity);
    let header = || HeaderValue::from_str(text).map_err(|_| ApiError::bad_credentials());
    let identity = if scheme.eq_ignore_ascii_case("token") {
        // GitHub's `token PAT`: a PAT or a workload token.
        signed_in(secret)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        // A PAT, a registry token, or a workload token.
        if secret.starts_with(crate::auth::pat::PREFIX) {
            signed_in(secret)
        } else {
            app.auth
                .authenticate(Some(&header()?), address)
                .or_else(|_| signed_in(secret))
        }
    } else {
        // Basic with a PAT or workload token as the password.
        app.auth.authenticate(Some(&header()?), address)
    };
    identity.map_err(|e| match e.retry_after() {
        Some(wait) => ApiError::too_many_failures(wait),
        None => ApiError::bad_credentials(),
    })
}

/// The owner a path names, and whether it is an organization. The packages operations
/// need a signed-in caller, as GitHub's do (public packages too).
pub fn owner(
    snap: &PolicySnapshot,
    scope: Scope,
    caller: &Identity,
    named: Option<&str>,
) -> Result<(String, AccountKind), ApiError> {
    if caller.is_anonymous() {
        return Err(ApiError::requires_authentication());
    }
    match scope {
        Scope::User => {
            let user = caller
                .user_name()
                .ok_or_else(ApiError::requires_authentication)?;
            Ok((user.to_owned(), AccountKind::User))
        }
        Scope::Users => {
            let name = named.ok_or_else(ApiError::not_found)?;
            let kind = match snap.org(name) {
                Some(_) => AccountKind::Organization,
                None => AccountKind::User,
            };
            Ok((name.to_owned(), kind))
        }
        Scope::Orgs => {
            let name = named.ok_or_else(ApiError::not_found)?;
            snap.org(name).ok_or_else(ApiError::not_found)?;
            Ok((name.to_owned(), AccountKind::Organization))
        }
    }
}

/// May `caller` do `action` to package `owner`/`name`? Reads that are not allowed are a
/// 404, exactly as for a package that does not exist.
pub fn authorize(
    snap: &PolicySnapshot,
    scope: Scope,
    caller: &Identity,
    owner: &str,
    name: &str,
    action: Action,
) -> Result<RepoName, ApiError> {
    let repo =
        RepoName::parse(&format!("{owner}/{name}")).map_err(|_| ApiError::package_not_found())?;
    permit(snap, scope == Scope::Orgs, caller, owner, name, action).map_err(|r| match r {
        Refusal::Missing => ApiError::package_not_found(),
        Refusal::Unauthenticated => ApiError::requires_authentication(),
        Refusal::Forbidden(message) => ApiError::new(StatusCode::FORBIDDEN, message),
    })?;
    Ok(repo)
}
