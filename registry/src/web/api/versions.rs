//! `{owner}/packages/container/{name}/versions`: list (`state=active|deleted`), get,
//! delete and restore a version.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;

use super::access::{Scope, authorize};
use super::error::ApiError;
use super::packages::package_of;
use super::paging::{link, page_of};
use super::{Answer, Call};
use crate::oci::reference::RepoName;
use crate::packages::downloads::Counts;
use crate::packages::json::{owner_path, version};
use crate::packages::versions::{Rules, State, Version};
use crate::policy::Action;

/// `GET …/versions`: newest first, paged.
pub async fn list(c: Call, scope: Scope) -> Answer {
    let (login, kind, name) = package_of(&c, scope)?;
    let repo = authorize(&c.snap, scope, &c.caller, &login, &name, Action::Pull)?;
    let state = match c.query.get("state").map(String::as_str) {
        None | Some("active") => State::Active,
        Some("deleted") => State::Deleted,
        Some(other) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("state must be active or deleted, not {other}"),
            ));
        }
    };
    let page = page_of(&c.query)?;
    let packages = c.app.packages();
    let pkg = packages.record_of(&repo).await?.id;
    let (versions, total) = packages.versions(&repo, pkg, state, page).await?;
    let path = owner_path(&login, kind);
    let downloads = downloads(&c, &repo, pkg).await?;
    let body: Vec<_> = versions
        .iter()
        .map(|v| version(&c.bases, &path, &name, v, count(&downloads, v)))
        .collect();
    let mut response = Json(body).into_response();
    if let Some(l) = link(&c.url(), &c.query, page, total)
        && let Ok(v) = HeaderValue::from_str(&l)
    {
        response.headers_mut().insert(header::LINK, v);
    }
    Ok(response)
}

/// `GET …/versions/{id}`, active or deleted.
pub async fn get(c: Call, scope: Scope) -> Answer {
    let (login, kind, name) = package_of(&c, scope)?;
    let repo = authorize(&c.snap, scope, &c.caller, &login, &name, Action::Pull)?;
    let packages = c.app.packages();
    let pkg = packages.record_of(&repo).await?.id;
    let v = packages
        .version(&repo, pkg, version_id(&c)?)
        .await?
        .ok_or_else(version_not_found)?;
    let n = count(&downloads(&c, &repo, pkg).await?, &v);
    Ok(Json(version(&c.bases, &owner_path(&login, kind), &name, &v, n)).into_response())
}

/// `DELETE …/versions/{id}`: 204, under GitHub's rules.
pub async fn delete(c: Call, scope: Scope) -> Answer {
    let (login, _, name) = package_of(&c, scope)?;
    let repo = authorize(&c.snap, scope, &c.caller, &login, &name, Action::Delete)?;
    let packages = c.app.packages();
    let pkg = packages.record_of(&repo).await?.id;
    let id = version_id(&c)?;
    packages
        .delete_version(&repo, pkg, id, Rules::Packages)
        .await?;
    c.version_changed(crate::audit::Action::DeleteVersion, &repo, pkg, id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST …/versions/{id}/restore`: 204.
pub async fn restore(c: Call, scope: Scope) -> Answer {
    let (login, _, name) = package_of(&c, scope)?;
    let repo = authorize(&c.snap, scope, &c.caller, &login, &name, Action::Restore)?;
    let packages = c.app.packages();
    let pkg = packages.record_of(&repo).await?.id;
    let id = version_id(&c)?;
    packages.restore_version(&repo, pkg, id).await?;
    c.version_changed(crate::audit::Action::RestoreVersion, &repo, pkg, id)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn downloads(c: &Call, repo: &RepoName, pkg: u64) -> Result<Counts, ApiError> {
    Ok(c.app.downloads.of(&c.app.content, repo, pkg).await?)
}

fn count(downloads: &Counts, v: &Version) -> u64 {
    downloads.get(&v.record.digest).copied().unwrap_or(0)
}

fn version_id(c: &Call) -> Result<u64, ApiError> {
    c.param("package_version_id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(version_not_found)
}

fn version_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Package version not found.")
}
