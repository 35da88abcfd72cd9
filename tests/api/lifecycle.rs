//! Deleting and restoring through the API, seen by real registry clients: a deleted
//! version is unpullable (`MANIFEST_UNKNOWN`) and loses its tags; restoring brings both
//! back.

use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::common::Berth;
use crate::common::podman::Podman;
use crate::support::{
    ALL_SCOPES, Octokit, basic, crane_manifest, pat, start, version_id, versions_of,
};

fn tags(berth: &Berth, repo: &str) -> Vec<String> {
    let r = Client::new()
        .get(berth.url(&format!("/v2/{repo}/tags/list")))
        .header("authorization", basic("admin", berth.token()))
        .send()
        .expect("listing tags");
    if r.status() == 404 {
        return Vec::new();
    }
    let body: Value = r.json().expect("JSON tags");
    let mut tags: Vec<String> = body["tags"]
        .as_array()
        .map(|a| a.iter().map(|t| t.as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    tags.sort();
    tags
}

fn status(result: &Value) -> u64 {
    result["status"]
        .as_u64()
        .unwrap_or_else(|| panic!("a status: {result:#}"))
}

#[test]
fn a_deleted_version_cannot_be_pulled_until_it_is_restored() {
    let berth = start();
    let publisher = Podman::admin(&berth);
    let h = berth.host();
    let one = publisher.publish(&format!("{h}/acme/app:v1"), "one\n", &[]);
    let two = publisher.publish(&format!("{h}/acme/app:v2"), "two\n", &[]);
    let olivia = Octokit::new(&berth, &pat(&berth, "olivia", ALL_SCOPES));
    let pkg = json!({"org": "acme", "package_type": "container", "package_name": "app"});
    let with = |extra: Value| {
        let mut p = pkg.clone();
        p.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        p
    };

    let list = olivia.call(
        "packages.getAllPackageVersionsForPackageOwnedByOrg",
        pkg.clone(),
    );
    assert_eq!(status(&list), 200, "{list:#}");
    let id = version_id(&list["data"], &one);
    let r = olivia.call(
        "packages.deletePackageVersionForOrg",
        with(json!({"package_version_id": id})),
    );
    assert_eq!(status(&r), 204, "{r:#}");

    // podman and crane no longer get it; its tag is gone; the other version is untouched.
    let puller = Podman::admin(&berth);
    let out = puller.try_pull(&format!("{h}/acme/app:v1"));
    assert!(!out.status.success(), "podman pulled a deleted version");
    let out = crane_manifest(&berth, &format!("acme/app@{one}"));
    assert!(!out.status.success(), "crane read a deleted version");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("MANIFEST_UNKNOWN"), "{err}");
    assert_eq!(tags(&berth, "acme/app"), ["v2"]);
    puller.pull(&format!("{h}/acme/app:v2"), &[]);

    let r = olivia.run(json!([
        {"call": "packages.getAllPackageVersionsForPackageOwnedByOrg", "params": with(json!({"state": "active"}))},
        {"call": "packages.getAllPackageVersionsForPackageOwnedByOrg", "params": with(json!({"state": "deleted"}))},
        {"call": "packages.getPackageForOrganization", "params": pkg},
    ]));
    let active = versions_of(&r[0]["data"]);
    assert_eq!(
        active.iter().map(|v| v.1.as_str()).collect::<Vec<_>>(),
        [two.as_str()]
    );
    let deleted = r[1]["data"].as_array().expect("deleted versions");
    assert_eq!(deleted.len(), 1, "{:#}", r[1]);
    assert_eq!(deleted[0]["id"], id);
    assert!(
        deleted[0]["deleted_at"].is_string(),
        "deleted_at is set: {:#}",
        deleted[0]
    );
    assert_eq!(r[2]["data"]["version_count"], 1, "{:#}", r[2]);

    let r = olivia.call(
        "packages.restorePackageVersionForOrg",
        with(json!({"package_version_id": id})),
    );
    assert_eq!(status(&r), 204, "{r:#}");
    let again = Podman::admin(&berth);
    again.pull(&format!("{h}/acme/app:v1"), &[]);
    assert_eq!(
        again.inspect(&format!("{h}/acme/app:v1"), "{{.Digest}}"),
        one
    );
    let out = crane_manifest(&berth, &format!("acme/app@{one}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tags(&berth, "acme/app"), ["v1", "v2"]);
    let got = olivia.call(
        "packages.getPackageVersionForOrganization",
        with(json!({"package_version_id": id})),
    );
    assert_eq!(
        got["data"]["metadata"]["container"]["tags"],
        json!(["v1"]),
        "{got:#}"
    );
    assert!(
        got["data"].get("deleted_at").is_none_or(Value::is_null),
        "{got:#}"
    );
}

#[test]
fn a_deleted_package_cannot_be_pulled_until_it_is_restored() {
    let berth = start();
    let publisher = Podman::admin(&berth);
    let h = berth.host();
    let one = publisher.publish(&format!("{h}/alice/app/tools:v1"), "one\n", &[]);
    publisher.publish(&format!("{h}/alice/app/tools:v2"), "two\n", &[]);
    let alice = Octokit::new(&berth, &pat(&berth, "alice", ALL_SCOPES));
    // A nested name: octokit sends it %2F-encoded.
    let pkg =
        json!({"username": "alice", "package_type": "container", "package_name": "app/tools"});
    let before = alice.call("packages.getPackageForUser", pkg.clone());
    assert_eq!(status(&before), 200, "{before:#}");

    let r = alice.call("packages.deletePackageForUser", pkg.clone());
    assert_eq!(status(&r), 204, "{r:#}");
    let r = alice.run(json!([
        {"call": "packages.getPackageForUser", "params": pkg},
        {"call": "packages.listPackagesForUser", "params": {"username": "alice", "package_type": "container"}},
    ]));
    assert_eq!(status(&r[0]), 404, "{:#}", r[0]);
    assert_eq!(r[1]["data"], json!([]), "{:#}", r[1]);
    let puller = Podman::admin(&berth);
    for reference in [":v1".to_owned(), format!("@{one}")] {
        let out = puller.try_pull(&format!("{h}/alice/app/tools{reference}"));
        assert!(
            !out.status.success(),
            "podman pulled {reference} of a deleted package"
        );
    }
    assert_eq!(tags(&berth, "alice/app/tools"), Vec::<String>::new());

    let r = alice.call("packages.restorePackageForUser", pkg.clone());
    assert_eq!(status(&r), 204, "{r:#}");
    let after = alice.call("packages.getPackageForUser", pkg.clone());
    assert_eq!(after["data"]["id"], before["data"]["id"], "{after:#}");
    assert_eq!(after["data"]["version_count"], 2, "{after:#}");
    assert_eq!(tags(&berth, "alice/app/tools"), ["v1", "v2"]);
    let again = Podman::admin(&berth);
    again.pull(&format!("{h}/alice/app/tools:v1"), &[]);
    assert_eq!(
        again.inspect(&format!("{h}/alice/app/tools:v1"), "{{.Digest}}"),
        one
    );
}
