//! `spec.retention` on a Package in the policy directory, run by the server at each
//! garbage collection (`garbageCollection.interval: 1s` here): a dry run reports and
//! deletes nothing; then old untagged versions and tags past their count go, through
//! the API's soft delete (listed as deleted, restorable), and what the rules keep pulls.

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
