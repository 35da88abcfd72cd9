//! Manifest PUT validation: every accepted format, external layers, and every refusal
//! (schema 1, bad JSON, media type disagreement, missing blobs and children, size).

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use berth_registry::config::Limits;
use common::{
    DOCKER_CONFIG, DOCKER_LAYER, DOCKER_LIST, DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_LAYER,
    OCI_MANIFEST, TestRegistry, descriptor, image_manifest, index_manifest, sha256,
};
use serde_json::json;

const FOREIGN: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
const NON_DISTRIBUTABLE: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";

/// Pushes a config and a layer; returns an image manifest of `media_type` over them.
async fn image(reg: &TestRegistry, repo: &str, media_type: &str, seed: &str) -> Vec<u8> {
    let (config, layer) = match media_type {
        DOCKER_MANIFEST => (DOCKER_CONFIG, DOCKER_LAYER),
        _ => (OCI_CONFIG, OCI_LAYER),
    };
    let config = reg.blob_descriptor(repo, config, seed.as_bytes()).await;
    let layer = reg
        .blob_descriptor(repo, layer, format!("{seed} layer").as_bytes())
        .await;
    image_manifest(media_type, config, vec![layer], None)
}

/// A descriptor of a child manifest for an index.
fn child(media_type: &str, body: &[u8], arch: &str) -> serde_json::Value {
    let mut d = descriptor(media_type, body);
    d["platform"] = json!({"architecture": arch, "os": "linux"});
    d
}

#[tokio::test]
async fn docker_schema2_manifests_are_stored_and_served_as_pushed() {
    let reg = TestRegistry::new();
    let body = image(&reg, "acme/app", DOCKER_MANIFEST, "docker").await;
    let digest = reg
        .push_manifest("acme/app", "v1", DOCKER_MANIFEST, &body)
        .await;
    let r = reg.get("/v2/acme/app/manifests/v1").await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.header("content-type"), DOCKER_MANIFEST);
    assert_eq!(r.header("docker-content-digest"), digest);
    assert_eq!(&r.body[..], &body[..], "byte for byte");
}

#[tokio::test]
async fn an_oci_manifest_without_media_type_takes_the_content_type() {
    let reg = TestRegistry::new();
    let config = reg.blob_descriptor("acme/app", OCI_CONFIG, b"{}").await;
    let body =
        serde_json::to_vec(&json!({"schemaVersion": 2, "config": config, "layers": []})).unwrap();
    reg.push_manifest("acme/app", "v1", OCI_MANIFEST, &body)
        .await;
    let r = reg.head("/v2/acme/app/manifests/v1").await;
    assert_eq!(r.header("content-type"), OCI_MANIFEST);
    // A Content-Type with parameters names the same media type.
    let ct = format!("{OCI_MANIFEST}; charset=utf-8");
    let r = reg
        .request(
            Method::PUT,
            "/v2/acme/app/manifests/v2",
            &[("content-type", &ct)],
            body,
        )
        .await;
    r.assert_status(StatusCode::CREATED);
}

#[tokio::test]
async fn indexes_and_manifest_lists_need_their_children() {
    let reg = TestRegistry::new();
    for (list, image_type) in [(OCI_INDEX, OCI_MANIFEST), (DOCKER_LIST, DOCKER_MANIFEST)] {
        let amd = image(&reg, "acme/app", image_type, &format!("{list} amd64")).await;
        let arm = image(&reg, "acme/app", image_type, &format!("{list} arm64")).await;
        let index = index_manifest(
            list,
            vec![
                child(image_type, &amd, "amd64"),
                child(image_type, &arm, "arm64"),
            ],
        );
        // No child pushed yet: the first missing one is named.
        let m = reg
            .put_manifest("acme/app", "multi", list, &index)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
        assert!(m.contains(&sha256(&amd)), "{m}");
        reg.push_manifest("acme/app", &sha256(&amd), image_type, &amd)
            .await;
        let m = reg
            .put_manifest("acme/app", "multi", list, &index)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
        assert!(m.contains(&sha256(&arm)), "{m}");
        reg.push_manifest("acme/app", &sha256(&arm), image_type, &arm)
            .await;
        let digest = reg.push_manifest("acme/app", "multi", list, &index).await;
        let r = reg.get("/v2/acme/app/manifests/multi").await;
        assert_eq!(r.header("content-type"), list);
        assert_eq!(r.header("docker-content-digest"), digest);
        assert_eq!(&r.body[..], &index[..]);
    }
}

