//! GHCR's permission model through the router: packages created on first push, hidden
//! when private, opened by visibility and grants in policy files, capped by token scopes.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{OCI_CONFIG, OCI_MANIFEST, Resp, TestRegistry, image_manifest};
use serde_json::json;

/// A Package file for `acme/app` with `visibility` and extra spec lines.
fn package(visibility: &str, extra: &str) -> String {
    format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {{name: acme.app}}\nspec:\n  owner: acme\n  name: app\n  visibility: {visibility}\n{extra}"
    )
}

const ORG: &str = "apiVersion: berth.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  owners: [olivia]
  members: [mike]
  teams: [{name: devs, members: [tess]}]
  packageCreation: {private: false, internal: true, public: true}
";

/// The parts of a response a caller could tell apart.
fn observable(r: &Resp) -> (StatusCode, Option<String>, Option<String>, String) {
    let h = |n: &str| r.headers.get(n).map(|v| v.to_str().unwrap().to_owned());
    (r.status, h("content-type"), h("content-length"), r.text())
}

async fn setup() -> TestRegistry {
    let reg = TestRegistry::new();
    reg.write_policy("acme-org.yaml", ORG, |s| s.org("acme").is_some())
        .await;
    reg.push_image("acme/app", "v1", "secret").await;
    reg
}

#[tokio::test]
async fn a_first_push_creates_a_private_package_with_its_publisher() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", "write:packages");
    alice.push_image("alice/tool", "v1", "x").await;
    let snap = reg.state.policy.snapshot();
    let pkg = snap.package("alice", "tool").expect("created");
    assert_eq!(pkg.visibility, berth_crds::Visibility::Private);
    assert_eq!(
        pkg.publisher.as_ref().unwrap().user.as_deref(),
        Some("alice")
    );
    let spec = std::fs::read_to_string(reg.data().join("policy/alice.tool.yaml")).unwrap();
    assert!(spec.contains("visibility: private"), "{spec}");
    // Someone else's namespace: refused, and nothing is created.
    let r = alice.try_start_upload("bob/tool").await;
    r.assert_error(StatusCode::FORBIDDEN, "DENIED");
    assert!(reg.state.policy.snapshot().package("bob", "tool").is_none());
}

#[tokio::test]
async fn private_and_missing_packages_answer_identically_to_outsiders() {
    let reg = setup().await;
    let eve = reg.as_user("eve", "read:packages");
    let anon = reg.anonymous();
    for who in [&eve, &anon] {
        for (method, path) in [
            (Method::GET, "manifests/v1"),
            (Method::HEAD, "manifests/v1"),
            (Method::GET, "tags/list"),
            (
                Method::GET,
                "blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000",
            ),
            (
                Method::GET,
                "referrers/sha256:0000000000000000000000000000000000000000000000000000000000000000",
            ),
        ] {
            let private = who
                .request(
                    method.clone(),
                    &format!("/v2/acme/app/{path}"),
                    &[],
                    Body::empty(),
                )
                .await;
            let missing = who
                .request(
                    method.clone(),
                    &format!("/v2/acme/nosuch/{path}"),
                    &[],
                    Body::empty(),
                )
                .await;
            assert_eq!(
                observable(&private),
                observable(&missing),
                "{method} {path}"
            );
            assert_ne!(private.status, StatusCode::OK);
            let challenge = |r: &Resp, name: &str| {
                r.headers
                    .get("www-authenticate")
                    .map(|v| v.to_str().unwrap().replace(name, "NAME"))
            };
            assert_eq!(
                challenge(&private, "acme/app"),
                challenge(&missing, "acme/nosuch")
            );
        }
    }
    // Pushing is refused with the same words whether or not the package exists.
    let mallory = reg.as_user("mallory", "write:packages");
    let a = mallory.try_start_upload("acme/app").await;
    let b = mallory.try_start_upload("acme/nosuch").await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(
        a.text().replace("acme/app", "NAME"),
        b.text().replace("acme/nosuch", "NAME")
    );
}

#[tokio::test]
async fn visibility_and_grants_in_the_policy_file_apply_at_once() {
    let reg = setup().await;
    let anon = reg.anonymous();
    let bob = reg.as_user("bob", "write:packages");
    anon.get("/v2/acme/app/manifests/v1")
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

    reg.write_policy("acme.app.yaml", &package("public", ""), |s| {
        s.package("acme", "app")
            .is_some_and(|p| p.visibility == berth_crds::Visibility::Public)
    })
    .await;
    anon.get("/v2/acme/app/manifests/v1")
        .await
        .assert_status(StatusCode::OK);
    let r = anon.try_start_upload("acme/app").await;
    r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    // Bob can see it, so a push is a plain 403 naming the missing role.
    let r = bob.try_start_upload("acme/app").await;
    let m = r.assert_error(StatusCode::FORBIDDEN, "DENIED");
    assert!(m.contains("write"), "{m}");

    let grant = "  access:\n    - {user: bob, role: write}\n";
    reg.write_policy("acme.app.yaml", &package("private", grant), |s| {
        s.package("acme", "app")
            .is_some_and(|p| !p.access.is_empty())
    })
    .await;
    bob.push_image("acme/app", "v2", "by bob").await;
    bob.get("/v2/acme/app/manifests/v1")
        .await
        .assert_status(StatusCode::OK);
    // Deleting needs admin.
    let r = bob.delete("/v2/acme/app/manifests/v2").await;
    r.assert_error(StatusCode::FORBIDDEN, "DENIED");

    reg.write_policy("acme.app.yaml", &package("private", ""), |s| {
        s.package("acme", "app")
            .is_some_and(|p| p.access.is_empty())
    })
    .await;
    bob.get("/v2/acme/app/manifests/v1")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
}

