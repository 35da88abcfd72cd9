//! What every package page starts with: whether the viewer may see the package (else
//! the not-found page), its paths, and how to pull what it shows.

use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::layout::{not_found, page};
use super::session::Viewer;
use crate::content::StoredManifest;
use crate::oci::digest::Digest;
use crate::oci::manifest::Manifest;
use crate::oci::reference::{Reference, RepoName};
use crate::packages::downloads::Counts;
use crate::packages::json::name_segment;
use crate::packages::versions::Version;
use crate::policy::{Action, Decision, Refusal, decide, permit};
use crate::state::AppState;
use berth_crds::access::Visibility;

/// A package the viewer may read.
pub struct Shown {
    pub repo: RepoName,
    pub public: bool,
    /// Under `/orgs/` rather than `/users/`.
    pub org: bool,
    /// `/orgs/OWNER/packages/container` or `/users/OWNER/packages/container`.
    base: String,
}

impl Shown {
    /// The package's page.
    pub fn page_path(&self) -> String {
        format!("{}/package/{}", self.base, self.encoded())
    }

    /// Its versions list.
    pub fn versions_path(&self) -> String {
        format!("{}/{}/versions", self.base, self.encoded())
    }

    /// A version's page.
    pub fn version_path(&self, id: u64) -> String {
        format!("{}/{}/{id}", self.base, self.encoded())
    }

    /// Its settings page.
    pub fn settings_path(&self) -> String {
        format!("{}/{}/settings", self.base, self.encoded())
    }

    /// Where a form acting on version `id` is sent (`delete` or `restore`).
    pub fn version_act_path(&self, id: u64, act: &str) -> String {
        format!("{}/{}/{id}/{act}", self.base, self.encoded())
    }

    /// The owner's list of packages.
    pub fn owner_path(&self) -> String {
        owner_list_path(self.org, self.repo.owner())
    }

    /// Whether `viewer` may do `action` to this package, or why not.
    pub fn permit(&self, app: &AppState, viewer: &Viewer, action: Action) -> Result<(), Refusal> {
        let (owner, name) = (self.repo.owner(), self.repo.package());
        let snap = app.policy.snapshot();
        permit(&snap, self.org, &viewer.identity, owner, name, action)
    }

    /// Whether `viewer` may do `action` to this package.
    pub fn may(&self, app: &AppState, viewer: &Viewer, action: Action) -> bool {
        self.permit(app, viewer, action).is_ok()
    }

    /// The name as one path segment: a nested name's `/` is `%2F`, as on GitHub.
    fn encoded(&self) -> String {
        name_segment(self.repo.package())
    }
}

/// A page the viewer may not see: rendered as the not-found page, the same for a
/// package that is missing, deleted, under the other kind of owner, or not theirs to see.
pub struct NotFound(pub Viewer);

impl IntoResponse for NotFound {
    fn into_response(self) -> Response {
        not_found(&self.0)
    }
}

/// The viewer of `parts`, and `OWNER/NAME` under `/orgs/` (`org`) or `/users/` if they
/// may read it.
pub fn open(
    app: &AppState,
    parts: &Parts,
    org: bool,
    owner: &str,
    name: &str,
) -> Result<(Viewer, Shown), NotFound> {
    let viewer = Viewer::of(app, parts);
    let snap = app.policy.snapshot();
    let readable = snap.org(owner).is_some() == org
        && matches!(
            decide(&snap, &viewer.identity, owner, name, Action::Pull),
            Decision::Allow
        );
    let policy = snap.package(owner, name).filter(|p| readable && !p.deleted);
    let repo = RepoName::parse(&format!("{owner}/{name}")).ok();
    let (Some(policy), Some(repo)) = (policy, repo) else {
        return Err(NotFound(viewer));
    };
    let shown = Shown {
        repo,
        public: policy.visibility == Visibility::Public,
        org,
        base: format!(
            "/{}/{owner}/packages/container",
            if org { "orgs" } else { "users" }
        ),
    };
    Ok((viewer, shown))
}

/// An owner's list of packages, `/orgs/OWNER/packages` or `/users/OWNER/packages`.
pub fn owner_list_path(org: bool, owner: &str) -> String {
    format!("/{}/{owner}/packages", if org { "orgs" } else { "users" })
}

