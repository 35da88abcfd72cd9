//! `GET|HEAD|DELETE /v2/<name>/blobs/<digest>`: headers, ranges and errors.

mod common;

use axum::http::{Method, StatusCode};
use common::{OCI_MANIFEST, TestRegistry, sha256, sha512};

/// 100 distinct-enough bytes, so every range has its own content.
fn hundred_bytes() -> Vec<u8> {
    (0..100u8).collect()
}

async fn get_range(reg: &TestRegistry, uri: &str, range: &str) -> common::Resp {
    reg.request(
        Method::GET,
        uri,
        &[("range", range)],
        axum::body::Body::empty(),
    )
    .await
}

#[tokio::test]
async fn get_serves_the_bytes_with_safe_headers() {
    let reg = TestRegistry::new();
    let data = hundred_bytes();
    let digest = reg.push_blob("acme/app", &data).await;
    let r = reg.get(&format!("/v2/acme/app/blobs/{digest}")).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(&r.body[..], &data[..]);
    assert_eq!(r.header("content-length"), "100");
    assert_eq!(r.header("docker-content-digest"), digest);
    assert_eq!(r.header("etag"), format!("\"{digest}\""));
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    assert_eq!(r.header("content-security-policy"), "sandbox");
    assert_eq!(r.header("accept-ranges"), "bytes");
    assert_eq!(r.header("content-type"), "application/octet-stream");
}

#[tokio::test]
async fn head_has_the_full_length_and_no_body() {
    let reg = TestRegistry::new();
    let digest = reg.push_blob("acme/app", &hundred_bytes()).await;
    let r = reg.head(&format!("/v2/acme/app/blobs/{digest}")).await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), "100");
    assert_eq!(r.header("docker-content-digest"), digest);
    assert_eq!(r.header("etag"), format!("\"{digest}\""));
    assert_eq!(r.header("x-content-type-options"), "nosniff");
    assert_eq!(r.header("content-security-policy"), "sandbox");
}

