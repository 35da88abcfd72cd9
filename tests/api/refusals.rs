//! What the API refuses: the last tagged version, version deletes and restores without the scope
//! or the admin role (403), packages one may not read (404, identical to a missing one),
//! and requests without valid credentials (401).

use reqwest::blocking::Client;
use serde_json::json;

use crate::support::{
    ALL_SCOPES, Answer, LAST_TAGGED, NOT_FOUND, Octokit, base_url, basic, get, pat, push_manifests,
    request, send, start, version_id, write_package,
};

const APP: &str = "/orgs/acme/packages/container/app";

fn versions(berth: &crate::common::Berth, token: &str) -> serde_json::Value {
    let a = get(berth, &format!("{APP}/versions?per_page=100"), token);
    assert_eq!(a.status, 200, "{a:?}");
    a.json()
}

#[test]
fn the_last_tagged_version_cannot_be_deleted() {
    let berth = start();
    let pushed = push_manifests(&berth, "acme/app", 3, &["v1", "v2", ""], None);
    let token = pat(&berth, "olivia", ALL_SCOPES);
    let list = versions(&berth, &token);
    let [v1, v2, untagged] = [0, 1, 2].map(|i| version_id(&list, &pushed.digests[i]));

    let r = send(&berth, "DELETE", &format!("{APP}/versions/{v1}"), &token);
    assert_eq!(r.status, 204, "one of two tagged versions may go: {r:?}");
    let refused = send(&berth, "DELETE", &format!("{APP}/versions/{v2}"), &token);
    refused.assert_github_error(400, Some(LAST_TAGGED));
    // octokit sees the same refusal (and its body validates as GitHub's error).
    let r = Octokit::new(&berth, &token).call(
        "packages.deletePackageVersionForOrg",
        json!({"org": "acme", "package_type": "container", "package_name": "app",
               "package_version_id": v2}),
    );
    assert_eq!(r["status"], 400, "{r:#}");
    assert_eq!(r["data"]["message"], LAST_TAGGED);
    // Untagged versions are not the point: they may go.
    let r = send(
        &berth,
        "DELETE",
        &format!("{APP}/versions/{untagged}"),
        &token,
    );
    assert_eq!(r.status, 204, "{r:?}");
    let left = versions(&berth, &token);
    assert_eq!(left.as_array().map(Vec::len), Some(1), "{left:#}");
    assert_eq!(left[0]["id"], v2);
}

#[test]
fn deleting_needs_delete_packages_and_admin_restoring_write_packages_and_admin() {
    let berth = start();
    let pushed = push_manifests(&berth, "acme/app", 2, &["v1", "v2"], None);
    let read = pat(&berth, "olivia", "read:packages");
    let write = pat(&berth, "olivia", "write:packages");
    let read_delete = pat(&berth, "olivia", "read:packages,delete:packages");
    let all = pat(&berth, "olivia", ALL_SCOPES);
    let id = version_id(&versions(&berth, &read), &pushed.digests[0]);
    let version = format!("{APP}/versions/{id}");
    let restore = format!("{version}/restore");

    for (token, what) in [(&read, "read:packages"), (&write, "write:packages")] {
        send(&berth, "DELETE", &version, token).assert_github_error(403, None);
        send(&berth, "DELETE", APP, token).assert_github_error(403, None);
        let r = get(&berth, &version, token);
        assert_eq!(r.status, 200, "{what} still reads: {r:?}");
    }
    let r = send(&berth, "DELETE", &version, &read_delete);
    assert_eq!(
        r.status, 204,
        "delete:packages and the owner's admin role: {r:?}"
    );
    // Restoring wants write:packages, not delete:packages.
    send(&berth, "POST", &restore, &read_delete).assert_github_error(403, None);
    send(&berth, "POST", &restore, &read).assert_github_error(403, None);
    let r = send(&berth, "POST", &restore, &write);
    assert_eq!(r.status, 204, "write:packages and admin restore: {r:?}");
    assert_eq!(
        get(&berth, &version, &all).json()["metadata"]["container"]["tags"],
        json!(["v1"])
    );

    // bob may write to the package but is not its admin: no delete, whatever his scopes.
    let bob = pat(&berth, "bob", ALL_SCOPES);
    let client = Client::new();
    write_package(
        &berth,
        "acme/app",
        &["access: [{user: bob, role: write}]"],
        || {
            client
                .get(berth.url("/v2/acme/app/tags/list"))
                .header("authorization", basic("bob", &bob))
                .send()
                .is_ok_and(|r| r.status() == 200)
        },
    );
    assert_eq!(get(&berth, &version, &bob).status, 200, "bob reads it now");
    send(&berth, "DELETE", &version, &bob).assert_github_error(403, None);
    send(&berth, "DELETE", APP, &bob).assert_github_error(403, None);
    // Nor restore a version, or the package.
    let r = send(&berth, "DELETE", &version, &all);
    assert_eq!(r.status, 204, "{r:?}");
    send(&berth, "POST", &restore, &bob).assert_github_error(403, None);
    let deleted = get(&berth, &format!("{APP}/versions?state=deleted"), &all).json();
    assert_eq!(deleted[0]["id"], id, "still deleted: {deleted:#}");
    let r = send(&berth, "DELETE", APP, &all);
    assert_eq!(r.status, 204, "{r:?}");
    send(&berth, "POST", &format!("{APP}/restore"), &bob).assert_github_error(403, None);
    let r = send(&berth, "POST", &format!("{APP}/restore"), &read_delete);
    assert_eq!(
        r.status, 403,
        "restoring a package wants write:packages: {r:?}"
    );
    let r = send(&berth, "POST", &format!("{APP}/restore"), &all);
    assert_eq!(r.status, 204, "{r:?}");
}

