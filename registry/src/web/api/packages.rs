//! `GET {owner}/packages`, and `GET|DELETE {owner}/packages/container/{name}` and its
//! `POST …/restore`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::Value;

use super::access::{Scope, authorize, owner};
use super::error::ApiError;
use super::paging::{link, page_of};
use super::{Answer, Call};
use crate::oci::reference::RepoName;
use crate::packages::deletion::policy_for_restore;
use crate::packages::json::{
    AccountKind, PackageView, minimal_repository, owner_path, package, simple_user,
};
use crate::policy::Action;
use berth_crds::access::Visibility;

/// `GET {owner}/packages?package_type=container`: the owner's packages the caller may
/// read, by name, paged.
pub async fn list(c: Call, scope: Scope) -> Answer {
    let (login, kind) = owner(&c.snap, scope, &c.caller, c.param("owner"))?;
    let page = page_of(&c.query)?;
    let wanted = c.query.get("visibility").map(String::as_str);
    let names: Vec<String> = match c.query.get("package_type").map(String::as_str) {
        Some("container") | Some("docker") => {
            crate::policy::readable_packages(&c.snap, &c.caller, &login, wanted)
        }
        // Other package types hold nothing here.
        Some(_) => Vec::new(),
        None => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "package_type is required: container",
            ));
        }
    };
    let mut body = Vec::new();
    for name in &names[page.range(names.len())] {
        body.push(package_json(&c, &login, kind, name).await?);
    }
    let mut response = Json(body).into_response();
    if let Some(l) = link(&c.url(), &c.query, page, names.len())
        && let Ok(v) = HeaderValue::from_str(&l)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

/// `GET {owner}/packages/container/{name}`
pub async fn get(c: Call, scope: Scope) -> Answer {
    let (login, kind, name) = package_of(&c, scope)?;
    authorize(&c.snap, scope, &c.caller, &login, &name, Action::Pull)?;
    Ok(Json(package_json(&c, &login, kind, &name).await?).into_response())
}

/// `DELETE {owner}/packages/container/{name}`: 204; every version goes, restorable.
pub async fn delete(c: Call, scope: Scope) -> Answer {
    let (login, _, name) = package_of(&c, scope)?;
    let repo = authorize(&c.snap, scope, &c.caller, &login, &name, Action::Delete)?;
    let packages = c.app.packages();
    let record = packages.record_of(&repo).await?;
    packages.delete_package(&repo).await?;
    c.package_changed(crate::audit::Action::DeletePackage, &repo, &record)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST {owner}/packages/container/{name}/restore`: 204. Who may restore is decided by
/// the policy the package had (its `Package` may have gone with it). GitHub's `token`
/// parameter has no documented meaning and is ignored.
pub async fn restore(c: Call, scope: Scope) -> Answer {
    let (login, _, name) = package_of(&c, scope)?;
    let repo =
        RepoName::parse(&format!("{login}/{name}")).map_err(|_| ApiError::package_not_found())?;
    let packages = c.app.packages();
    let deleted = packages
        .deleted_package(&repo)
        .await?
        .ok_or_else(ApiError::package_not_found)?;
    let snap = policy_for_restore(&c.snap, &deleted);
    authorize(&snap, scope, &c.caller, &login, &name, Action::Restore)?;
    packages.restore_package(&repo).await?;
    let record = packages.record_of(&repo).await?;
    c.package_changed(crate::audit::Action::RestorePackage, &repo, &record)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The owner and package name a package path names; only containers are here.
pub fn package_of(c: &Call, scope: Scope) -> Result<(String, AccountKind, String), ApiError> {
    let (login, kind) = owner(&c.snap, scope, &c.caller, c.param("owner"))?;
    if !matches!(c.param("package_type"), Some("container") | Some("docker")) {
        return Err(ApiError::package_not_found());
    }
    let name = c
        .param("package_name")
        .ok_or_else(ApiError::package_not_found)?
        .to_owned();
    Ok((login, kind, name))
}

/// GitHub's JSON for package `login`/`name`, which the policy has.
pub async fn package_json(
    c: &Call,
    login: &str,
    kind: AccountKind,
    name: &str,
) -> Result<Value, ApiError> {
    let repo =
        RepoName::parse(&format!("{login}/{name}")).map_err(|_| ApiError::package_not_found())?;
    let policy = c
        .snap
        .package(login, name)
        .ok_or_else(ApiError::package_not_found)?;
    let packages = c.app.packages();
    let record = packages.record_of(&repo).await?;
    let version_count = packages.version_count(&repo, record.id).await?;
    let download_count = packages
        .downloads
        .of(&c.app.content, &repo, record.id)
        .await?
        .values()
        .sum();
    let repository = policy
        .repository
        .as_deref()
        .and_then(|url| c.snap.repository_by_url(url))
        .map(|(org, r)| {
            let owner = simple_user(&c.bases, &org.name, AccountKind::Organization, false);
            minimal_repository(
                &c.bases,
                owner,
                &r.name,
                &r.url,
                policy.visibility != Visibility::Public,
            )
        });
    Ok(package(
        &c.bases,
        &PackageView {
            id: record.id,
            name,
            owner: simple_user(&c.bases, login, kind, c.snap.is_site_admin(login)),
            owner_path: owner_path(login, kind),
            public: policy.visibility == Visibility::Public,
            version_count,
            repository,
            download_count,
            created_at: &record.created_at,
            updated_at: &record.updated_at,
        },
    ))
}