#[tokio::test]
async fn token_scopes_cap_the_role() {
    let reg = TestRegistry::new();
    let read_only = reg.as_user("alice", "read:packages");
    let writer = reg.as_user("alice", "write:packages");
    let deleter = reg.as_user("alice", "write:packages,delete:packages");
    let (digest, _) = writer.push_image("alice/app", "v1", "x").await;
    read_only
        .get("/v2/alice/app/manifests/v1")
        .await
        .assert_status(StatusCode::OK);
    let m = read_only
        .try_start_upload("alice/app")
        .await
        .assert_error(StatusCode::FORBIDDEN, "DENIED");
    assert!(m.contains("write:packages"), "{m}");
    let m = writer
        .delete(&format!("/v2/alice/app/manifests/{digest}"))
        .await
        .assert_error(StatusCode::FORBIDDEN, "DENIED");
    assert!(m.contains("delete:packages"), "{m}");
    deleter
        .delete(&format!("/v2/alice/app/manifests/{digest}"))
        .await
        .assert_status(StatusCode::ACCEPTED);
}

#[tokio::test]
async fn organizations_owners_members_teams_and_internal_visibility() {
    let reg = setup().await;
    let (olivia, mike, tess) = (
        reg.as_user("olivia", "write:packages,delete:packages"),
        reg.as_user("mike", "read:packages"),
        reg.as_user("tess", "write:packages"),
    );
    olivia
        .get("/v2/acme/app/manifests/v1")
        .await
        .assert_status(StatusCode::OK);
    mike.get("/v2/acme/app/manifests/v1")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
    reg.write_policy(
        "acme.app.yaml",
        &package("internal", "  access:\n    - {team: devs, role: write}\n"),
        |s| {
            s.package("acme", "app")
                .is_some_and(|p| p.visibility == berth_crds::Visibility::Internal)
        },
    )
    .await;
    mike.get("/v2/acme/app/manifests/v1")
        .await
        .assert_status(StatusCode::OK);
    tess.push_image("acme/app", "v2", "by tess").await;
    olivia
        .delete("/v2/acme/app/manifests/v2")
        .await
        .assert_status(StatusCode::ACCEPTED);
    // The organization lets members create only internal and public packages, and
    // first pushes are private: a member cannot create; an owner can.
    let r = tess.try_start_upload("acme/new").await;
    r.assert_error(StatusCode::FORBIDDEN, "DENIED");
    olivia.push_image("acme/new", "v1", "by olivia").await;
}

#[tokio::test]
async fn mounts_come_only_from_repositories_the_caller_can_read() {
    let reg = setup().await;
    let alice = reg.as_user("alice", "write:packages");
    // A blob of the private acme/app, which alice cannot read.
    let secret_layer = common::sha256(b"layer of secret");
    let uri = format!("/v2/alice/copy/blobs/uploads/?mount={secret_layer}&from=acme/app");
    let r = alice.post(&uri).await;
    r.assert_status(StatusCode::ACCEPTED);
    alice
        .get(&format!("/v2/alice/copy/blobs/{secret_layer}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    // From her own repository, it mounts.
    let mine = alice.push_blob("alice/src", b"mine").await;
    let uri = format!("/v2/alice/copy/blobs/uploads/?mount={mine}&from=alice/src");
    alice.post(&uri).await.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn metadata_is_recorded_cut_to_its_limits_and_links_a_package_without_repository() {
    let reg = TestRegistry::new();
    // Declared in Git before any push, without a repository.
    reg.write_policy(
        "acme.app.yaml",
        &package("private", "").replace("owner: acme", "owner: admin"),
        |s| s.package("admin", "app").is_some(),
    )
    .await;
    let long = "d".repeat(700);
    let config = json!({"config": {"Labels": {
        "org.opencontainers.image.source": "https://git.example.com/admin/app.git",
        "org.opencontainers.image.description": long,
        "org.opencontainers.image.licenses": "MIT"
    }}});
    let config = reg
        .blob_descriptor("admin/app", OCI_CONFIG, config.to_string().as_bytes())
        .await;
    let manifest = image_manifest(OCI_MANIFEST, config, vec![], None);
    reg.push_manifest("admin/app", "v1", OCI_MANIFEST, &manifest)
        .await;

    let record = std::fs::read_to_string(reg.data().join("packages/admin/app/_record")).unwrap();
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    assert_eq!(record["description"].as_str().unwrap().len(), 512);
    assert_eq!(record["licenses"], "MIT");
    // Linked through status, the spec file untouched.
    let pkg = reg
        .state
        .policy
        .snapshot()
        .package("admin", "app")
        .cloned()
        .unwrap();
    assert_eq!(
        pkg.repository.as_deref(),
        Some("https://git.example.com/admin/app")
    );
    let spec = std::fs::read_to_string(reg.data().join("policy/acme.app.yaml")).unwrap();
    assert!(!spec.contains("repository"), "{spec}");
}

#[tokio::test]
async fn the_example_policy_applies_without_problems() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/examples/policy");
    let source = berth_registry::policy::dir::DirSource::open(
        std::path::Path::new(dir),
        berth_registry::policy::PolicySettings::default(),
    )
    .unwrap();
    use berth_registry::policy::PolicySource as _;
    assert!(source.problems().is_empty(), "{:?}", source.problems());
    let snap = source.snapshot();
    assert!(snap.package("acme", "app/release").is_some() && snap.org("acme").is_some());
}
