//! `spec.retention` on a Package in the policy directory, run by the server at each
//! garbage collection (`garbageCollection.interval: 1s` here): a dry run reports and
//! deletes nothing; then old untagged versions and tags past their count go, through
//! the API's soft delete (listed as deleted, restorable), and what the rules keep pulls.
//! And retention's protocol against a push that tags the version it is deleting.

use std::time::Duration;

use crate::common::gc::{fsck_clean, pulls, put_image, upload};
use crate::common::{Berth, wait_until};

#[test]
fn retention_deletes_old_untagged_versions_and_tags_past_their_count() {
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("registry.yaml");
    std::fs::write(
        &config,
        "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {name: test}\n\
         spec:\n  garbageCollection: {interval: 1s}\n",
    )
    .unwrap();
    let berth = Berth::start_with(&["--config", config.to_str().unwrap()], |_| {});
    let layer_bytes = b"one layer for every version";
    let layer = upload(&berth, "admin/app", layer_bytes);
    let push = |tag: &str, seed: &str| {
        put_image(&berth, "admin/app", tag, (&layer, layer_bytes.len()), seed).unwrap()
    };
    let pr1 = push("pr-1", "1");
    let pr2 = push("pr-2", "2");
    let pr3 = push("pr-3", "3");
    let release = push("v1.0.0", "4");
    let untagged = push("scratch", "5");
    let scratch = push("scratch", "6"); // `untagged` has no tag now

    let rules =
        "retention: {untaggedOlderThanDays: 0, tags: {keep: ['v[0-9.]+', scratch], keepLatest: 1}";
    write_package(&berth, &format!("{rules}, dryRun: true}}"));
    wait_until("a dry run of retention", Duration::from_secs(30), || {
        logged(&berth, "retention ran") && logged(&berth, "dry_run=true deleted=3")
    });
    for digest in [&pr1, &pr2, &untagged] {
        assert_eq!(
            manifest_status(&berth, digest),
            200,
            "a dry run deletes nothing"
        );
    }

    write_package(&berth, &format!("{rules}}}"));
    wait_until("retention to delete", Duration::from_secs(30), || {
        [&pr1, &pr2, &untagged]
            .iter()
            .all(|d| manifest_status(&berth, d) == 404)
    });
    for kept in [&pr3, &release, &scratch] {
        pulls(&berth, "admin/app", kept);
    }
    // Soft deletes, as the API's: listed as deleted, restorable for the window.
    let deleted: serde_json::Value = berth
        .admin_blocking_client()
        .get(berth.url("/api/v3/user/packages/container/app/versions?state=deleted&per_page=100"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut names: Vec<&str> = deleted
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    names.sort();
    let mut want = vec![pr1.as_str(), pr2.as_str(), untagged.as_str()];
    want.sort();
    assert_eq!(names, want);
    fsck_clean(&berth);
}

/// Writes the Package `admin/app` with `spec_line` in its spec.
fn write_package(berth: &Berth, spec_line: &str) {
    let dir = berth.data_dir.join("policy");
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {{name: admin.app}}\n\
         spec:\n  owner: admin\n  name: app\n  {spec_line}\n"
    );
    let tmp = dir.join(".admin.app.yaml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, dir.join("admin.app.yaml")).unwrap();
}

fn logged(berth: &Berth, text: &str) -> bool {
    berth.log.lock().unwrap().iter().any(|l| l.contains(text))
}

fn manifest_status(berth: &Berth, digest: &str) -> u16 {
    berth
        .admin_blocking_client()
        .get(berth.url(&format!("/v2/admin/app/manifests/{digest}")))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// Retention's protocol against a push that tags the version it is deleting, made
/// deterministic by writing retention's tombstone (and verdict) as a run would have at
/// each of its steps, on the filesystem where the test reaches under the registry.
#[test]
fn a_push_tagging_a_version_that_retention_is_deleting_is_not_undone() {
    let berth = Berth::start();
    let layer_bytes = b"the layer of a version being retired";
    let layer = upload(&berth, "admin/app", layer_bytes);
    let push = |tag: &str, seed: &str| {
        put_image(&berth, "admin/app", tag, (&layer, layer_bytes.len()), seed)
    };
    push("keep", "kept").unwrap();
    let retired = push("old", "retired").unwrap();
    let hex = retired.strip_prefix("sha256:").unwrap();
    let dir = berth.data_dir.join("repositories/admin/app/_retention");
    std::fs::create_dir_all(&dir).unwrap();
    let tombstone = dir.join(format!("sha256-{hex}"));
    let verdict = dir.join(format!("sha256-{hex}.run1"));

    // Tombstoned, not yet decided: the push wins the version, and retention then sees
    // `kept` and leaves it.
    std::fs::write(
        &tombstone,
        r#"{"run":"run1","blob":false,"links":[],"marker":null}"#,
    )
    .unwrap();
    assert_eq!(push("old", "retired").unwrap(), retired);
    assert_eq!(std::fs::read(&verdict).unwrap(), b"kept");
    std::fs::remove_file(&verdict).unwrap();

    // Decided (`deleting`): the push waits while the version is deleted, then links it
    // again, tagged.
    std::fs::write(&verdict, "deleting").unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (url, token) = (berth.url(""), berth.token().to_owned());
    let body = std::fs::read(
        berth
            .data_dir
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(hex),
    )
    .unwrap();
    let pusher = std::thread::spawn(move || {
        let r = reqwest::blocking::Client::new()
            .put(format!("{url}/v2/admin/app/manifests/again"))
            .basic_auth("admin", Some(token))
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(body)
            .timeout(Duration::from_secs(60))
            .send()
            .unwrap();
        tx.send(()).unwrap();
        r.status().as_u16()
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "the push is held while retention deletes the version"
    );
    // Retention's delete, through the API's path, then its tombstone and verdict go.
    let client = berth.admin_blocking_client();
    let versions: serde_json::Value = client
        .get(berth.url("/api/v3/user/packages/container/app/versions?per_page=100"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = versions
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == retired.as_str())
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let deleted = client
        .delete(berth.url(&format!(
            "/api/v3/user/packages/container/app/versions/{id}"
        )))
        .send()
        .unwrap();
    assert_eq!(deleted.status(), 204);
    std::fs::remove_file(&tombstone).unwrap();
    std::fs::remove_file(&verdict).unwrap();
    assert_eq!(pusher.join().unwrap(), 201);

    let r = client
        .get(berth.url("/v2/admin/app/manifests/again"))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "the tag the push made is there");
    assert_eq!(r.headers()["docker-content-digest"], retired.as_str());
    pulls(&berth, "admin/app", &retired);
    fsck_clean(&berth);
}