/// Package `OWNER/NAME`'s page (a nested name is one `%2F`-encoded segment).
pub fn package_path(org: bool, owner: &str, name: &str) -> String {
    format!(
        "{}/container/package/{}",
        owner_list_path(org, owner),
        name_segment(name)
    )
}

/// The page, or a 503 when storage did not answer.
pub fn answer(
    viewer: &Viewer,
    repo: &RepoName,
    rendered: crate::content::Result<Markup>,
) -> Response {
    match rendered {
        Ok(markup) => markup.into_response(),
        Err(e) => {
            tracing::warn!(package = %repo, error = %e, "rendering a package page failed");
            let body = page(
                "Unavailable",
                viewer,
                html! { h1 { "This page is unavailable" } p { "Storage did not answer; try again." } },
            );
            (StatusCode::SERVICE_UNAVAILABLE, body).into_response()
        }
    }
}

/// The pull commands for `reference` (`:TAG` or `@DIGEST`) of `repo`: one, and for an
/// index one more per platform (`:TAG@CHILD`, as GHCR prints them), each with its
/// platform.
pub fn pull_lines(
    registry: &str,
    repo: &RepoName,
    reference: &str,
    manifest: Option<&Manifest>,
) -> Vec<(Option<String>, String)> {
    let mut lines = vec![(None, format!("docker pull {registry}/{repo}{reference}"))];
    for child in manifest.map(|m| m.manifests.as_slice()).unwrap_or_default() {
        let platform = child.platform.as_ref().map_or_else(
            || "unknown/unknown".to_owned(),
            |p| match &p.variant {
                Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                None => format!("{}/{}", p.os, p.architecture),
            },
        );
        let base = reference.split('@').next().unwrap_or(reference);
        lines.push((
            Some(platform),
            format!("docker pull {registry}/{repo}{base}@{}", child.digest),
        ));
    }
    lines
}

/// The install commands as the pages show them.
pub fn install(lines: &[(Option<String>, String)]) -> Markup {
    html! {
        @for (platform, command) in lines {
            @if let Some(p) = platform { div.muted { (p) } }
            pre { code { "$ " (command) } }
        }
    }
}

/// The manifest `digest` of `repo`, parsed, if it is stored.
pub async fn manifest_of(
    app: &AppState,
    repo: &RepoName,
    digest: &str,
) -> crate::content::Result<Option<(Manifest, StoredManifest)>> {
    let Ok(digest) = digest.parse::<Digest>() else {
        return Ok(None);
    };
    let stored = match app
        .content
        .manifest_get(repo, &Reference::Digest(digest))
        .await
    {
        Ok(s) => s,
        Err(crate::content::Error::ManifestUnknown) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Manifest::parse(Some(&stored.media_type), &stored.bytes)
        .ok()
        .map(|m| (m, stored)))
}

/// A version as the lists show it: its tags (or "untagged") linking to its page, when
/// it was published, its digest and its downloads.
pub fn version_row(shown: &Shown, v: &Version, downloads: &Counts) -> Markup {
    html! {
        li {
            a href=(shown.version_path(v.record.id)) {
                @if v.tags.is_empty() { "untagged" } @else { strong { (v.tags.join(", ")) } }
            }
            div.muted {
                "Published " (v.record.created_at)
                " · Digest " code { (v.record.digest) }
                " · " (downloads.get(&v.record.digest).copied().unwrap_or(0)) " downloads"
            }
        }
    }
}

/// The 1-based page a list's `?page=` asks for (the first when it names none).
pub fn page_number(query: &std::collections::HashMap<String, String>) -> usize {
    query
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|&p| p >= 1)
        .unwrap_or(1)
}

/// A list's previous and next links around "Page N of M"; `href(n)` is page n's URL.
pub fn paging(number: usize, pages: usize, href: impl Fn(usize) -> String) -> Markup {
    html! {
        nav.paging aria-label="Pages" {
            @if number > 1 { a rel="prev" href=(href(number - 1)) { "Previous" } }
            span.muted { "Page " (number.min(pages)) " of " (pages) }
            @if number < pages { a rel="next" href=(href(number + 1)) { "Next" } }
        }
    }
}