/// The same request for `acme/app` (private) and `acme/nosuch` (missing).
fn pair(berth: &crate::common::Berth, method: &str, suffix: &str, token: &str) -> (Answer, Answer) {
    let one = send(berth, method, &format!("{APP}{suffix}"), token);
    let other = send(
        berth,
        method,
        &format!("/orgs/acme/packages/container/nosuch{suffix}"),
        token,
    );
    (one, other)
}

#[test]
fn a_private_package_one_cannot_read_is_a_404_identical_to_a_missing_one() {
    let berth = start();
    let pushed = push_manifests(&berth, "acme/app", 2, &["v1", "v2"], None);
    let admin = pat(&berth, "admin", "read:packages");
    let id = version_id(&versions(&berth, &admin), &pushed.digests[0]);
    // bob is a member without a grant; eve is nobody in acme. Both have every scope.
    for user in ["bob", "eve"] {
        let token = pat(&berth, user, ALL_SCOPES);
        for (method, suffix) in [
            ("GET", String::new()),
            ("GET", "/versions".to_owned()),
            ("GET", format!("/versions/{id}")),
            ("DELETE", format!("/versions/{id}")),
            ("POST", format!("/versions/{id}/restore")),
            ("DELETE", String::new()),
            ("POST", "/restore".to_owned()),
        ] {
            let (hidden, missing) = pair(&berth, method, &suffix, &token);
            hidden.assert_github_error(404, Some(NOT_FOUND));
            missing.assert_github_error(404, Some(NOT_FOUND));
            assert_eq!(
                (hidden.status, &hidden.body),
                (missing.status, &missing.body),
                "{user}: {method} {suffix}: hidden and missing differ"
            );
        }
        let list = get(&berth, "/orgs/acme/packages?package_type=container", &token);
        assert_eq!(
            (list.status, list.json()),
            (200, json!([])),
            "{user} lists nothing"
        );
    }
    // Nothing was deleted by those attempts.
    assert_eq!(versions(&berth, &admin).as_array().map(Vec::len), Some(2));
}

#[test]
fn requests_without_valid_credentials_are_401() {
    let berth = start();
    let pushed = push_manifests(&berth, "acme/app", 2, &["v1", "v2"], None);
    let admin = pat(&berth, "admin", ALL_SCOPES);
    let id = version_id(&versions(&berth, &admin), &pushed.digests[0]);
    let bogus = "bpat_000000000000000000000000000000AAAAAA";
    for auth in [
        String::new(),
        format!("Bearer {bogus}"),
        basic("admin", bogus),
    ] {
        for (method, path) in [
            ("GET", "/user".to_owned()),
            (
                "GET",
                "/orgs/acme/packages?package_type=container".to_owned(),
            ),
            ("GET", APP.to_owned()),
            ("DELETE", format!("{APP}/versions/{id}")),
            ("POST", format!("{APP}/versions/{id}/restore")),
            ("DELETE", APP.to_owned()),
            ("POST", format!("{APP}/restore")),
        ] {
            let r = request(method, &format!("{}{path}", base_url(&berth)), &auth, None);
            r.assert_github_error(401, None);
        }
    }
    // octokit, anonymous: the same 401 (validated against GitHub's schema).
    let r = Octokit::new(&berth, "").call(
        "packages.listPackagesForOrganization",
        json!({"org": "acme", "package_type": "container"}),
    );
    assert_eq!(r["status"], 401, "{r:#}");
    assert_eq!(
        versions(&berth, &admin).as_array().map(Vec::len),
        Some(2),
        "nothing deleted"
    );
}
