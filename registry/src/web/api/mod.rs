//! The REST API surface: GitHub's packages operations on `HOST/api/v3`, for
//! `package_type=container`, under `/user`, `/users/{username}` and `/orgs/{org}`, so
//! octokit, githubkit and `gh api` work by changing their base URL. A file per family:
//! `owners.rs` (who is who), `packages.rs`, `versions.rs`; GitHub's JSON in `json.rs`,
//! its paging in `paging.rs`, its errors in `error.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use self::access::Scope;
use self::error::ApiError;
use self::json::Bases;
use self::ops::{Op, docs_url};
use crate::auth::identity::Identity;
use crate::policy::PolicySnapshot;
use crate::state::AppState;
use crate::web::acts::Actor;

mod access;
mod error;
use crate::packages::json;
mod ops;
mod owners;
mod packages;
mod paging;
mod versions;

/// Every route of the API.
pub fn router() -> Router<Arc<AppState>> {
    let mut router = Router::new()
        .route("/api/v3/user", get(owners::me))
        .route("/api/v3/users/{owner}", get(owners::user))
        .route("/api/v3/orgs/{owner}", get(owners::org));
    for (prefix, scope) in [
        ("/api/v3/user", Scope::User),
        ("/api/v3/users/{owner}", Scope::Users),
        ("/api/v3/orgs/{owner}", Scope::Orgs),
    ] {
        router = router.merge(packages_routes(prefix, scope));
    }
    // Any other path under the API is GitHub's 404, on the API's host only.
    router.route(
        "/api/v3/{*rest}",
        axum::routing::any(|| async { ApiError::not_found() }),
    )
}

/// The packages operations under one owner scope.
fn packages_routes(prefix: &str, scope: Scope) -> Router<Arc<AppState>> {
    let package = format!("{prefix}/packages/{{package_type}}/{{package_name}}");
    let version = format!("{package}/versions/{{package_version_id}}");
    Router::new()
        .route(
            &format!("{prefix}/packages"),
            get(move |c: Call| run(Op::ListPackages, scope, packages::list(c, scope))),
        )
        .route(
            &package,
            get(move |c: Call| run(Op::GetPackage, scope, packages::get(c, scope)))
                .delete(move |c: Call| run(Op::DeletePackage, scope, packages::delete(c, scope))),
        )
        .route(
            &format!("{package}/restore"),
            post(move |c: Call| run(Op::RestorePackage, scope, packages::restore(c, scope))),
        )
        .route(
            &format!("{package}/versions"),
            get(move |c: Call| run(Op::ListVersions, scope, versions::list(c, scope))),
        )
        .route(
            &version,
            get(move |c: Call| run(Op::GetVersion, scope, versions::get(c, scope)))
                .delete(move |c: Call| run(Op::DeleteVersion, scope, versions::delete(c, scope))),
        )
        .route(
            &format!("{version}/restore"),
            post(move |c: Call| run(Op::RestoreVersion, scope, versions::restore(c, scope))),
        )
}

/// Runs a packages operation; its errors name the operation's documentation. Every
/// packages operation needs a signed-in caller, as on GitHub.
async fn run(op: Op, scope: Scope, answer: impl Future<Output = Answer>) -> Response {
    answer
        .await
        .unwrap_or_else(|e| e.documented(docs_url(op, scope)).into_response())
}

/// What every handler starts from: the state, the caller, the policy in force, the
/// path's parameters (decoded: a nested name arrives as `%2F`), the query, and where
/// URLs point.
pub struct Call {
    app: Arc<AppState>,
    path: String,
    caller: Identity,
    snap: Arc<PolicySnapshot>,
    /// Where the request came from, for the audit trail.
    address: Option<std::net::IpAddr>,
    /// The hosts the request named, for the URLs webhook events carry.
    origin: crate::packages::events::PushOrigin,
    params: HashMap<String, String>,
    query: BTreeMap<String, String>,
    bases: Bases,
}

impl Call {
    /// The caller as the audit trail and events name them.
    fn actor(&self) -> Actor {
        Actor {
            who: self.caller.audit_name(),
            from: self.address,
            origin: self.origin.clone(),
        }
    }

    /// A version's delete or restore by the caller, after it is done.
    async fn version_changed(
        &self,
        action: crate::audit::Action,
        repo: &crate::oci::reference::RepoName,
        pkg: u64,
        id: u64,
    ) -> Result<(), ApiError> {
        let actor = self.actor();
        Ok(actor
            .version_changed(&self.app, action, repo, pkg, id)
            .await?)
    }

    /// A whole package's delete or restore by the caller, after it is done.
    async fn package_changed(
        &self,
        action: crate::audit::Action,
        repo: &crate::oci::reference::RepoName,
        package: &crate::packages::PackageRecord,
    ) -> Result<(), ApiError> {
        let actor = self.actor();
        Ok(actor
            .package_changed(&self.app, action, repo, package)
            .await?)
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The request's URL without its query, absolute, for `Link` headers.
    fn url(&self) -> String {
        format!("{}{}", self.bases.site, self.path)
    }
}

impl FromRequestParts<Arc<AppState>> for Call {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        // Routes without parameters (`/user/packages`) have none to extract.
        let params = Path::<HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map(|Path(p)| p)
            .unwrap_or_default();
        let query = parts
            .uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let caller = access::caller(app, parts).map_err(IntoResponse::into_response)?;
        Ok(Call {
            app: app.clone(),
            bases: Bases::new(crate::hosts::site_base(&app.hosts, parts)),
            path: parts.uri.path().to_owned(),
            caller,
            snap: app.policy.snapshot(),
            address: app.client_address(parts),
            origin: crate::web::push_origin(app, parts),
            params,
            query,
        })
    }
}

/// Handlers answer JSON or GitHub's error.
type Answer = Result<Response, ApiError>;
