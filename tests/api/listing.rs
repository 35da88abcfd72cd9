//! Listing and getting packages and versions with @octokit/rest, under /orgs/{org},
//! /users/{username} and /user, and the users and organizations clients ask about.

use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::support::{
    ALL_SCOPES, Octokit, base_url, basic, pat, push_manifests, start, version_id, versions_of,
    write_package,
};

fn names(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("a list: {list}"))
        .iter()
        .map(|p| p["name"].as_str().expect("a name").to_owned())
        .collect();
    names.sort();
    names
}

fn ok(result: &Value) -> &Value {
    assert_eq!(result["status"], 200, "{result:#}");
    &result["data"]
}

#[test]
fn octokit_lists_and_gets_an_organizations_packages_and_versions() {
    let berth = start();
    let app = push_manifests(&berth, "acme/app", 3, &["v1", "v2", ""], None);
    push_manifests(&berth, "acme/web", 1, &["latest"], None);
    let olivia = Octokit::new(&berth, &pat(&berth, "olivia", "read:packages"));
    let base = base_url(&berth);
    let site = berth.url("");

    let r = olivia.run(json!([
        {"call": "users.getAuthenticated"},
        {"call": "orgs.get", "params": {"org": "acme"}},
        {"call": "packages.listPackagesForOrganization",
         "params": {"org": "acme", "package_type": "container"}},
        {"call": "packages.getPackageForOrganization",
         "params": {"org": "acme", "package_type": "container", "package_name": "app"}},
        {"call": "packages.getAllPackageVersionsForPackageOwnedByOrg",
         "params": {"org": "acme", "package_type": "container", "package_name": "app"}},
    ]));
    let me = ok(&r[0]);
    assert_eq!(
        (me["login"].as_str(), me["type"].as_str()),
        (Some("olivia"), Some("User"))
    );
    let org = ok(&r[1]);
    assert_eq!(org["login"], "acme", "{org:#}");
    assert_eq!(names(ok(&r[2])), ["app", "web"]);

    let package = ok(&r[3]);
    assert!(package["id"].is_u64(), "{package:#}");
    assert_eq!(package["name"], "app");
    assert_eq!(package["package_type"], "container");
    assert_eq!(package["visibility"], "private");
    assert_eq!(package["version_count"], 3, "{package:#}");
    assert_eq!(package["owner"]["login"], "acme", "{package:#}");
    assert_eq!(package["owner"]["type"], "Organization", "{package:#}");
    assert_eq!(
        package["url"],
        format!("{base}/orgs/acme/packages/container/app")
    );
    assert_eq!(
        package["html_url"],
        format!("{site}/orgs/acme/packages/container/package/app")
    );

    let list = ok(&r[4]);
    let versions = versions_of(list);
    let listed: Vec<&str> = versions.iter().map(|(_, n, _)| n.as_str()).collect();
    let newest_first: Vec<&str> = app.digests.iter().rev().map(String::as_str).collect();
    assert_eq!(
        listed, newest_first,
        "versions are the manifest digests, newest first"
    );
    let tags: Vec<Vec<String>> = versions.iter().map(|(_, _, t)| t.clone()).collect();
    assert_eq!(tags, [vec![], vec!["v2".to_owned()], vec!["v1".to_owned()]]);
    let mut ids: Vec<u64> = versions.iter().map(|(id, _, _)| *id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "distinct ids: {list:#}");

    let v1 = version_id(list, &app.digests[0]);
    let got = ok(&olivia.call(
        "packages.getPackageVersionForOrganization",
        json!({"org": "acme", "package_type": "container", "package_name": "app",
               "package_version_id": v1}),
    ))
    .clone();
    assert_eq!(got["id"], v1);
    assert_eq!(got["name"], app.digests[0]);
    assert_eq!(got["metadata"]["package_type"], "container");
    assert_eq!(got["metadata"]["container"]["tags"], json!(["v1"]));
    assert_eq!(
        got["url"],
        format!("{base}/orgs/acme/packages/container/app/versions/{v1}")
    );
    assert_eq!(got["package_html_url"], package["html_url"]);
    assert_eq!(
        got["html_url"],
        format!("{site}/orgs/acme/packages/container/app/{v1}")
    );
    assert!(got.get("deleted_at").is_none_or(Value::is_null), "{got:#}");
}

