//! Deleting and restoring whole packages through the REST API, in process: the name is
//! freed, the versions and tags come back on restore, the policy follows (a `Package`
//! the registry created goes and comes back; one a user wrote stays, marked deleted),
//! and GitHub's refusals.

mod common;

use axum::http::{Method, StatusCode};
use berth_registry::content::keys;
use berth_registry::oci::reference::RepoName;
use common::{TestRegistry, api, assert_github_error};

const ALL: &str = "read:packages,write:packages,delete:packages";

/// Writes policy file `file` (`yaml`) and waits until it defines `owner`/`name`.
async fn write_package(reg: &TestRegistry, file: &str, yaml: &str, owner: &str, name: &str) {
    reg.write_policy(file, yaml, |s| s.package(owner, name).is_some())
        .await;
}

async fn package_id(reg: &TestRegistry, path: &str) -> u64 {
    let r = api(reg, Method::GET, path).await;
    r.assert_status(StatusCode::OK);
    r.json()["id"].as_u64().unwrap()
}

#[tokio::test]
async fn a_deleted_package_frees_its_name_and_comes_back_whole_on_restore() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", ALL);
    let (v1, _) = alice.push_image("alice/app", "v1", "one").await;
    alice.push_image("alice/app", "v2", "two").await;
    let id = package_id(&alice, "/user/packages/container/app").await;
    let spec_file = reg.data().join("policy/alice.app.yaml");
    assert!(spec_file.exists(), "the first push wrote the Package");

    api(&alice, Method::DELETE, "/user/packages/container/app")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let r = api(&alice, Method::GET, "/user/packages/container/app").await;
    assert_github_error(&r, StatusCode::NOT_FOUND, "Package not found.");
    let r = api(&alice, Method::GET, "/user/packages/container/app/versions").await;
    assert_github_error(&r, StatusCode::NOT_FOUND, "Package not found.");
    let list = api(&alice, Method::GET, "/user/packages?package_type=container")
        .await
        .json();
    assert_eq!(
        list,
        serde_json::json!([]),
        "a deleted package is not listed"
    );
    for reference in ["v1", v1.as_str()] {
        let r = alice
            .get(&format!("/v2/alice/app/manifests/{reference}"))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{reference}: {}", r.text());
    }
    assert!(
        !spec_file.exists(),
        "the Package the registry created goes with the package"
    );

    api(&alice, Method::POST, "/user/packages/container/app/restore")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    let p = api(&alice, Method::GET, "/user/packages/container/app")
        .await
        .json();
    assert_eq!(p["id"], id, "the same package, not a new one");
    assert_eq!(p["version_count"], 2, "{p}");
    for tag in ["v1", "v2"] {
        alice
            .get(&format!("/v2/alice/app/manifests/{tag}"))
            .await
            .assert_status(StatusCode::OK);
    }
    assert!(
        spec_file.exists(),
        "the Package comes back with the restore"
    );
    let status = std::fs::read_to_string(reg.data().join("policy/.status/alice/app/status.yaml"))
        .expect("the restored Package's status");
    assert!(status.contains("alice"), "its publisher stays: {status}");
    assert!(!status.contains("deletedAt"), "{status}");
    // Nothing is left to restore.
    let r = api(&alice, Method::POST, "/user/packages/container/app/restore").await;
    assert_github_error(&r, StatusCode::NOT_FOUND, "Package not found.");
}