#[tokio::test]
async fn ranges_answer_206_with_content_range() {
    let reg = TestRegistry::new();
    let data = hundred_bytes();
    let digest = reg.push_blob("acme/app", &data).await;
    let uri = format!("/v2/acme/app/blobs/{digest}");
    let cases = [
        ("bytes=0-9", 0..10, "bytes 0-9/100"),
        ("bytes=10-19", 10..20, "bytes 10-19/100"),
        ("bytes=90-", 90..100, "bytes 90-99/100"),
        ("bytes=-10", 90..100, "bytes 90-99/100"),
        ("bytes=-500", 0..100, "bytes 0-99/100"),
        ("bytes=95-200", 95..100, "bytes 95-99/100"),
        ("bytes=99-99", 99..100, "bytes 99-99/100"),
    ];
    for (range, want, content_range) in cases {
        let r = get_range(&reg, &uri, range).await;
        assert_eq!(r.status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(&r.body[..], &data[want.clone()], "{range}");
        assert_eq!(r.header("content-range"), content_range, "{range}");
        assert_eq!(
            r.header("content-length"),
            want.len().to_string(),
            "{range}"
        );
        assert_eq!(r.header("docker-content-digest"), digest, "{range}");
    }
}

#[tokio::test]
async fn unsatisfiable_ranges_answer_416_with_the_length() {
    let reg = TestRegistry::new();
    let digest = reg.push_blob("acme/app", &hundred_bytes()).await;
    let uri = format!("/v2/acme/app/blobs/{digest}");
    for range in [
        "bytes=100-",
        "bytes=100-200",
        "bytes=500-0",
        "bytes=9-1",
        "bytes=-0",
    ] {
        let r = get_range(&reg, &uri, range).await;
        assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(r.header("content-range"), "bytes */100", "{range}");
        assert!(r.json()["errors"][0]["code"].is_string(), "{range}");
    }
}

#[tokio::test]
async fn unusable_range_headers_serve_the_whole_blob() {
    let reg = TestRegistry::new();
    let data = hundred_bytes();
    let digest = reg.push_blob("acme/app", &data).await;
    let uri = format!("/v2/acme/app/blobs/{digest}");
    for range in ["items=0-9", "bytes=0-1,5-6", "bytes=a-9", "bytes=-"] {
        let r = get_range(&reg, &uri, range).await;
        assert_eq!(r.status, StatusCode::OK, "{range}");
        assert_eq!(&r.body[..], &data[..], "{range}");
        assert!(!r.has_header("content-range"), "{range}");
    }
}

#[tokio::test]
async fn an_unknown_blob_is_404_blob_unknown() {
    let reg = TestRegistry::new();
    reg.push_blob("acme/app", b"something").await;
    let uri = format!("/v2/acme/app/blobs/{}", sha256(b"never pushed"));
    reg.get(&uri)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    let r = reg.head(&uri).await;
    r.assert_status(StatusCode::NOT_FOUND);
    assert!(r.body.is_empty(), "HEAD carries no body");
    let uri = format!("/v2/nobody/here/blobs/{}", sha256(b"x"));
    reg.get(&uri)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn a_blob_in_one_repository_is_unknown_in_another() {
    let reg = TestRegistry::new();
    let digest = reg.push_blob("acme/a", b"private bytes").await;
    reg.get(&format!("/v2/acme/a/blobs/{digest}"))
        .await
        .assert_status(StatusCode::OK);
    for other in ["acme/b", "other/a", "acme/a/sub"] {
        let uri = format!("/v2/{other}/blobs/{digest}");
        reg.get(&uri)
            .await
            .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
        reg.head(&uri).await.assert_status(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn delete_unlinks_then_404() {
    let reg = TestRegistry::new();
    let digest = reg.push_blob("acme/app", b"doomed").await;
    let kept = reg.push_blob("acme/other", b"doomed").await;
    let uri = format!("/v2/acme/app/blobs/{digest}");
    let r = reg.delete(&uri).await;
    r.assert_status(StatusCode::ACCEPTED);
    reg.get(&uri)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    reg.head(&uri).await.assert_status(StatusCode::NOT_FOUND);
    reg.delete(&uri)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    // Another repository linking the same bytes still has them.
    let r = reg.get(&format!("/v2/acme/other/blobs/{kept}")).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(&r.body[..], b"doomed");
    // And the blob can be pushed again.
    reg.push_blob("acme/app", b"doomed").await;
    reg.get(&uri).await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn bad_digests_are_400_digest_invalid() {
    let reg = TestRegistry::new();
    let short = "sha256:abc".to_owned();
    let upper = format!("sha256:{}", sha256(b"x")[7..].to_uppercase());
    let cases = [
        "sha256:baddigeststring".to_owned(),
        short,
        upper,
        "nocolon".to_owned(),
        "sha256:".to_owned(),
        "md5:d41d8cd98f00b204e9800998ecf8427e".to_owned(),
        "sha384:00".to_owned(),
    ];
    for digest in &cases {
        for method in [Method::GET, Method::DELETE] {
            let uri = format!("/v2/acme/app/blobs/{digest}");
            let r = reg
                .request(method.clone(), &uri, &[], axum::body::Body::empty())
                .await;
            r.assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
        }
    }
}

#[tokio::test]
async fn an_unsupported_algorithm_is_named() {
    let reg = TestRegistry::new();
    let uri = "/v2/acme/app/blobs/md5:d41d8cd98f00b204e9800998ecf8427e";
    let m = reg
        .get(uri)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    assert!(m.contains("md5") && m.contains("not supported"), "{m}");
}

#[tokio::test]
async fn sha512_blobs_are_served() {
    let reg = TestRegistry::new();
    let data = b"sha512 content";
    let digest = sha512(data);
    let uri = format!("/v2/acme/app/blobs/uploads/?digest={digest}");
    reg.send_bytes(Method::POST, &uri, &[], data)
        .await
        .assert_status(StatusCode::CREATED);
    let r = reg.get(&format!("/v2/acme/app/blobs/{digest}")).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(&r.body[..], data);
    assert_eq!(r.header("docker-content-digest"), digest);
}

#[tokio::test]
async fn an_empty_blob_is_served_with_zero_length() {
    let reg = TestRegistry::new();
    let digest = reg.push_blob("acme/app", b"").await;
    assert_eq!(digest, sha256(b""));
    let uri = format!("/v2/acme/app/blobs/{digest}");
    let r = reg.get(&uri).await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), "0");
    let r = get_range(&reg, &uri, "bytes=0-").await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.header("content-range"), "bytes */0");
}

#[tokio::test]
async fn a_manifest_is_readable_as_a_blob_of_its_repository() {
    let reg = TestRegistry::new();
    let (digest, body) = reg.push_image("acme/app", "v1", "m").await;
    let r = reg.get(&format!("/v2/acme/app/blobs/{digest}")).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(&r.body[..], &body[..]);
    reg.get(&format!("/v2/acme/other/blobs/{digest}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    // A blob DELETE unlinks layers only: the manifest stays.
    let r = reg.delete(&format!("/v2/acme/app/blobs/{digest}")).await;
    assert!(!r.status.is_server_error(), "{}", r.status);
    let r = reg.get(&format!("/v2/acme/app/manifests/{digest}")).await;
    r.assert_status(StatusCode::OK);
    assert_eq!(r.header("content-type"), OCI_MANIFEST);
}
