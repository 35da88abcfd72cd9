//! The packages REST API on `/api/v3`, in process: GitHub's JSON, paging, errors,
//! delete and restore of versions, and existence hiding. The real clients (octokit,
//! githubkit) drive the binary in `tests/api/`.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use berth_registry::hosts::Hosts;
use common::{TestRegistry, api, assert_github_error, delete_version};

#[tokio::test]
async fn a_pushed_package_and_its_versions_are_listed_as_github_does() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", "read:packages,write:packages,delete:packages");
    let (v1, _) = alice.push_image("alice/app", "v1", "one").await;
    let (v2, _) = alice.push_image("alice/app", "v2", "two").await;

    let r = api(&alice, Method::GET, "/user/packages?package_type=container").await;
    r.assert_status(StatusCode::OK);
    let list = r.json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let p = &list[0];
    assert_eq!(p["name"], "app");
    assert_eq!(p["package_type"], "container");
    assert_eq!(p["visibility"], "private");
    assert_eq!(p["version_count"], 2);
    assert_eq!(p["owner"]["login"], "alice");
    assert_eq!(p["owner"]["type"], "User");
    assert!(p["id"].as_u64().unwrap() > 0);

    let got = api(&alice, Method::GET, "/users/alice/packages/container/app").await;
    got.assert_status(StatusCode::OK);
    assert_eq!(got.json()["id"], p["id"], "the same id every time");

    let r = api(
        &alice,
        Method::GET,
        "/users/alice/packages/container/app/versions",
    )
    .await;
    r.assert_status(StatusCode::OK);
    let versions = r.json();
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.len(), 2);
    // Newest first; the name is the digest, the tags are GHCR's metadata.
    assert_eq!(versions[0]["name"], v2.as_str());
    assert_eq!(versions[0]["metadata"]["container"]["tags"][0], "v2");
    assert_eq!(versions[1]["name"], v1.as_str());
    assert!(versions[0]["id"].as_u64() > versions[1]["id"].as_u64());
    assert!(versions[0].get("deleted_at").is_none());
}

#[tokio::test]
async fn versions_page_with_githubs_link_header() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", "read:packages,write:packages");
    for i in 0..5 {
        alice
            .push_image("alice/app", &format!("t{i}"), &format!("s{i}"))
            .await;
    }
    let r = api(
        &alice,
        Method::GET,
        "/user/packages/container/app/versions?per_page=2&page=2",
    )
    .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.json().as_array().unwrap().len(), 2);
    let link = r.header("link");
    assert!(link.contains("page=1&per_page=2>; rel=\"prev\""), "{link}");
    assert!(link.contains("page=3&per_page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("page=3&per_page=2>; rel=\"last\""), "{link}");
    assert!(link.starts_with("<http://"), "absolute URLs: {link}");
    let r = api(
        &alice,
        Method::GET,
        "/user/packages/container/app/versions?per_page=100&page=101",
    )
    .await;
    assert_github_error(
        &r,
        StatusCode::BAD_REQUEST,
        "The value of `per_page` multiplied by `page` cannot be greater than 10000.",
    );
}

