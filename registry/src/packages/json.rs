//! The JSON GitHub's schemas describe (the REST API's and the webhooks'), built from the
//! registry's records: pure functions, so the shape is tested without a server.

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::packages::ids::MAX_ID;
use crate::packages::versions::Version;

/// Where URLs point: the site (`http://HOST`) and its API (`http://HOST/api/v3`).
#[derive(Clone, Debug)]
pub struct Bases {
    pub site: String,
    pub api: String,
}

impl Bases {
    pub fn new(site: String) -> Bases {
        let api = format!("{site}/api/v3");
        Bases { site, api }
    }
}

/// An account as GitHub's owner objects name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountKind {
    User,
    Organization,
}

/// The account `login`'s id: stable (the same on every replica and every start), below
/// 2^53, and derived from the login, since Berth keeps no account table.
pub fn account_id(login: &str) -> u64 {
    let hash = Sha256::digest(login.as_bytes());
    let mut id = [0u8; 8];
    id.copy_from_slice(&hash[..8]);
    (u64::from_be_bytes(id) & MAX_ID).max(1)
}

/// GitHub's `simple-user` for `login`.
pub fn simple_user(bases: &Bases, login: &str, kind: AccountKind, site_admin: bool) -> Value {
    let id = account_id(login);
    let (api, site) = (&bases.api, &bases.site);
    let users = format!("{api}/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": node_id(kind, id),
        "avatar_url": format!("{site}/avatars/{login}"),
        "gravatar_id": "",
        "url": users,
        "html_url": format!("{site}/{login}"),
        "followers_url": format!("{users}/followers"),
        "following_url": format!("{users}/following{{/other_user}}"),
        "gists_url": format!("{users}/gists{{/gist_id}}"),
        "starred_url": format!("{users}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{users}/subscriptions"),
        "organizations_url": format!("{users}/orgs"),
        "repos_url": format!("{users}/repos"),
        "events_url": format!("{users}/events{{/privacy}}"),
        "received_events_url": format!("{users}/received_events"),
        "type": match kind {
            AccountKind::User => "User",
            AccountKind::Organization => "Organization",
        },
        "site_admin": site_admin,
        "user_view_type": "public",
    })
}

/// GitHub's `organization-simple-webhooks` for `login` (the webhooks' `organization`).
pub fn organization_simple(bases: &Bases, login: &str) -> Value {
    let api = format!("{}/orgs/{login}", bases.api);
    json!({
        "login": login,
        "id": account_id(login),
        "node_id": node_id(AccountKind::Organization, account_id(login)),
        "url": api,
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events"),
        "hooks_url": format!("{api}/hooks"),
        "issues_url": format!("{api}/issues"),
        "members_url": format!("{api}/members{{/member}}"),
        "public_members_url": format!("{api}/public_members{{/member}}"),
        "avatar_url": format!("{}/avatars/{login}", bases.site),
        "description": null,
    })
}

fn node_id(kind: AccountKind, id: u64) -> String {
    let prefix = match kind {
        AccountKind::User => "U",
        AccountKind::Organization => "O",
    };
    format!("{prefix}_berth{id}")
}

/// The path segment of an owner's API and page URLs: `users/NAME` or `orgs/NAME`.
pub fn owner_path(login: &str, kind: AccountKind) -> String {
    match kind {
        AccountKind::User => format!("users/{login}"),
        AccountKind::Organization => format!("orgs/{login}"),
    }
}

/// A package name as a path segment: nested names are `%2F`-encoded, as GitHub wants.
pub fn name_segment(name: &str) -> String {
    name.replace('/', "%2F")
}

/// What a package's JSON is made of.
pub struct PackageView<'a> {
    pub id: u64,
    pub name: &'a str,
    pub owner: Value,
    pub owner_path: String,
    pub public: bool,
    pub version_count: usize,
    /// The linked source repository, as `minimal_repository` writes it.
    pub repository: Option<Value>,
    /// Downloads of all its versions (a Berth field; GitHub's schema has none).
    pub download_count: u64,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

