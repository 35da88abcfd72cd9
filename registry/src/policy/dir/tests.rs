use std::time::{Duration, Instant};

use berth_crds::access::Visibility;
use berth_crds::package::{PackageSpec, Publisher};

use super::*;

const POLICY: &str = r#"
apiVersion: berth.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  owners: [olivia]
  members: [alice]
---
apiVersion: berth.dev/v1alpha1
kind: Package
metadata: {name: acme.app}
spec:
  owner: acme
  name: app
  visibility: public
  access:
    - {user: alice, role: write}
"#;

fn source(files: &[(&str, &str)]) -> (tempfile::TempDir, DirSource) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    let s = DirSource::open(dir.path(), PolicySettings::default()).unwrap();
    (dir, s)
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !f() {
        assert!(Instant::now() < deadline, "within 2 s: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn reads_organizations_and_packages_from_multi_document_files() {
    let (_d, s) = source(&[("acme.yaml", POLICY)]);
    assert!(s.is_synced());
    let snap = s.snapshot();
    assert!(snap.org("acme").is_some());
    let pkg = snap.package("acme", "app").expect("the package");
    assert_eq!(pkg.visibility, Visibility::Public);
    assert!(s.problems().is_empty(), "{:?}", s.problems());
}

#[test]
fn a_broken_file_is_reported_and_its_last_good_content_stays() {
    let (d, s) = source(&[("acme.yaml", POLICY)]);
    fs::write(d.path().join("acme.yaml"), "spec: [unclosed").unwrap();
    eventually("the broken file to be reported", || {
        !s.problems().is_empty()
    });
    assert!(s.problems()[0].contains("acme.yaml"), "{:?}", s.problems());
    assert!(
        s.snapshot().package("acme", "app").is_some(),
        "the last good policy was dropped"
    );
    // Fixing it clears the problem.
    fs::write(
        d.path().join("acme.yaml"),
        POLICY.replace("public", "private"),
    )
    .unwrap();
    eventually("the fix to apply", || {
        s.problems().is_empty()
            && s.snapshot()
                .package("acme", "app")
                .is_some_and(|p| p.visibility == Visibility::Private)
    });
}

#[test]
fn edits_and_deletions_apply_without_a_restart() {
    let (d, s) = source(&[("acme.yaml", POLICY)]);
    fs::write(
        d.path().join("more.yml"),
        POLICY
            .replace("acme.app", "acme.tool")
            .replace("name: app", "name: tool"),
    )
    .unwrap();
    eventually("the new file to apply", || {
        s.snapshot().package("acme", "tool").is_some()
    });
    fs::remove_file(d.path().join("acme.yaml")).unwrap();
    eventually("the deletion to apply", || {
        s.snapshot().package("acme", "app").is_none()
    });
}

#[test]
fn wrong_kinds_and_api_versions_are_problems() {
    let (_d, s) = source(&[
        (
            "a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
        ),
        (
            "b.yaml",
            "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {name: x}\n",
        ),
        (
            "c.yaml",
            "apiVersion: berth.dev/v1alpha1\nkind: Package\nspec: {owner: a, name: b, visibility: secret}\n",
        ),
    ]);
    let problems = s.problems().join("\n");
    assert!(problems.contains("apiVersion"), "{problems}");
    assert!(problems.contains("Registry"), "{problems}");
    assert!(problems.contains("secret"), "{problems}");
}

#[tokio::test]
async fn created_packages_keep_spec_and_status_apart() {
    let (d, s) = source(&[]);
    let mut p = Package::new("alice.app", PackageSpec::new("alice", "app"));
    p.status = Some(PackageStatus {
        publisher: Some(Publisher {
            user: Some("alice".into()),
            repository: None,
        }),
        ..Default::default()
    });
    s.create_package(p).await.unwrap();
    let pkg = s
        .snapshot()
        .package("alice", "app")
        .cloned()
        .expect("in the snapshot at once");
    assert_eq!(pkg.publisher.unwrap().user.as_deref(), Some("alice"));
    let spec = fs::read_to_string(d.path().join("alice.app.yaml")).unwrap();
    assert!(
        spec.contains("kind: Package") && !spec.contains("publisher"),
        "{spec}"
    );

    s.link_package("alice", "app", "https://git.example.com/alice/app")
        .await
        .unwrap();
    assert_eq!(
        s.snapshot()
            .package("alice", "app")
            .unwrap()
            .repository
            .as_deref(),
        Some("https://git.example.com/alice/app")
    );
    // A fresh reader sees the same, from the files alone.
    let again = DirSource::open(d.path(), PolicySettings::default()).unwrap();
    let pkg = again.snapshot().package("alice", "app").cloned().unwrap();
    assert!(pkg.publisher.is_some() && pkg.repository.is_some());
}

#[tokio::test]
async fn the_pages_rewrite_the_registrys_files_and_never_the_users() {
    let (d, s) = source(&[("acme.yaml", POLICY)]);
    // The user's file: every setting is kept there, and a change is refused.
    let (spec, kept) = s.settings("acme", "app").await.unwrap().unwrap();
    assert_eq!(kept.len(), Setting::ALL.len());
    assert_eq!(kept[&Setting::Visibility], "the policy file acme.yaml");
    let mut private = spec.clone();
    private.visibility = Visibility::Private;
    let refused = s
        .change_settings("acme", "app", &private)
        .await
        .unwrap_err();
    assert!(refused.message.contains("acme.yaml"), "{refused}");
    assert_eq!(
        fs::read_to_string(d.path().join("acme.yaml")).unwrap(),
        POLICY
    );

    // The registry's file of a pushed package: rewritten, and in force at once.
    let mut pushed = Package::new("alice.app", PackageSpec::new("alice", "app"));
    pushed.annotations_mut().insert(
        berth_crds::package::CREATED_BY_ANNOTATION.into(),
        berth_crds::package::CREATED_BY_REGISTRY.into(),
    );
    s.create_package(pushed).await.unwrap();
    let (mut spec, kept) = s.settings("alice", "app").await.unwrap().unwrap();
    assert!(kept.is_empty(), "{kept:?}");
    spec.visibility = Visibility::Public;
    s.change_settings("alice", "app", &spec).await.unwrap();
    let snap = s.snapshot();
    assert_eq!(
        snap.package("alice", "app").unwrap().visibility,
        Visibility::Public
    );
    let file = fs::read_to_string(d.path().join("alice.app.yaml")).unwrap();
    assert!(
        file.contains("visibility: public") && file.contains("created-by"),
        "{file}"
    );
}