#[tokio::test]
async fn a_package_a_user_wrote_stays_marked_deleted_and_a_push_makes_a_new_package() {
    let reg = TestRegistry::new();
    write_package(&reg, "app.yaml", "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {name: alice.app}\nspec:\n  owner: alice\n  name: app\n", "alice", "app").await;
    let alice = reg.as_user("alice", ALL);
    alice.push_image("alice/app", "v1", "one").await;
    let old = package_id(&alice, "/users/alice/packages/container/app").await;

    api(
        &alice,
        Method::DELETE,
        "/users/alice/packages/container/app",
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    assert!(
        reg.data().join("policy/app.yaml").exists(),
        "the user's file is not the registry's to remove"
    );
    assert!(
        reg.state
            .policy
            .snapshot()
            .package("alice", "app")
            .is_some_and(|p| p.deleted),
        "its status says it is deleted"
    );
    let r = api(&alice, Method::GET, "/users/alice/packages/container/app").await;
    assert_github_error(&r, StatusCode::NOT_FOUND, "Package not found.");
    api(
        &alice,
        Method::POST,
        "/users/alice/packages/container/app/restore",
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    assert_eq!(
        package_id(&alice, "/users/alice/packages/container/app").await,
        old
    );

    // Deleted again, then pushed to: a new package holds the name.
    api(
        &alice,
        Method::DELETE,
        "/users/alice/packages/container/app",
    )
    .await
    .assert_status(StatusCode::NO_CONTENT);
    alice.push_image("alice/app", "v3", "three").await;
    let p = api(&alice, Method::GET, "/users/alice/packages/container/app")
        .await
        .json();
    assert_ne!(p["id"], old, "{p}");
    assert_eq!(p["version_count"], 1, "only the new push: {p}");
    let deleted = api(
        &alice,
        Method::GET,
        "/users/alice/packages/container/app/versions?state=deleted",
    )
    .await
    .json();
    assert_eq!(
        deleted,
        serde_json::json!([]),
        "the old package's versions are not the new one's"
    );
    alice
        .get("/v2/alice/app/manifests/v1")
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    let r = api(
        &alice,
        Method::POST,
        "/users/alice/packages/container/app/restore",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("new package")
    );
}

#[tokio::test]
async fn a_public_package_downloaded_over_5000_times_is_not_deleted() {
    let reg = TestRegistry::new();
    write_package(&reg, "app.yaml", "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {name: alice.app}\nspec:\n  owner: alice\n  name: app\n  visibility: public\n", "alice", "app").await;
    let alice = reg.as_user("alice", ALL);
    let (a, _) = alice.push_image("alice/app", "a", "a").await;
    let (b, _) = alice.push_image("alice/app", "b", "b").await;
    let pkg = package_id(&alice, "/user/packages/container/app").await;
    // 5001 in all, as another replica flushed them.
    let repo = RepoName::parse("alice/app").unwrap();
    let counts = serde_json::json!({ a: 2501, b: 2500 });
    reg.state
        .content
        .storage()
        .put(
            &keys::package_downloads(&repo, pkg, "other"),
            serde_json::to_vec(&counts).unwrap().into(),
        )
        .await
        .unwrap();
    let r = api(&alice, Method::DELETE, "/user/packages/container/app").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(
        r.json()["message"]
            .as_str()
            .unwrap()
            .contains("5000 downloads"),
        "{}",
        r.text()
    );
    alice
        .get("/v2/alice/app/manifests/a")
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn a_package_deleted_longer_ago_than_the_restore_window_is_gone() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", ALL);
    alice.push_image("alice/app", "v1", "one").await;
    let pkg = package_id(&alice, "/user/packages/container/app").await;
    api(&alice, Method::DELETE, "/user/packages/container/app")
        .await
        .assert_status(StatusCode::NO_CONTENT);
    // The delete as if it happened 31 days ago (the window is 30).
    let storage = reg.state.content.storage();
    let key = keys::deleted_package(&RepoName::parse("alice/app").unwrap(), pkg);
    let mut tombstone: serde_json::Value =
        serde_json::from_slice(&storage.get(&key).await.unwrap().unwrap()).unwrap();
    let long_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(31 * 24);
    tombstone["deletedAt"] = long_ago.to_string().into();
    storage
        .put(&key, serde_json::to_vec(&tombstone).unwrap().into())
        .await
        .unwrap();
    let r = api(&alice, Method::POST, "/user/packages/container/app/restore").await;
    assert_github_error(&r, StatusCode::NOT_FOUND, "Package not found.");
}

#[tokio::test]
async fn deleting_and_restoring_need_their_scopes_and_an_org_owner() {
    let reg = TestRegistry::new();
    write_package(&reg, "acme.yaml", "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\nspec:\n  owners: [olivia]\n  members: [bob]\n---\napiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {name: acme.app}\nspec:\n  owner: acme\n  name: app\n  access:\n    - {user: bob, role: admin}\n", "acme", "app").await;
    let olivia = reg.as_user("olivia", ALL);
    olivia.push_image("acme/app", "v1", "one").await;
    let path = "/orgs/acme/packages/container/app";

    // Admin of the package, but not an owner of the organization.
    let bob = reg.as_user("bob", ALL);
    let r = api(&bob, Method::DELETE, path).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // An owner without delete:packages.
    let writer = reg.as_user("olivia", "read:packages,write:packages");
    let r = api(&writer, Method::DELETE, path).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    api(&olivia, Method::DELETE, path)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    // Restoring needs write:packages.
    let deleter = reg.as_user("olivia", "read:packages,delete:packages");
    let r = api(&deleter, Method::POST, &format!("{path}/restore")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    // A stranger cannot tell a deleted package from none.
    let eve = reg.as_user("eve", ALL);
    let r = api(&eve, Method::POST, &format!("{path}/restore")).await;
    assert_github_error(&r, StatusCode::NOT_FOUND, "Package not found.");
    api(&olivia, Method::POST, &format!("{path}/restore"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    olivia
        .get("/v2/acme/app/manifests/v1")
        .await
        .assert_status(StatusCode::OK);
}