#[tokio::test]
async fn a_deleted_version_cannot_be_pulled_until_it_is_restored_with_its_tags() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", "read:packages,write:packages,delete:packages");
    alice.push_image("alice/app", "keep", "k").await;
    let (digest, _) = alice.push_image("alice/app", "gone", "g").await;
    let id = delete_version(&alice, "/user/packages/container/app", &digest).await;
    alice
        .get(&format!("/v2/alice/app/manifests/{digest}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    alice
        .get("/v2/alice/app/manifests/gone")
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    let active = api(&alice, Method::GET, "/user/packages/container/app/versions")
        .await
        .json();
    assert_eq!(active.as_array().unwrap().len(), 1);
    let deleted = api(
        &alice,
        Method::GET,
        "/user/packages/container/app/versions?state=deleted",
    )
    .await
    .json();
    assert_eq!(deleted[0]["id"], id);
    assert!(deleted[0]["deleted_at"].is_string(), "{deleted}");
    assert_eq!(deleted[0]["metadata"]["container"]["tags"][0], "gone");

    // Restore needs write:packages; a token with only read and delete is refused.
    let deleter = reg.as_user("alice", "read:packages,delete:packages");
    let r = api(
        &deleter,
        Method::POST,
        &format!("/user/packages/container/app/versions/{id}/restore"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    api(
        &alice,
        Method::POST,
        &format!("/user/packages/container/app/versions/{id}/restore"),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    alice
        .get("/v2/alice/app/manifests/gone")
        .await
        .assert_status(StatusCode::OK);
    let r = api(
        &alice,
        Method::GET,
        &format!("/user/packages/container/app/versions/{id}"),
    )
    .await;
    assert!(r.json().get("deleted_at").is_none(), "{}", r.text());
}

#[tokio::test]
async fn the_last_tagged_version_is_not_deleted() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", "read:packages,write:packages,delete:packages");
    alice.push_image("alice/app", "only", "o").await;
    let versions = api(&alice, Method::GET, "/user/packages/container/app/versions")
        .await
        .json();
    let id = versions[0]["id"].as_u64().unwrap();
    let r = api(
        &alice,
        Method::DELETE,
        &format!("/user/packages/container/app/versions/{id}"),
    )
    .await;
    assert_github_error(
        &r,
        StatusCode::BAD_REQUEST,
        "You cannot delete the last tagged version of a package. You must delete the package instead.",
    );
    alice
        .get("/v2/alice/app/manifests/only")
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn without_read_access_a_package_is_exactly_a_missing_one() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", "read:packages,write:packages");
    alice.push_image("alice/app", "v1", "x").await;
    let bob = reg.as_user("bob", "read:packages");
    let hidden = api(&bob, Method::GET, "/users/alice/packages/container/app").await;
    let missing = api(&bob, Method::GET, "/users/alice/packages/container/nothing").await;
    assert_github_error(&hidden, StatusCode::NOT_FOUND, "Package not found.");
    assert_eq!(hidden.text(), missing.text());
    let listed = api(
        &bob,
        Method::GET,
        "/users/alice/packages?package_type=container",
    )
    .await;
    assert_eq!(listed.json(), serde_json::json!([]));
    // Deleting what cannot be seen is a 404 too, not a 403.
    let id = api(&alice, Method::GET, "/user/packages/container/app/versions")
        .await
        .json()[0]["id"]
        .as_u64()
        .unwrap();
    let r = api(
        &bob,
        Method::DELETE,
        &format!("/users/alice/packages/container/app/versions/{id}"),
    )
    .await;
    assert_github_error(&r, StatusCode::NOT_FOUND, "Package not found.");
    // Bad credentials and no credentials on /user.
    let anon = reg.anonymous();
    assert_github_error(
        &api(&anon, Method::GET, "/user").await,
        StatusCode::UNAUTHORIZED,
        "Requires authentication",
    );
    let wrong = reg.with_authorization(Some("token bpat_nope".into()));
    assert_github_error(
        &api(&wrong, Method::GET, "/user").await,
        StatusCode::UNAUTHORIZED,
        "Bad credentials",
    );
}

#[tokio::test]
async fn pats_work_as_bearer_token_and_basic() {
    let reg = TestRegistry::new();
    let pat = reg.pat("alice", "read:packages", None);
    for auth in [
        format!("Bearer {pat}"),
        format!("token {pat}"),
        common::basic("alice", &pat),
    ] {
        let r = api(
            &reg.with_authorization(Some(auth.clone())),
            Method::GET,
            "/user",
        )
        .await;
        r.assert_status(StatusCode::OK);
        assert_eq!(r.json()["login"], "alice", "{auth}");
    }
}

#[tokio::test]
async fn nested_names_are_percent_encoded_in_paths_and_urls() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", "read:packages,write:packages");
    alice.push_image("alice/app/tools", "v1", "n").await;
    let r = api(&alice, Method::GET, "/user/packages/container/app%2Ftools").await;
    r.assert_status(StatusCode::OK);
    let p = r.json();
    assert_eq!(p["name"], "app/tools");
    assert!(
        p["url"]
            .as_str()
            .unwrap()
            .ends_with("/users/alice/packages/container/app%2Ftools")
    );
    let r = api(
        &alice,
        Method::GET,
        "/user/packages/container/app%2Ftools/versions",
    )
    .await;
    assert_eq!(r.json()[0]["metadata"]["container"]["tags"][0], "v1");
}

#[tokio::test]
async fn the_api_is_served_on_the_site_host_only() {
    let reg = TestRegistry::with_config(|c| c.hosts = Some(Hosts::split("example.test", None)));
    let pat = reg.pat("alice", "read:packages", None);
    let on = |host: &'static str| {
        let reg = reg.with_authorization(Some(format!("token {pat}")));
        async move {
            reg.request(
                Method::GET,
                "/api/v3/user",
                &[("host", host)],
                Body::empty(),
            )
            .await
        }
    };
    assert_eq!(
        on("containers.example.test").await.status,
        StatusCode::NOT_FOUND
    );
    let r = on("example.test").await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.json()["url"], "http://example.test/api/v3/users/alice");
}

