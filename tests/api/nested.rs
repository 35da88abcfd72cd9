//! Nested package names (`app/tools`): `%2F`-encoded in the path, as GitHub wants them and
//! as octokit sends them, apart from the package `app` and from the `/versions` and
//! `/restore` suffixes.

use serde_json::{Value, json};

use crate::support::{
    ALL_SCOPES, Octokit, base_url, crane_manifest, get, pat, push_manifests, start, version_id,
};

#[test]
fn nested_names_are_packages_of_their_own_and_percent_encoded() {
    let berth = start();
    let tools = push_manifests(&berth, "acme/app/tools", 2, &["v1", "v2"], None);
    push_manifests(&berth, "acme/app", 1, &["v1"], None);
    push_manifests(&berth, "acme/tools/versions", 1, &["v1"], None);
    let token = pat(&berth, "olivia", ALL_SCOPES);
    let olivia = Octokit::new(&berth, &token);
    let pkg =
        |name: &str| json!({"org": "acme", "package_type": "container", "package_name": name});

    let r = olivia.run(json!([
        {"call": "packages.listPackagesForOrganization", "params": {"org": "acme", "package_type": "container"}},
        {"call": "packages.getPackageForOrganization", "params": pkg("app/tools")},
        {"call": "packages.getPackageForOrganization", "params": pkg("app")},
        {"call": "packages.getPackageForOrganization", "params": pkg("tools/versions")},
        {"call": "packages.getAllPackageVersionsForPackageOwnedByOrg", "params": pkg("app/tools")},
    ]));
    let mut names: Vec<&str> = r[0]["data"]
        .as_array()
        .unwrap_or_else(|| panic!("{:#}", r[0]))
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["app", "app/tools", "tools/versions"]);
    let nested = &r[1];
    assert_eq!(nested["status"], 200, "{nested:#}");
    let url = nested["requests"][0]["url"].as_str().unwrap();
    assert!(
        url.ends_with("/container/app%2Ftools"),
        "octokit sent {url}"
    );
    assert_eq!(nested["data"]["name"], "app/tools");
    assert_eq!(nested["data"]["version_count"], 2);
    assert_eq!(
        nested["data"]["url"],
        format!(
            "{}/orgs/acme/packages/container/app%2Ftools",
            base_url(&berth)
        )
    );
    assert_eq!(
        nested["data"]["html_url"],
        berth.url("/orgs/acme/packages/container/package/app%2Ftools")
    );
    assert_eq!(r[2]["data"]["name"], "app", "{:#}", r[2]);
    assert_eq!(r[2]["data"]["version_count"], 1, "{:#}", r[2]);
    assert_ne!(r[1]["data"]["id"], r[2]["data"]["id"]);
    assert_eq!(
        r[3]["status"], 200,
        "a name ending in /versions: {:#}",
        r[3]
    );
    assert_eq!(r[3]["data"]["name"], "tools/versions");

    // Delete and restore a version of the nested package.
    let id = version_id(&r[4]["data"], &tools.digests[0]);
    let with_id = |name: &str| {
        let mut p = pkg(name);
        p["package_version_id"] = json!(id);
        p
    };
    let r = olivia.call("packages.deletePackageVersionForOrg", with_id("app/tools"));
    assert_eq!(r["status"], 204, "{r:#}");
    let out = crane_manifest(&berth, "acme/app/tools:v1");
    assert!(!out.status.success(), "crane read a deleted nested version");
    assert!(
        crane_manifest(&berth, "acme/app:v1").status.success(),
        "acme/app is untouched"
    );
    let raw = get(
        &berth,
        "/orgs/acme/packages/container/app%2Ftools/versions?state=deleted",
        &token,
    );
    assert_eq!(raw.status, 200, "{raw:?}");
    let deleted: Vec<Value> = raw.json().as_array().cloned().unwrap_or_default();
    assert_eq!(deleted.len(), 1, "{}", raw.body);
    let r = olivia.call("packages.restorePackageVersionForOrg", with_id("app/tools"));
    assert_eq!(r["status"], 204, "{r:#}");
    assert!(crane_manifest(&berth, "acme/app/tools:v1").status.success());
    // The version id belongs to app/tools, not to app.
    let wrong = olivia.call("packages.getPackageVersionForOrganization", with_id("app"));
    assert_eq!(wrong["status"], 404, "{wrong:#}");
}