#[test]
fn a_users_packages_are_listed_under_user_and_users() {
    let berth = start();
    let alice_write = pat(&berth, "alice", "write:packages");
    let creds = Some(("alice", alice_write.as_str()));
    push_manifests(&berth, "alice/tool", 2, &["v1", "v2"], creds);
    push_manifests(&berth, "alice/lib", 1, &["v1"], creds);
    let alice = Octokit::new(&berth, &pat(&berth, "alice", "read:packages"));

    let r = alice.run(json!([
        {"call": "users.getAuthenticated"},
        {"call": "users.getByUsername", "params": {"username": "alice"}},
        {"call": "packages.listPackagesForAuthenticatedUser", "params": {"package_type": "container"}},
        {"call": "packages.listPackagesForUser",
         "params": {"username": "alice", "package_type": "container"}},
        {"call": "packages.getPackageForAuthenticatedUser",
         "params": {"package_type": "container", "package_name": "tool"}},
        {"call": "packages.getPackageForUser",
         "params": {"username": "alice", "package_type": "container", "package_name": "tool"}},
        {"call": "packages.getAllPackageVersionsForPackageOwnedByAuthenticatedUser",
         "params": {"package_type": "container", "package_name": "tool"}},
        {"call": "packages.getAllPackageVersionsForPackageOwnedByUser",
         "params": {"username": "alice", "package_type": "container", "package_name": "tool"}},
    ]));
    assert_eq!(ok(&r[0])["login"], "alice");
    let user = ok(&r[1]);
    assert_eq!(
        (user["login"].as_str(), user["type"].as_str()),
        (Some("alice"), Some("User"))
    );
    assert_eq!(names(ok(&r[2])), ["lib", "tool"]);
    assert_eq!(names(ok(&r[3])), ["lib", "tool"]);
    for package in [ok(&r[4]), ok(&r[5])] {
        assert_eq!(package["name"], "tool");
        assert_eq!(package["version_count"], 2);
        assert_eq!(package["owner"]["login"], "alice", "{package:#}");
        assert_eq!(package["owner"]["type"], "User", "{package:#}");
        assert_eq!(
            package["url"],
            format!("{}/users/alice/packages/container/tool", base_url(&berth))
        );
        assert_eq!(
            package["html_url"],
            berth.url("/users/alice/packages/container/package/tool")
        );
    }
    assert_eq!(
        ok(&r[6]),
        ok(&r[7]),
        "the same versions under /user and /users/alice"
    );
    assert_eq!(versions_of(ok(&r[6])).len(), 2);

    // Someone else: alice's private packages are not in their lists, and /user is theirs.
    let olivia = Octokit::new(&berth, &pat(&berth, "olivia", ALL_SCOPES));
    let r = olivia.run(json!([
        {"call": "packages.listPackagesForUser",
         "params": {"username": "alice", "package_type": "container"}},
        {"call": "packages.listPackagesForAuthenticatedUser", "params": {"package_type": "container"}},
        {"call": "packages.getPackageForUser",
         "params": {"username": "alice", "package_type": "container", "package_name": "tool"}},
    ]));
    assert_eq!(names(ok(&r[0])), Vec::<String>::new());
    assert_eq!(names(ok(&r[1])), Vec::<String>::new());
    assert_eq!(r[2]["status"], 404, "{:#}", r[2]);
}

#[test]
fn the_visibility_filter_and_what_a_member_may_list() {
    let berth = start();
    push_manifests(&berth, "acme/app", 1, &["v1"], None);
    push_manifests(&berth, "acme/web", 1, &["v1"], None);
    let bob_pat = pat(&berth, "bob", "read:packages");
    let client = Client::new();
    write_package(&berth, "acme/web", &["visibility: public"], || {
        client
            .get(berth.url("/v2/acme/web/tags/list"))
            .header("authorization", basic("bob", &bob_pat))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    let olivia = Octokit::new(&berth, &pat(&berth, "olivia", "read:packages"));
    let list = |kit: &Octokit, visibility: Option<&str>| {
        let mut params = json!({"org": "acme", "package_type": "container"});
        if let Some(v) = visibility {
            params["visibility"] = json!(v);
        }
        let r = kit.call("packages.listPackagesForOrganization", params);
        names(ok(&r))
    };
    assert_eq!(list(&olivia, None), ["app", "web"]);
    assert_eq!(list(&olivia, Some("public")), ["web"]);
    assert_eq!(list(&olivia, Some("private")), ["app"]);
    let r = olivia.call(
        "packages.getPackageForOrganization",
        json!({"org": "acme", "package_type": "container", "package_name": "web"}),
    );
    assert_eq!(ok(&r)["visibility"], "public");

    // bob, a member without a grant, sees the public package only.
    let bob = Octokit::new(&berth, &bob_pat);
    assert_eq!(list(&bob, None), ["web"]);
    assert_eq!(list(&bob, Some("private")), Vec::<String>::new());
}
