//! `GET /user`, `/users/{username}` and `/orgs/{org}`: who the caller is, and who an
//! owner is. Berth keeps no account table: a user is whoever the policy or a token
//! names, an organization is an `Organization` of the policy.

use axum::Json;
use axum::response::IntoResponse;
use serde_json::Value;

use super::error::ApiError;
use super::{Answer, Call};
use crate::packages::json::{AccountKind, simple_user};

/// `GET /user`
pub async fn me(c: Call) -> Answer {
    let login = c.caller.user_name().ok_or_else(|| {
        ApiError::requires_authentication()
            .documented("https://docs.github.com/rest/users/users#get-the-authenticated-user")
    })?;
    Ok(Json(account(&c, login, AccountKind::User)).into_response())
}

/// `GET /users/{username}`: an organization's name answers as the organization.
pub async fn user(c: Call) -> Answer {
    let login = c.param("owner").ok_or_else(|| {
        ApiError::not_found().documented("https://docs.github.com/rest/users/users#get-a-user")
    })?;
    let kind = match c.snap.org(login) {
        Some(_) => AccountKind::Organization,
        None => AccountKind::User,
    };
    Ok(Json(account(&c, login, kind)).into_response())
}

/// `GET /orgs/{org}`
pub async fn org(c: Call) -> Answer {
    let not_found = || {
        ApiError::not_found()
            .documented("https://docs.github.com/rest/orgs/orgs#get-an-organization")
    };
    let login = c.param("owner").ok_or_else(not_found)?;
    c.snap.org(login).ok_or_else(not_found)?;
    // GitHub's organization-full: the account's fields without the user profile's
    // (name, company, blog… are optional there and not nullable), and plain URLs.
    let mut body = simple_user(&c.bases, login, AccountKind::Organization, false);
    let api = &c.bases.api;
    let orgs = format!("{api}/orgs/{login}");
    for field in [
        "gravatar_id",
        "followers_url",
        "following_url",
        "gists_url",
        "starred_url",
        "subscriptions_url",
        "organizations_url",
        "received_events_url",
        "site_admin",
        "user_view_type",
    ] {
        if let Some(o) = body.as_object_mut() {
            o.remove(field);
        }
    }
    body["url"] = orgs.clone().into();
    body["repos_url"] = format!("{orgs}/repos").into();
    body["events_url"] = format!("{orgs}/events").into();
    body["hooks_url"] = format!("{orgs}/hooks").into();
    body["issues_url"] = format!("{orgs}/issues").into();
    body["members_url"] = format!("{orgs}/members{{/member}}").into();
    body["public_members_url"] = format!("{orgs}/public_members{{/member}}").into();
    body["description"] = Value::Null;
    body["has_organization_projects"] = false.into();
    body["has_repository_projects"] = false.into();
    body["public_repos"] = 0.into();
    body["public_gists"] = 0.into();
    body["followers"] = 0.into();
    body["following"] = 0.into();
    body["created_at"] = "1970-01-01T00:00:00Z".into();
    body["updated_at"] = "1970-01-01T00:00:00Z".into();
    body["archived_at"] = Value::Null;
    Ok(Json(body).into_response())
}

/// An account as `/user` and `/users/{username}` answer it: the simple user, plus the
/// public profile's counts (Berth has none of GitHub's social graph).
fn account(c: &Call, login: &str, kind: AccountKind) -> Value {
    let mut body = simple_user(&c.bases, login, kind, c.snap.is_site_admin(login));
    for (field, value) in [
        ("name", Value::Null),
        ("company", Value::Null),
        ("blog", "".into()),
        ("location", Value::Null),
        ("email", Value::Null),
        ("hireable", Value::Null),
        ("bio", Value::Null),
        ("public_repos", 0.into()),
        ("public_gists", 0.into()),
        ("followers", 0.into()),
        ("following", 0.into()),
        ("created_at", "1970-01-01T00:00:00Z".into()),
        ("updated_at", "1970-01-01T00:00:00Z".into()),
    ] {
        body[field] = value;
    }
    body
}
