//! Garbage collection's plan over a real store, in process: what live versions (tagged
//! or not), restorable deleted versions and indexes reach is kept; a stray blob, its
//! link, and a deleted version past its window (with the blobs only it used) are not.

mod common;

use std::time::Duration;

use berth_registry::maintenance::gc;
use common::{OCI_INDEX, OCI_MANIFEST, TestRegistry, delete_version, descriptor, index_manifest};

const ALL: &str = "read:packages,write:packages,delete:packages";
const MONTH: Duration = Duration::from_secs(30 * 86_400);

/// A collection with deleted versions restorable for `restore_window`, and no grace.
fn options(restore_window: Duration) -> gc::Options {
    gc::Options {
        restore_window,
        grace: Duration::ZERO,
        takeover: gc::Options::TAKEOVER,
        parallel: gc::Options::PARALLEL,
    }
}

fn blob_len(reg: &TestRegistry, digest: &str) -> u64 {
    let hex = digest.strip_prefix("sha256:").unwrap();
    std::fs::metadata(reg.data().join("blobs/sha256").join(&hex[..2]).join(hex))
        .unwrap()
        .len()
}

/// The config and layer digests of an image manifest's bytes.
fn blobs_of(body: &[u8]) -> [String; 2] {
    let m: serde_json::Value = serde_json::from_slice(body).unwrap();
    let digest = |v: &serde_json::Value| v["digest"].as_str().unwrap().to_owned();
    [digest(&m["config"]), digest(&m["layers"][0])]
}

#[tokio::test]
async fn the_plan_keeps_what_versions_reach_and_names_the_rest() {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", ALL);
    let (one, one_body) = alice.push_image("alice/app", "v1", "one").await;
    let (two, two_body) = alice.push_image("alice/app", "v2", "two").await;
    // v1 moves on: `one` is untagged now, and still a version.
    alice.push_image("alice/app", "v1", "three").await;
    let index = index_manifest(
        OCI_INDEX,
        vec![
            descriptor(OCI_MANIFEST, &one_body),
            descriptor(OCI_MANIFEST, &two_body),
        ],
    );
    let index = alice
        .push_manifest("alice/app", "multi", OCI_INDEX, &index)
        .await;
    // A blob no manifest names (an abandoned push).
    let stray = alice.push_blob("alice/app", b"pushed, never used").await;
    // The index and then `two` deleted (a tagged index's platform cannot go first):
    // restorable for the window.
    delete_version(&alice, "/user/packages/container/app", &index).await;
    delete_version(&alice, "/user/packages/container/app", &two).await;

    let content = &reg.state.content;
    // Past the grace period (none here) by more than S3's one-second resolution.
    let now = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    let plan = gc::plan(content, options(MONTH), now).await.unwrap();
    let removed: Vec<String> = plan.blobs().map(|(d, _)| d.to_string()).collect();
    assert_eq!(
        removed,
        std::slice::from_ref(&stray),
        "only the stray blob: {plan:?}"
    );
    assert_eq!(plan.reclaimed_bytes(), b"pushed, never used".len() as u64);
    let links: Vec<String> = plan.links().map(|(r, d)| format!("{r} {d}")).collect();
    assert_eq!(links, [format!("alice/app {stray}")]);
    assert!(plan.expired_versions.is_empty(), "{plan:?}");
    // Three images (manifest, config, layer) and the index.
    assert_eq!(plan.kept_blobs, 10);

    // Past the window, the deleted index goes, and `two` with the blobs only it used;
    // `one` stays, a live (untagged) version.
    let later = now + jiff::SignedDuration::from_secs(3600);
    let plan = gc::plan(content, options(Duration::from_secs(60)), later)
        .await
        .unwrap();
    let mut removed: Vec<String> = plan.blobs().map(|(d, _)| d.to_string()).collect();
    removed.sort();
    let mut expect = vec![stray.clone(), two.clone(), index.clone()];
    expect.extend(blobs_of(&two_body));
    expect.sort();
    assert_eq!(removed, expect, "{plan:?}");
    let bytes: u64 = expect.iter().map(|d| blob_len(&reg, d)).sum();
    assert_eq!(plan.reclaimed_bytes(), bytes);
    assert_eq!(plan.expired_versions.len(), 2, "{plan:?}");
    assert!(!removed.contains(&one), "an untagged version is kept");
    let mut links: Vec<String> = plan.links().map(|(_, d)| d.to_string()).collect();
    links.sort();
    let mut expect_links = vec![stray];
    expect_links.extend(blobs_of(&two_body));
    expect_links.sort();
    assert_eq!(links, expect_links, "the links only `two` used go with it");
}