#[tokio::test]
async fn an_index_child_must_be_a_manifest_of_this_repository() {
    let reg = TestRegistry::new();
    let (_, body) = reg.push_image("acme/other", "v1", "elsewhere").await;
    let index = index_manifest(OCI_INDEX, vec![child(OCI_MANIFEST, &body, "amd64")]);
    let r = reg
        .put_manifest("acme/app", "multi", OCI_INDEX, &index)
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
    // A plain blob with the child's digest is not a manifest either.
    reg.push_blob("acme/app", &body).await;
    let r = reg
        .put_manifest("acme/app", "multi", OCI_INDEX, &index)
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
}

#[tokio::test]
async fn a_missing_config_or_layer_is_manifest_blob_unknown() {
    let reg = TestRegistry::new();
    let config = reg.blob_descriptor("acme/app", OCI_CONFIG, b"cfg").await;
    let layer = reg.blob_descriptor("acme/app", OCI_LAYER, b"layer").await;
    let absent = descriptor(OCI_LAYER, b"never pushed");
    let cases = [
        image_manifest(
            OCI_MANIFEST,
            config.clone(),
            vec![layer.clone(), absent.clone()],
            None,
        ),
        image_manifest(
            OCI_MANIFEST,
            descriptor(OCI_CONFIG, b"no config"),
            vec![layer.clone()],
            None,
        ),
    ];
    for body in &cases {
        let m = reg
            .put_manifest("acme/app", "v1", OCI_MANIFEST, body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
        assert!(m.contains("sha256:"), "names the blob: {m}");
    }
    // A blob of another repository does not count.
    let foreign = reg
        .blob_descriptor("acme/elsewhere", OCI_LAYER, b"theirs")
        .await;
    let body = image_manifest(OCI_MANIFEST, config, vec![layer, foreign], None);
    let r = reg
        .put_manifest("acme/app", "v1", OCI_MANIFEST, &body)
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
    reg.get("/v2/acme/app/manifests/v1")
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn foreign_and_non_distributable_layers_need_no_blob() {
    let reg = TestRegistry::new();
    let config = reg
        .blob_descriptor("acme/win", DOCKER_CONFIG, b"windows config")
        .await;
    let mut foreign = descriptor(FOREIGN, b"windows base layer, hosted elsewhere");
    foreign["urls"] = json!(["https://example.invalid/layer"]);
    let own = reg
        .blob_descriptor("acme/win", DOCKER_LAYER, b"app layer")
        .await;
    let body = image_manifest(DOCKER_MANIFEST, config, vec![foreign, own], None);
    reg.push_manifest("acme/win", "ltsc", DOCKER_MANIFEST, &body)
        .await;

    let config = reg
        .blob_descriptor("acme/nd", OCI_CONFIG, b"nd config")
        .await;
    let nd = descriptor(NON_DISTRIBUTABLE, b"restricted layer");
    let body = image_manifest(OCI_MANIFEST, config, vec![nd], None);
    reg.push_manifest("acme/nd", "v1", OCI_MANIFEST, &body)
        .await;
    // The external layer itself is still not served.
    let r = reg
        .get(&format!(
            "/v2/acme/nd/blobs/{}",
            sha256(b"restricted layer")
        ))
        .await;
    r.assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn schema1_is_refused_as_unsupported() {
    let reg = TestRegistry::new();
    let schema1 = serde_json::to_vec(&json!({
        "schemaVersion": 1, "name": "acme/app", "tag": "v1", "architecture": "amd64",
        "fsLayers": [{"blobSum": sha256(b"x")}], "history": [{"v1Compatibility": "{}"}],
    }))
    .unwrap();
    for ct in [
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/vnd.docker.distribution.manifest.v1+json",
        "application/json",
        "",
    ] {
        let headers: &[(&str, &str)] = if ct.is_empty() {
            &[]
        } else {
            &[("content-type", ct)]
        };
        let r = reg
            .request(
                Method::PUT,
                "/v2/acme/app/manifests/v1",
                headers,
                schema1.clone(),
            )
            .await;
        let m = r.assert_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
        assert!(
            m.contains("schema 1") && m.contains("not supported"),
            "{ct}: {m}"
        );
    }
}

#[tokio::test]
async fn malformed_manifests_are_manifest_invalid() {
    let reg = TestRegistry::new();
    let config = reg.blob_descriptor("acme/app", OCI_CONFIG, b"cfg").await;
    let bad = |v: serde_json::Value| serde_json::to_vec(&v).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not json", b"{not json".to_vec(), "JSON"),
        ("empty", Vec::new(), "JSON"),
        (
            "schema 3",
            bad(
                json!({"schemaVersion": 3, "mediaType": OCI_MANIFEST, "config": config, "layers": []}),
            ),
            "schemaVersion",
        ),
        (
            "no config",
            bad(json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []})),
            "config",
        ),
        (
            "no layers",
            bad(json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config})),
            "layers",
        ),
        (
            "no manifests",
            bad(json!({"schemaVersion": 2, "mediaType": OCI_INDEX})),
            "manifests",
        ),
        (
            "unknown type",
            bad(
                json!({"schemaVersion": 2, "mediaType": "text/plain", "config": config, "layers": []}),
            ),
            "text/plain",
        ),
        (
            "empty descriptor type",
            bad(
                json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"mediaType": "", "digest": sha256(b"cfg"), "size": 3}, "layers": []}),
            ),
            "mediaType",
        ),
        (
            "bad descriptor digest",
            bad(
                json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"mediaType": OCI_CONFIG, "digest": "sha256:nope", "size": 3}, "layers": []}),
            ),
            "JSON",
        ),
    ];
    for (what, body, says) in cases {
        let ct = if what == "no manifests" {
            OCI_INDEX
        } else {
            OCI_MANIFEST
        };
        let ct = if what == "unknown type" {
            "text/plain"
        } else {
            ct
        };
        let r = reg.put_manifest("acme/app", "v1", ct, &body).await;
        let m = r.assert_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
        assert!(m.contains(says), "{what}: {m}");
    }
    reg.get("/v2/acme/app/manifests/v1")
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn content_type_must_agree_with_media_type() {
    let reg = TestRegistry::new();
    let body = image(&reg, "acme/app", OCI_MANIFEST, "x").await;
    for ct in [DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST] {
        let m = reg
            .put_manifest("acme/app", "v1", ct, &body)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
        assert!(m.contains(ct) && m.contains(OCI_MANIFEST), "{m}");
    }
    // Without a Content-Type the body's mediaType is used.
    let r = reg
        .request(Method::PUT, "/v2/acme/app/manifests/v1", &[], body)
        .await;
    r.assert_status(StatusCode::CREATED);
    let r = reg.head("/v2/acme/app/manifests/v1").await;
    assert_eq!(r.header("content-type"), OCI_MANIFEST);
}