/// The package's API URL and its page's URL.
pub fn package_urls(bases: &Bases, owner_path: &str, name: &str) -> (String, String) {
    let n = name_segment(name);
    (
        format!("{}/{owner_path}/packages/container/{n}", bases.api),
        format!("{}/{owner_path}/packages/container/package/{n}", bases.site),
    )
}

/// GitHub's `package`.
pub fn package(bases: &Bases, p: &PackageView<'_>) -> Value {
    let (url, html_url) = package_urls(bases, &p.owner_path, p.name);
    json!({
        "id": p.id,
        "name": p.name,
        "package_type": "container",
        "owner": p.owner,
        "version_count": p.version_count,
        "download_count": p.download_count,
        "repository": p.repository,
        "visibility": if p.public { "public" } else { "private" },
        "url": url,
        "html_url": html_url,
        "created_at": timestamp(p.created_at),
        "updated_at": timestamp(p.updated_at),
    })
}

/// GitHub's `minimal-repository` for repository `owner`/`name` of the policy (a package's
/// linked source), whose page is `html_url` on its own Git host. Berth serves no
/// repositories API: `url` names where GitHub's would be, for clients that only print it.
pub fn minimal_repository(
    bases: &Bases,
    owner: Value,
    name: &str,
    html_url: &str,
    private: bool,
) -> Value {
    let login = owner["login"].as_str().unwrap_or_default().to_owned();
    let full_name = format!("{login}/{name}");
    let url = format!("{}/repos/{full_name}", bases.api);
    let mut repo = json!({
        "id": account_id(&format!("repository {full_name}")),
        "node_id": format!("R_berth{}", account_id(&format!("repository {full_name}"))),
        "name": name,
        "full_name": full_name,
        "owner": owner,
        "private": private,
        "html_url": html_url,
        "description": null,
        "fork": false,
        "url": url,
    });
    for (field, template) in [
        ("archive_url", "/{archive_format}{/ref}"),
        ("assignees_url", "/assignees{/user}"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("branches_url", "/branches{/branch}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("comments_url", "/comments{/number}"),
        ("commits_url", "/commits{/sha}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("contents_url", "/contents/{+path}"),
        ("contributors_url", "/contributors"),
        ("deployments_url", "/deployments"),
        ("downloads_url", "/downloads"),
        ("events_url", "/events"),
        ("forks_url", "/forks"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("hooks_url", "/hooks"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("issue_events_url", "/issues/events{/number}"),
        ("issues_url", "/issues{/number}"),
        ("keys_url", "/keys{/key_id}"),
        ("labels_url", "/labels{/name}"),
        ("languages_url", "/languages"),
        ("merges_url", "/merges"),
        ("milestones_url", "/milestones{/number}"),
        (
            "notifications_url",
            "/notifications{?since,all,participating}",
        ),
        ("pulls_url", "/pulls{/number}"),
        ("releases_url", "/releases{/id}"),
        ("stargazers_url", "/stargazers"),
        ("statuses_url", "/statuses/{sha}"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("tags_url", "/tags"),
        ("teams_url", "/teams"),
        ("trees_url", "/git/trees{/sha}"),
    ] {
        repo[field] = format!("{url}{template}").into();
    }
    repo
}

/// GitHub's `package-version` for version `v` of the package at `owner_path`/`name`.
/// `downloads` is a Berth field (GitHub's schema has none): the version's downloads.
pub fn version(bases: &Bases, owner_path: &str, name: &str, v: &Version, downloads: u64) -> Value {
    let (package_url, package_html_url) = package_urls(bases, owner_path, name);
    let r = &v.record;
    let mut out = json!({
        "id": r.id,
        "name": r.digest,
        "url": format!("{package_url}/versions/{}", r.id),
        "package_html_url": package_html_url,
        "html_url": format!(
            "{}/{owner_path}/packages/container/{}/{}",
            bases.site,
            name_segment(name),
            r.id
        ),
        "created_at": timestamp(&r.created_at),
        "updated_at": timestamp(&r.updated_at),
        "metadata": {"package_type": "container", "container": {"tags": v.tags}},
        "download_count": downloads,
    });
    // Not nullable in GitHub's schema: present only once deleted.
    if let Some(at) = &r.deleted_at {
        out["deleted_at"] = json!(timestamp(at));
    }
    out
}

/// A stored time as GitHub writes times: RFC 3339 in UTC, to the second.
pub fn timestamp(stored: &str) -> String {
    stored
        .parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| stored.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::versions::VersionRecord;

    fn bases() -> Bases {
        Bases::new("http://example.test".into())
    }

    #[test]
    fn account_ids_are_stable_distinct_and_safe_for_javascript() {
        assert_eq!(account_id("alice"), account_id("alice"));
        assert_ne!(account_id("alice"), account_id("bob"));
        assert!(account_id("alice") <= MAX_ID && account_id("alice") > 0);
    }

    #[test]
    fn a_nested_package_is_encoded_in_its_urls() {
        let owner = simple_user(&bases(), "acme", AccountKind::Organization, false);
        assert_eq!(owner["type"], "Organization");
        let p = package(
            &bases(),
            &PackageView {
                id: 7,
                name: "app/tools",
                owner,
                owner_path: owner_path("acme", AccountKind::Organization),
                public: true,
                version_count: 2,
                repository: None,
                download_count: 5,
                created_at: "2026-12-01T10:00:00.5Z",
                updated_at: "2026-12-01T11:00:00Z",
            },
        );
        assert_eq!(
            p["url"],
            "http://example.test/api/v3/orgs/acme/packages/container/app%2Ftools"
        );
        assert_eq!(
            p["html_url"],
            "http://example.test/orgs/acme/packages/container/package/app%2Ftools"
        );
        assert_eq!(p["created_at"], "2026-12-01T10:00:00Z");
        assert_eq!(p["visibility"], "public");
    }

    #[test]
    fn a_linked_repository_has_every_url_githubs_schema_requires() {
        let owner = simple_user(&bases(), "acme", AccountKind::Organization, false);
        let r = minimal_repository(
            &bases(),
            owner,
            "app",
            "https://git.example.com/acme/app",
            true,
        );
        assert_eq!(r["full_name"], "acme/app");
        assert_eq!(r["html_url"], "https://git.example.com/acme/app");
        let urls = r
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.ends_with("_url"))
            .count();
        // GitHub's nullable-minimal-repository requires 37 URLs beside `url`.
        assert_eq!(urls, 37, "{r}");
        assert_eq!(
            r["issues_url"],
            "http://example.test/api/v3/repos/acme/app/issues{/number}"
        );
    }

    #[test]
    fn a_version_has_its_tags_and_a_deleted_time_only_once_deleted() {
        let record = VersionRecord {
            id: 836,
            digest: "sha256:00".into(),
            created_at: "2026-12-01T10:00:00Z".into(),
            updated_at: "2026-12-01T10:00:00Z".into(),
            deleted_at: None,
            media_type: None,
            deleted_tags: vec![],
        };
        let v = Version {
            record: record.clone(),
            tags: vec!["latest".into()],
        };
        let j = version(&bases(), "users/alice", "app", &v, 3);
        assert_eq!(j["download_count"], 3);
        assert_eq!(
            j["url"],
            "http://example.test/api/v3/users/alice/packages/container/app/versions/836"
        );
        assert_eq!(
            j["html_url"],
            "http://example.test/users/alice/packages/container/app/836"
        );
        assert_eq!(j["metadata"]["container"]["tags"][0], "latest");
        assert!(j.get("deleted_at").is_none());
        let deleted = Version {
            record: VersionRecord {
                deleted_at: Some("2026-12-02T10:00:00Z".into()),
                ..record
            },
            tags: vec![],
        };
        assert_eq!(
            version(&bases(), "users/alice", "app", &deleted, 0)["deleted_at"],
            "2026-12-02T10:00:00Z"
        );
    }
}
