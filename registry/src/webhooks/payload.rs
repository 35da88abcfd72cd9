//! GitHub's `package` and `registry_package` webhook payloads for a container push:
//! pure, so their shape is tested without a receiver (and validated against GitHub's
//! webhook schema, `@octokit/openapi-webhooks`, by `tests/webhooks/`).

use serde_json::{Value, json};

use crate::packages::events::{PackageChanged, Published, VersionChanged};
use crate::packages::json::{self, AccountKind, Bases};

/// The `registry` object GitHub sends for its container registry, naming this one.
fn registry(p: &Published<'_>) -> Value {
    json!({
        "about_url": format!("{}/", p.origin.site),
        "name": "Berth container registry",
        "type": "docker",
        "url": format!("{}://{}", scheme(&p.origin.site), p.origin.registry),
        "vendor": "Berth",
    })
}

fn scheme(site: &str) -> &str {
    site.split_once("://").map_or("https", |(s, _)| s)
}

/// The body of a `published` event, under `key` (`package` or `registry_package`).
pub fn published(key: &str, p: &Published<'_>) -> Value {
    let bases = Bases::new(p.origin.site.clone());
    let owner = p.repo.owner();
    let name = p.repo.package();
    let owner_json = json::simple_user(&bases, owner, AccountKind::Organization, false);
    let sender = json::simple_user(&bases, p.actor, AccountKind::User, false);
    let owner_path = json::owner_path(owner, AccountKind::Organization);
    let (_, package_html) = json::package_urls(&bases, &owner_path, name);
    let v = p.version;
    let tag = p.tags.first().map(String::as_str).unwrap_or_default();
    let reference = if tag.is_empty() {
        format!("{}/{}@{}", p.origin.registry, p.repo, v.digest)
    } else {
        format!("{}/{}:{tag}", p.origin.registry, p.repo)
    };
    let description = p.package.metadata.description.clone().unwrap_or_default();
    let version = json!({
        "id": v.id,
        "version": v.digest,
        "name": v.digest,
        "description": "",
        "summary": "",
        "body": "",
        "body_html": "",
        "html_url": format!("{package_html}/{}", v.id),
        "target_commitish": "",
        "target_oid": "",
        "draft": false,
        "prerelease": false,
        "created_at": json::timestamp(&v.created_at),
        "updated_at": json::timestamp(&v.updated_at),
        "metadata": [],
        "docker_metadata": [{"tags": p.tags}],
        "container_metadata": {
            "tag": {"name": tag, "digest": v.digest},
            "labels": p.labels,
            "manifest": {"digest": v.digest, "media_type": p.media_type},
        },
        "package_files": [],
        "author": sender,
        "installation_command": format!("docker pull {reference}"),
        "package_url": reference,
    });
    json!({
        "action": "published",
        key: {
            "id": p.package.id,
            "name": name,
            "namespace": owner,
            "description": if description.is_empty() { Value::Null } else { description.into() },
            "ecosystem": "CONTAINER",
            "package_type": "CONTAINER",
            "html_url": package_html,
            "created_at": json::timestamp(&p.package.created_at),
            "updated_at": json::timestamp(&p.package.updated_at),
            "owner": owner_json,
            "package_version": version,
            "registry": registry(p),
        },
        "organization": json::organization_simple(&bases, owner),
        "sender": sender,
    })
}

/// The body of Berth's `berth_package_version` event: `action` (`deleted`, `restored`),
/// the package as the `package` event names it (without a version), and the version as
/// the REST API shows it.
pub fn version_changed(c: &VersionChanged<'_>) -> Value {
    let mut body = package_changed(&c.of);
    let bases = Bases::new(c.of.origin.site.clone());
    let repo = c.of.repo;
    let owner_path = json::owner_path(repo.owner(), AccountKind::Organization);
    body["package_version"] = json::version(&bases, &owner_path, repo.package(), c.version, 0);
    body
}

/// Berth's `berth_package` body (and the start of `berth_package_version`'s): the
/// action, the package, its organization and who did it.
pub fn package_changed(c: &PackageChanged<'_>) -> Value {
    let (bases, action, actor) = (Bases::new(c.origin.site.clone()), c.action, c.actor);
    let id = c.package.id;
    let owner = c.repo.owner();
    let name = c.repo.package();
    let owner_path = json::owner_path(owner, AccountKind::Organization);
    let (_, package_html) = json::package_urls(&bases, &owner_path, name);
    json!({
        "action": action,
        "package": {
            "id": id,
            "name": name,
            "namespace": owner,
            "ecosystem": "CONTAINER",
            "package_type": "CONTAINER",
            "html_url": package_html,
            "owner": json::simple_user(&bases, owner, AccountKind::Organization, false),
        },
        "organization": json::organization_simple(&bases, owner),
        "sender": json::simple_user(&bases, actor, AccountKind::User, false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::reference::RepoName;
    use crate::packages::PackageRecord;
    use crate::packages::events::PushOrigin;
    use crate::packages::versions::VersionRecord;

    #[test]
    fn a_tagged_push_names_the_tag_the_pull_line_and_both_accounts() {
        let repo = RepoName::parse("acme/tools/app").unwrap();
        let package = PackageRecord {
            id: 7,
            owner: "acme".into(),
            name: "tools/app".into(),
            created_at: "2026-12-01T10:00:00.5Z".into(),
            updated_at: "2026-12-01T10:00:01Z".into(),
            metadata: Default::default(),
        };
        let version = VersionRecord {
            id: 9,
            digest: "sha256:ab".into(),
            created_at: "2026-12-01T10:00:01Z".into(),
            updated_at: "2026-12-01T10:00:01Z".into(),
            deleted_at: None,
            media_type: None,
            deleted_tags: Vec::new(),
        };
        let origin = PushOrigin {
            site: "https://berth.test".into(),
            registry: "containers.berth.test".into(),
        };
        let labels = serde_json::Map::new();
        let tags = vec!["v1".to_owned()];
        let event = Published {
            repo: &repo,
            actor: "alice",
            package: &package,
            version: &version,
            tags: &tags,
            media_type: "application/vnd.oci.image.manifest.v1+json",
            labels: &labels,
            origin: &origin,
        };
        let body = published("registry_package", &event);
        let rp = &body["registry_package"];
        assert_eq!(body["action"], "published");
        assert_eq!(rp["name"], "tools/app");
        assert_eq!(rp["namespace"], "acme");
        assert_eq!(rp["description"], Value::Null);
        assert_eq!(
            rp["html_url"],
            "https://berth.test/orgs/acme/packages/container/package/tools%2Fapp"
        );
        let pv = &rp["package_version"];
        assert_eq!(pv["container_metadata"]["tag"]["name"], "v1");
        assert_eq!(
            pv["installation_command"],
            "docker pull containers.berth.test/acme/tools/app:v1"
        );
        assert_eq!(body["sender"]["login"], "alice");
        assert_eq!(body["organization"]["login"], "acme");
        assert_eq!(rp["registry"]["url"], "https://containers.berth.test");
        assert_eq!(published("package", &event)["package"], *rp);
    }
}