#[tokio::test]
async fn inline_data_must_match_its_descriptor() {
    let reg = TestRegistry::new();
    let mut config = reg.blob_descriptor("acme/app", OCI_CONFIG, b"{}").await;
    config["data"] = json!("e30="); // base64 of "{}"
    let good = image_manifest(OCI_MANIFEST, config.clone(), vec![], None);
    reg.push_manifest("acme/app", "good", OCI_MANIFEST, &good)
        .await;
    config["data"] = json!("W10="); // base64 of "[]"
    let bad = image_manifest(OCI_MANIFEST, config, vec![], None);
    let m = reg
        .put_manifest("acme/app", "bad", OCI_MANIFEST, &bad)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "MANIFEST_INVALID");
    assert!(m.contains("data"), "{m}");
}

#[tokio::test]
async fn oversized_manifests_are_413() {
    let reg = TestRegistry::with_limits(Limits {
        max_manifest_bytes: 512,
        ..Limits::default()
    });
    let config = reg.blob_descriptor("acme/app", OCI_CONFIG, b"cfg").await;
    let mut m =
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": []});
    m["annotations"] = json!({"pad": "x".repeat(600)});
    let big = serde_json::to_vec(&m).unwrap();
    // Declared up front.
    let r = reg.put_manifest("acme/app", "v1", OCI_MANIFEST, &big).await;
    let msg = r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    assert!(msg.contains("512"), "{msg}");
    // Streamed with no length.
    let r = reg
        .request(
            Method::PUT,
            "/v2/acme/app/manifests/v1",
            &[("content-type", OCI_MANIFEST)],
            Body::from(big),
        )
        .await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    // Within the limit it is accepted.
    m["annotations"] = json!({"pad": "x".repeat(100)});
    let small = serde_json::to_vec(&m).unwrap();
    assert!(small.len() <= 512);
    reg.push_manifest("acme/app", "v1", OCI_MANIFEST, &small)
        .await;
}
