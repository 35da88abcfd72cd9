//! `GET|HEAD|PUT|DELETE /v2/<name>/manifests/<reference>`: pushing, pulling by tag and
//! digest, conditional requests, tags set on push, and deletion.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{OCI_MANIFEST, Resp, TestRegistry, sha256, sha512};

/// Asserts a manifest answer: its headers, and its body unless `head`.
#[track_caller]
fn assert_manifest(r: &Resp, digest: &str, body: &[u8], media_type: &str, head: bool) {
    r.assert_status(StatusCode::OK);
    assert_eq!(r.header("content-type"), media_type);
    assert_eq!(r.header("content-length"), body.len().to_string());
    assert_eq!(r.header("docker-content-digest"), digest);
    assert_eq!(r.header("etag"), format!("\"{digest}\""));
    if head {
        assert!(r.body.is_empty(), "HEAD has no body");
    } else {
        assert_eq!(&r.body[..], body);
    }
}

async fn tags_of(reg: &TestRegistry, repo: &str) -> serde_json::Value {
    let r = reg.get(&format!("/v2/{repo}/tags/list")).await;
    r.assert_status(StatusCode::OK);
    r.json()["tags"].clone()
}

#[tokio::test]
async fn put_by_tag_answers_201_with_location_and_digest() {
    let reg = TestRegistry::new();
    let (digest, body) = reg.push_image("acme/app", "v1", "a").await;
    // Pushing the same manifest again is idempotent.
    let r = reg
        .put_manifest("acme/app", "v1", OCI_MANIFEST, &body)
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(
        r.header("location"),
        format!("/v2/acme/app/manifests/{digest}")
    );
    assert_eq!(r.header("docker-content-digest"), digest);
    let r = reg.get(r.header("location")).await;
    assert_manifest(&r, &digest, &body, OCI_MANIFEST, false);
}

#[tokio::test]
async fn get_and_head_by_tag_and_by_digest() {
    let reg = TestRegistry::new();
    let (digest, body) = reg.push_image("acme/app", "v1", "a").await;
    for reference in ["v1", digest.as_str()] {
        let uri = format!("/v2/acme/app/manifests/{reference}");
        assert_manifest(&reg.get(&uri).await, &digest, &body, OCI_MANIFEST, false);
        assert_manifest(&reg.head(&uri).await, &digest, &body, OCI_MANIFEST, true);
    }
}

#[tokio::test]
async fn if_none_match_with_the_etag_is_304() {
    let reg = TestRegistry::new();
    let (digest, _) = reg.push_image("acme/app", "v1", "a").await;
    let etag = format!("\"{digest}\"");
    for method in [Method::GET, Method::HEAD] {
        for reference in ["v1", digest.as_str()] {
            let uri = format!("/v2/acme/app/manifests/{reference}");
            let r = reg
                .request(
                    method.clone(),
                    &uri,
                    &[("if-none-match", &etag)],
                    Body::empty(),
                )
                .await;
            assert_eq!(r.status, StatusCode::NOT_MODIFIED, "{method} {reference}");
            assert!(r.body.is_empty());
            assert_eq!(r.header("etag"), etag);
            assert_eq!(r.header("docker-content-digest"), digest);
        }
    }
    // Another ETag does not match.
    let other = format!("\"{}\"", sha256(b"other"));
    let r = reg
        .request(
            Method::GET,
            "/v2/acme/app/manifests/v1",
            &[("if-none-match", &other)],
            Body::empty(),
        )
        .await;
    r.assert_status(StatusCode::OK);
    assert!(!r.body.is_empty());
}

#[tokio::test]
async fn unknown_manifests_are_404_manifest_unknown() {
    let reg = TestRegistry::new();
    reg.push_image("acme/app", "v1", "a").await;
    let unknown = sha256(b"no such manifest");
    for uri in [
        "/v2/acme/app/manifests/v2".to_owned(),
        format!("/v2/acme/app/manifests/{unknown}"),
        "/v2/acme/none/manifests/v1".to_owned(),
    ] {
        reg.get(&uri)
            .await
            .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
        reg.head(&uri).await.assert_status(StatusCode::NOT_FOUND);
        reg.delete(&uri)
            .await
            .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    }
}

