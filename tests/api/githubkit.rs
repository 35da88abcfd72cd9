//! githubkit (PyPI), which parses every response with its pydantic models of GitHub's
//! schema: list, get, delete and restore a version, then the whole package, under
//! /orgs/{org}, /users/{username} (with a nested name) and /user.

use serde_json::{Value, json};

use crate::common::Berth;
use crate::support::{ALL_SCOPES, githubkit, pat, push_manifests, start};

/// Runs the scenario on `OWNER/PACKAGE` (pushed with tags v1, v2 and one untagged
/// version, `pushed` their digests) and checks what githubkit saw at each step.
fn scenario(
    berth: &Berth,
    token: &str,
    scope: &str,
    owner: &str,
    package: &str,
    login: &str,
    pushed: &[String],
) {
    let out = githubkit(berth, token, scope, owner, package, "v1");
    let ctx = format!("{out:#}");
    assert_eq!(
        out["whoami"],
        json!({"login": login, "type": "User"}),
        "{ctx}"
    );
    if scope != "me" {
        let kind = if scope == "org" {
            "Organization"
        } else {
            "User"
        };
        assert_eq!(out["owner"], json!({"login": owner, "type": kind}), "{ctx}");
    }
    assert!(
        out["packages"]
            .as_array()
            .unwrap()
            .contains(&json!(package)),
        "{package} is listed: {ctx}"
    );
    let p = &out["package"];
    assert_eq!(p["name"], package, "{ctx}");
    assert_eq!(
        (p["package_type"].as_str(), p["visibility"].as_str()),
        (Some("container"), Some("private"))
    );
    assert_eq!(p["version_count"], 3, "{ctx}");
    let owner_type = if scope == "org" {
        "Organization"
    } else {
        "User"
    };
    assert_eq!(
        p["owner"],
        json!({"login": owner, "type": owner_type}),
        "{ctx}"
    );

    let versions = out["versions"].as_array().unwrap();
    let mut names: Vec<&str> = versions
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    let mut want: Vec<&str> = pushed.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(names, want, "{ctx}");
    let target = &out["version"];
    assert_eq!(target["name"], pushed[0].as_str(), "{ctx}");
    assert_eq!(target["tags"], json!(["v1"]), "{ctx}");
    let id = target["id"].clone();

    let active = out["active_after_delete"].as_array().unwrap();
    assert_eq!(active.len(), 2, "{ctx}");
    assert!(!active.contains(&id), "{ctx}");
    let deleted = out["deleted_after_delete"].as_array().unwrap();
    assert_eq!(deleted.len(), 1, "{ctx}");
    assert_eq!(deleted[0]["id"], id, "{ctx}");
    assert!(deleted[0]["deleted_at"].is_string(), "{ctx}");
    assert_eq!(out["restored_version"]["tags"], json!(["v1"]), "{ctx}");
    assert_eq!(out["restored_version"]["deleted_at"], Value::Null, "{ctx}");

    // The package deleted: missing, not listed; restored: the same package, its versions
    // and tags as pushed.
    assert_eq!(out["get_after_package_delete"], 404, "{ctx}");
    assert!(
        !out["packages_after_package_delete"]
            .as_array()
            .unwrap()
            .contains(&json!(package)),
        "{ctx}"
    );
    assert_eq!(out["final_package"]["id"], p["id"], "{ctx}");
    assert_eq!(out["final_package"]["version_count"], 3, "{ctx}");
    let mut back: Vec<(String, Value)> = out["final_versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap().to_owned(), v["tags"].clone()))
        .collect();
    back.sort_by(|a, b| a.0.cmp(&b.0));
    let mut expected: Vec<(String, Value)> = vec![
        (pushed[0].clone(), json!(["v1"])),
        (pushed[1].clone(), json!(["v2"])),
        (pushed[2].clone(), json!([])),
    ];
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(back, expected, "{ctx}");
}

#[test]
fn githubkit_manages_an_organizations_package() {
    let berth = start();
    let pushed = push_manifests(&berth, "acme/app", 3, &["v1", "v2", ""], None);
    let token = pat(&berth, "olivia", ALL_SCOPES);
    scenario(
        &berth,
        &token,
        "org",
        "acme",
        "app",
        "olivia",
        &pushed.digests,
    );
}

#[test]
fn githubkit_manages_a_users_nested_package() {
    let berth = start();
    let write = pat(&berth, "alice", "write:packages");
    let pushed = push_manifests(
        &berth,
        "alice/app/tools",
        3,
        &["v1", "v2", ""],
        Some(("alice", &write)),
    );
    let token = pat(&berth, "alice", ALL_SCOPES);
    scenario(
        &berth,
        &token,
        "user",
        "alice",
        "app/tools",
        "alice",
        &pushed.digests,
    );
}

#[test]
fn githubkit_manages_the_authenticated_users_package() {
    let berth = start();
    let write = pat(&berth, "alice", "write:packages");
    let pushed = push_manifests(
        &berth,
        "alice/tool",
        3,
        &["v1", "v2", ""],
        Some(("alice", &write)),
    );
    let token = pat(&berth, "alice", ALL_SCOPES);
    scenario(
        &berth,
        &token,
        "me",
        "alice",
        "tool",
        "alice",
        &pushed.digests,
    );
}
