//! `fsck` over a real store, in process: clean after pushes, an index, a nested name and
//! a deleted version; then each kind of damage made on disk is named.

mod common;

use berth_registry::maintenance::fsck::{self, Problem, Report};
use common::{OCI_INDEX, TestRegistry, delete_version, descriptor, index_manifest, sha256};

const ALL: &str = "read:packages,write:packages,delete:packages";

/// A store with two images and an index of them in `alice/app`, one image in
/// `alice/app/tools`, and the index deleted as a version (restorable).
async fn store() -> (TestRegistry, TestRegistry, [String; 3]) {
    let reg = TestRegistry::new();
    let alice = reg.as_user("alice", ALL);
    let (one, one_body) = alice.push_image("alice/app", "v1", "one").await;
    let (two, two_body) = alice.push_image("alice/app", "v2", "two").await;
    let index = index_manifest(
        OCI_INDEX,
        vec![
            descriptor(common::OCI_MANIFEST, &one_body),
            descriptor(common::OCI_MANIFEST, &two_body),
        ],
    );
    let index = alice
        .push_manifest("alice/app", "multi", OCI_INDEX, &index)
        .await;
    alice.push_image("alice/app/tools", "v1", "tools").await;

    delete_version(&alice, "/user/packages/container/app", &index).await;
    (reg, alice, [one, two, index])
}

async fn check(reg: &TestRegistry) -> Report {
    fsck::check(&reg.state.content, true)
        .await
        .expect("fsck runs")
}

fn blob_file(reg: &TestRegistry, digest: &str) -> std::path::PathBuf {
    let hex = digest.strip_prefix("sha256:").unwrap();
    reg.data().join("blobs/sha256").join(&hex[..2]).join(hex)
}

/// The config digest of a manifest's bytes as stored.
fn config_of(reg: &TestRegistry, manifest: &str) -> String {
    let bytes = std::fs::read(blob_file(reg, manifest)).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    m["config"]["digest"].as_str().unwrap().to_owned()
}

fn layer_of(reg: &TestRegistry, manifest: &str) -> String {
    let bytes = std::fs::read(blob_file(reg, manifest)).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    m["layers"][0]["digest"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_healthy_store_is_clean_counting_what_it_checked() {
    let (reg, _alice, _) = store().await;
    let report = check(&reg).await;
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.repositories, 2, "alice/app and alice/app/tools");
    assert_eq!(
        report.tags, 3,
        "v1 and v2 of app (multi went with its version), v1 of tools"
    );
    assert_eq!(report.manifests, 3);
    assert_eq!(report.deleted_versions, 1, "the index, restorable");
    // A config and a layer per image (three), and the deleted index's two children,
    // whose bytes a restore needs.
    assert_eq!(report.blobs, 8);
    assert_eq!(report.blobs_hashed, report.blobs, "full hashes every blob");
}

#[tokio::test]
async fn each_kind_of_damage_is_named() {
    let (reg, _alice, [one, two, index]) = store().await;

    // A live image's layer gone: missing for the manifest, dangling as a link.
    let layer = layer_of(&reg, &one);
    std::fs::remove_file(blob_file(&reg, &layer)).unwrap();
    // Another's config rewritten with the same length: only the hash tells.
    let config = config_of(&reg, &two);
    let len = std::fs::metadata(blob_file(&reg, &config)).unwrap().len() as usize;
    std::fs::write(blob_file(&reg, &config), vec![b'x'; len]).unwrap();
    // A tag naming a digest that is no manifest of the repository.
    let stray = sha256(b"no such manifest");
    let tags = reg.data().join("repositories/alice/app/_manifests/tags");
    std::fs::write(tags.join("stray"), &stray).unwrap();
    // The deleted (restorable) index's bytes gone.
    std::fs::remove_file(blob_file(&reg, &index)).unwrap();

    let report = check(&reg).await;
    let found: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    let expect = [
        Problem::BlobMissing {
            repo: "alice/app".into(),
            manifest: one.parse().unwrap(),
            blob: layer.parse().unwrap(),
        },
        Problem::DanglingLink {
            repo: "alice/app".into(),
            blob: layer.parse().unwrap(),
        },
        Problem::WrongDigest {
            blob: config.parse().unwrap(),
            hashed: sha256(&vec![b'x'; len]).parse().unwrap(),
        },
        Problem::TagToUnlinked {
            repo: "alice/app".into(),
            tag: "stray".into(),
            digest: stray.parse().unwrap(),
        },
        Problem::ManifestMissing {
            repo: "alice/app".into(),
            digest: index.parse().unwrap(),
        },
    ];
    for p in &expect {
        assert!(report.problems.contains(p), "{p} not among {found:#?}");
    }
    assert_eq!(report.problems.len(), expect.len(), "{found:#?}");
}