#[tokio::test]
async fn a_manifest_of_one_repository_is_unknown_in_another() {
    let reg = TestRegistry::new();
    let (digest, _) = reg.push_image("acme/a", "v1", "a").await;
    reg.push_image("acme/b", "other", "b").await;
    for reference in ["v1", digest.as_str()] {
        reg.get(&format!("/v2/acme/b/manifests/{reference}"))
            .await
            .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    }
}

#[tokio::test]
async fn put_by_digest_checks_the_digest() {
    let reg = TestRegistry::new();
    let (_, body) = reg.push_image("acme/app", "v1", "a").await;
    let digest = sha256(&body);
    let wrong = sha256(b"not this manifest");
    let m = reg
        .put_manifest("acme/app", &wrong, OCI_MANIFEST, &body)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    assert!(m.contains(&digest), "{m}");
    reg.get(&format!("/v2/acme/app/manifests/{wrong}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    reg.put_manifest("acme/app", "sha256:baddigeststring", OCI_MANIFEST, &body)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    reg.get("/v2/acme/app/manifests/sha256:baddigeststring")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    // The right digest, sha256 or sha512, is accepted; a digest push sets no tag.
    reg.push_manifest("acme/app", &digest, OCI_MANIFEST, &body)
        .await;
    let long = sha512(&body);
    let r = reg
        .put_manifest("acme/app", &long, OCI_MANIFEST, &body)
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.header("docker-content-digest"), long);
    let r = reg.get(&format!("/v2/acme/app/manifests/{long}")).await;
    assert_manifest(&r, &long, &body, OCI_MANIFEST, false);
    assert_eq!(tags_of(&reg, "acme/app").await, serde_json::json!(["v1"]));
}

#[tokio::test]
async fn put_by_digest_needs_its_blobs_in_the_repository() {
    let reg = TestRegistry::new();
    let (digest, body) = reg.push_image("acme/a", "v1", "a").await;
    // acme/other holds none of the image's blobs.
    let r = reg
        .put_manifest("acme/other", &digest, OCI_MANIFEST, &body)
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN");
}

#[tokio::test]
async fn a_tag_moves_to_the_newest_push() {
    let reg = TestRegistry::new();
    let (first, _) = reg.push_image("acme/app", "latest", "one").await;
    let (second, body) = reg.push_image("acme/app", "latest", "two").await;
    assert_ne!(first, second);
    let r = reg.get("/v2/acme/app/manifests/latest").await;
    assert_manifest(&r, &second, &body, OCI_MANIFEST, false);
    // The old manifest is still there by digest.
    reg.get(&format!("/v2/acme/app/manifests/{first}"))
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn tag_parameters_set_more_tags_and_answer_oci_tag() {
    let reg = TestRegistry::new();
    let (_, body) = reg.push_image("acme/app", "v1", "a").await;
    let digest = sha256(&body);
    let uri = format!("/v2/acme/app/manifests/{digest}?tag=a&tag=b");
    let r = reg
        .request(
            Method::PUT,
            &uri,
            &[("content-type", OCI_MANIFEST)],
            body.clone(),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    let oci_tags: Vec<_> = r
        .headers
        .get_all("oci-tag")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(oci_tags, ["a", "b"]);
    for tag in ["a", "b", "v1"] {
        let r = reg.get(&format!("/v2/acme/app/manifests/{tag}")).await;
        assert_manifest(&r, &digest, &body, OCI_MANIFEST, false);
    }
    assert_eq!(
        tags_of(&reg, "acme/app").await,
        serde_json::json!(["a", "b", "v1"])
    );
    // By tag, the parameters add to the path's tag.
    let uri = "/v2/acme/app/manifests/c?tag=d";
    let r = reg
        .request(
            Method::PUT,
            uri,
            &[("content-type", OCI_MANIFEST)],
            body.clone(),
        )
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.header("oci-tag"), "d");
    assert_eq!(
        tags_of(&reg, "acme/app").await,
        serde_json::json!(["a", "b", "c", "d", "v1"])
    );
}

#[tokio::test]
async fn invalid_tags_are_refused() {
    let reg = TestRegistry::new();
    let (_, body) = reg.push_image("acme/app", "v1", "a").await;
    let long = "t".repeat(129);
    for tag in ["-lead", ".lead", long.as_str(), "a%20b", "a+b"] {
        let uri = format!("/v2/acme/app/manifests/{tag}");
        reg.get(&uri)
            .await
            .assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
        let r = reg
            .request(
                Method::PUT,
                &uri,
                &[("content-type", OCI_MANIFEST)],
                body.clone(),
            )
            .await;
        r.assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
        let uri = format!("/v2/acme/app/manifests/ok?tag={tag}");
        let r = reg
            .request(
                Method::PUT,
                &uri,
                &[("content-type", OCI_MANIFEST)],
                body.clone(),
            )
            .await;
        r.assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
    }
    // Nothing was tagged by the refused pushes.
    assert_eq!(tags_of(&reg, "acme/app").await, serde_json::json!(["v1"]));
    // The longest tag is fine.
    let longest = "t".repeat(128);
    reg.push_manifest("acme/app", &longest, OCI_MANIFEST, &body)
        .await;
    reg.push_manifest("acme/app", "_Under.score-1", OCI_MANIFEST, &body)
        .await;
}

#[tokio::test]
async fn delete_by_digest_removes_the_manifest_and_its_tags() {
    let reg = TestRegistry::new();
    let (digest, body) = reg.push_image("acme/app", "v1", "a").await;
    reg.push_manifest("acme/app", "v1-alias", OCI_MANIFEST, &body)
        .await;
    let (kept, _) = reg.push_image("acme/app", "other", "b").await;
    let r = reg
        .delete(&format!("/v2/acme/app/manifests/{digest}"))
        .await;
    r.assert_status(StatusCode::ACCEPTED);
    for reference in ["v1", "v1-alias", digest.as_str()] {
        let uri = format!("/v2/acme/app/manifests/{reference}");
        reg.get(&uri)
            .await
            .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    }
    assert_eq!(
        tags_of(&reg, "acme/app").await,
        serde_json::json!(["other"])
    );
    reg.get(&format!("/v2/acme/app/manifests/{kept}"))
        .await
        .assert_status(StatusCode::OK);
    reg.get(&format!("/v2/acme/app/blobs/{digest}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    // It can be pushed again.
    reg.push_manifest("acme/app", "v1", OCI_MANIFEST, &body)
        .await;
}

#[tokio::test]
async fn delete_by_tag_removes_only_the_tag() {
    let reg = TestRegistry::new();
    let (digest, body) = reg.push_image("acme/app", "v1", "a").await;
    reg.push_manifest("acme/app", "v2", OCI_MANIFEST, &body)
        .await;
    reg.delete("/v2/acme/app/manifests/v1")
        .await
        .assert_status(StatusCode::ACCEPTED);
    reg.get("/v2/acme/app/manifests/v1")
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
    let r = reg.get(&format!("/v2/acme/app/manifests/{digest}")).await;
    assert_manifest(&r, &digest, &body, OCI_MANIFEST, false);
    let r = reg.get("/v2/acme/app/manifests/v2").await;
    assert_manifest(&r, &digest, &body, OCI_MANIFEST, false);
    assert_eq!(tags_of(&reg, "acme/app").await, serde_json::json!(["v2"]));
    reg.delete("/v2/acme/app/manifests/v1")
        .await
        .assert_error(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn nested_repositories_are_separate() {
    let reg = TestRegistry::new();
    let (outer, _) = reg.push_image("acme/app", "v1", "outer").await;
    let (inner, body) = reg.push_image("acme/app/release", "v1", "inner").await;
    assert_ne!(outer, inner);
    let r = reg.get("/v2/acme/app/release/manifests/v1").await;
    assert_manifest(&r, &inner, &body, OCI_MANIFEST, false);
    let r = reg.get("/v2/acme/app/manifests/v1").await;
    assert_eq!(r.header("docker-content-digest"), outer);
}

#[tokio::test]
async fn if_none_match_star_lists_and_weak_tags_are_304() {
    let reg = TestRegistry::new();
    let (digest, _) = reg.push_image("acme/app", "v1", "x").await;
    let list = format!("\"{}\", \"{digest}\"", sha256(b"other"));
    let weak = format!("W/\"{digest}\"");
    for value in ["*", list.as_str(), weak.as_str()] {
        let r = reg
            .request(
                Method::GET,
                "/v2/acme/app/manifests/v1",
                &[("if-none-match", value)],
                Body::empty(),
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_MODIFIED, "If-None-Match: {value}");
    }
}