#[tokio::test]
async fn manifest_gets_count_downloads_and_heads_do_not() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", "read:packages,write:packages");
    let (digest, _) = alice.push_image("alice/app", "v1", "d").await;
    for _ in 0..3 {
        alice
            .get("/v2/alice/app/manifests/v1")
            .await
            .assert_status(StatusCode::OK);
    }
    alice
        .head(&format!("/v2/alice/app/manifests/{digest}"))
        .await
        .assert_status(StatusCode::OK);
    let v = api(&alice, Method::GET, "/user/packages/container/app/versions")
        .await
        .json();
    assert_eq!(v[0]["download_count"], 3, "{v}");
    let p = api(&alice, Method::GET, "/user/packages/container/app")
        .await
        .json();
    assert_eq!(p["download_count"], 3, "{p}");

    // A flush writes this process's counts; another process reads them from storage.
    reg.state.downloads.flush(&reg.state.content).await.unwrap();
    let other = berth_registry::packages::downloads::Downloads::default();
    let repo = berth_registry::oci::reference::RepoName::parse("alice/app").unwrap();
    let pkg = p["id"].as_u64().unwrap();
    let counts = other.of(&reg.state.content, &repo, pkg).await.unwrap();
    assert_eq!(counts.get(&digest), Some(&3));
    // Flushed counts are not counted twice by the process that flushed them.
    let v = api(&alice, Method::GET, "/user/packages/container/app/versions")
        .await
        .json();
    assert_eq!(v[0]["download_count"], 3, "{v}");
}

#[tokio::test]
async fn a_public_version_downloaded_over_5000_times_is_not_deleted() {
    let reg = TestRegistry::new();
    reg.write_policy(
        "alice.app.yaml",
        "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {name: alice.app}\nspec:\n  owner: alice\n  name: app\n  visibility: public\n",
        |s| s.package("alice", "app").is_some(),
    )
    .await;
    let alice = reg.as_user("alice", "read:packages,write:packages,delete:packages");
    alice.push_image("alice/app", "keep", "k").await;
    let (popular, _) = alice.push_image("alice/app", "popular", "p").await;
    let (quiet, _) = alice.push_image("alice/app", "quiet", "q").await;
    // Counts as another replica flushed them.
    let repo = berth_registry::oci::reference::RepoName::parse("alice/app").unwrap();
    let pkg = api(&alice, Method::GET, "/user/packages/container/app")
        .await
        .json()["id"]
        .as_u64()
        .unwrap();
    let counts = serde_json::json!({ popular.clone(): 5001, quiet.clone(): 5000 });
    reg.state
        .content
        .storage()
        .put(
            &berth_registry::content::keys::package_downloads(&repo, pkg, "other"),
            serde_json::to_vec(&counts).unwrap().into(),
        )
        .await
        .unwrap();
    let versions = api(&alice, Method::GET, "/user/packages/container/app/versions")
        .await
        .json();
    let id_of = |digest: &str| {
        versions
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == digest)
            .unwrap()["id"]
            .as_u64()
            .unwrap()
    };
    let r = api(
        &alice,
        Method::DELETE,
        &format!("/user/packages/container/app/versions/{}", id_of(&popular)),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("Publicly visible package versions with more than 5000 downloads")
    );
    api(
        &alice,
        Method::DELETE,
        &format!("/user/packages/container/app/versions/{}", id_of(&quiet)),
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_package_linked_to_its_source_names_the_repository() {
    let reg = TestRegistry::new();
    reg.write_policy(
        "acme.yaml",
        "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\nspec:\n  owners: [olivia]\n  repositories:\n    - {name: app, url: https://git.example.com/acme/app}\n",
        |s| s.org("acme").is_some(),
    )
    .await;
    let olivia = reg.as_user("olivia", "read:packages,write:packages");
    let config = br#"{"config":{"Labels":{"org.opencontainers.image.source":"https://git.example.com/acme/app"}}}"#;
    let config = olivia
        .blob_descriptor("acme/app", common::OCI_CONFIG, config)
        .await;
    let body = common::image_manifest(common::OCI_MANIFEST, config, vec![], None);
    olivia
        .push_manifest("acme/app", "v1", common::OCI_MANIFEST, &body)
        .await;
    let r = api(&olivia, Method::GET, "/orgs/acme/packages/container/app").await;
    r.assert_status(StatusCode::OK);
    let p = r.json();
    assert_eq!(p["owner"]["type"], "Organization");
    assert_eq!(p["repository"]["full_name"], "acme/app", "{p}");
    assert_eq!(
        p["repository"]["html_url"],
        "https://git.example.com/acme/app"
    );
    assert_eq!(p["repository"]["owner"]["login"], "acme");
    // An unlinked package says so.
    olivia.push_image("acme/other", "v1", "o").await;
    let r = api(&olivia, Method::GET, "/orgs/acme/packages/container/other").await;
    assert_eq!(r.json()["repository"], serde_json::Value::Null);
}
