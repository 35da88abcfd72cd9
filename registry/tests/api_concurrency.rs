//! Concurrent pushes of the same content and the same tag are safe: content-addressed
//! blobs are stored once, and a tag ends up naming one complete manifest.

mod common;

use axum::http::StatusCode;
use common::{OCI_CONFIG, OCI_MANIFEST, TestRegistry, image_manifest, sha256};
use futures_util::future::join_all;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_pushes_of_one_blob_store_it_once() {
    let reg = TestRegistry::new();
    let data = vec![7u8; 3 * 1024 * 1024];
    let digest = sha256(&data);
    let pushes = (0..8).map(|i| {
        let (reg, data) = (&reg, &data);
        async move { reg.push_blob(&format!("acme/app{}", i % 3), data).await }
    });
    assert!(join_all(pushes).await.iter().all(|d| *d == digest));

    let stored = reg.files_under("blobs");
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), data);
    for repo in ["acme/app0", "acme/app1", "acme/app2"] {
        let r = reg.get(&format!("/v2/{repo}/blobs/{digest}")).await;
        r.assert_status(StatusCode::OK);
        assert_eq!(sha256(&r.body), digest);
    }
    assert!(
        reg.upload_dirs().is_empty(),
        "left: {:?}",
        reg.upload_dirs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_pushes_to_one_tag_leave_it_on_one_complete_manifest() {
    let reg = TestRegistry::new();
    let config = reg.blob_descriptor("acme/app", OCI_CONFIG, b"{}").await;
    // Eight distinct manifests: each carries its own annotation.
    let manifests: Vec<Vec<u8>> = (0..8)
        .map(|i| {
            let m = image_manifest(OCI_MANIFEST, config.clone(), vec![], None);
            let mut v: serde_json::Value = serde_json::from_slice(&m).unwrap();
            v["annotations"] = serde_json::json!({"n": i.to_string()});
            serde_json::to_vec(&v).unwrap()
        })
        .collect();
    let pushes = manifests
        .iter()
        .map(|m| reg.push_manifest("acme/app", "latest", OCI_MANIFEST, m));
    let digests = join_all(pushes).await;

    let r = reg.get("/v2/acme/app/manifests/latest").await;
    r.assert_status(StatusCode::OK);
    let winner = r.header("docker-content-digest").to_owned();
    assert!(
        digests.contains(&winner),
        "{winner} is none of the pushed manifests"
    );
    assert_eq!(sha256(&r.body), winner, "the tag names a torn manifest");
    // Every manifest pushed remains readable by digest.
    for (m, d) in manifests.iter().zip(&digests) {
        let r = reg.get(&format!("/v2/acme/app/manifests/{d}")).await;
        assert_eq!(r.body.as_ref(), m.as_slice());
    }
}
