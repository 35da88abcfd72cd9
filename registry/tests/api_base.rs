//! `GET /v2/`, the API version header, unknown endpoints, unsupported methods, and
//! repository names, across every endpoint family.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{TestRegistry, sha256};

const API_VERSION: &str = "docker-distribution-api-version";

#[tokio::test]
async fn base_answers_200_with_the_api_version() {
    let reg = TestRegistry::new();
    for path in ["/v2/", "/v2"] {
        let r = reg.get(path).await;
        r.assert_status(StatusCode::OK);
        assert_eq!(r.header(API_VERSION), "registry/2.0", "{path}");
        assert_eq!(r.json(), serde_json::json!({}), "{path}");
    }
}

#[tokio::test]
async fn every_v2_response_carries_the_api_version_errors_included() {
    let reg = TestRegistry::new();
    let digest = reg.push_blob("acme/app", b"x").await;
    let paths = [
        format!("/v2/acme/app/blobs/{digest}"),
        "/v2/acme/app/manifests/missing".to_owned(),
        "/v2/acme/app/tags/list".to_owned(),
        "/v2/nope".to_owned(),
        "/v2/Acme/app/tags/list".to_owned(),
    ];
    for path in &paths {
        let r = reg.get(path).await;
        assert_eq!(
            r.header(API_VERSION),
            "registry/2.0",
            "{path}: {}",
            r.status
        );
    }
    let r = reg
        .request(Method::POST, "/v2/acme/app/tags/list", &[], Body::empty())
        .await;
    assert_eq!(r.header(API_VERSION), "registry/2.0");
}

#[tokio::test]
async fn unknown_v2_paths_are_404_with_the_error_json() {
    let reg = TestRegistry::new();
    for path in [
        "/v2/nope",
        "/v2/acme/app",
        "/v2/acme/app/unknown/x",
        "/v2/acme/app/manifests/",
        "/v2/manifests/latest",
        "/v2/acme/app/blobs/uploads/../../x",
    ] {
        let r = reg.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        let body = r.json();
        let e = &body["errors"][0];
        assert!(
            e["code"].is_string() && e["message"].is_string(),
            "{path}: {body}"
        );
        assert!(e.get("detail").is_some(), "{path}: {body}");
    }
}

#[tokio::test]
async fn paths_outside_the_api_are_404() {
    let reg = TestRegistry::new();
    let r = reg.get("/nope").await;
    r.assert_status(StatusCode::NOT_FOUND);
    assert!(!r.has_header(API_VERSION));
}

#[tokio::test]
async fn unsupported_methods_are_405_unsupported() {
    let reg = TestRegistry::new();
    let digest = sha256(b"x");
    let id = "3f7c2a7e-7a4d-4a55-9d4b-1e0c6f0e2b11";
    let cases = [
        (Method::POST, "/v2/acme/app/manifests/latest".to_owned()),
        (Method::PATCH, "/v2/acme/app/manifests/latest".to_owned()),
        (Method::PUT, format!("/v2/acme/app/blobs/{digest}")),
        (Method::POST, format!("/v2/acme/app/blobs/{digest}")),
        (Method::DELETE, "/v2/acme/app/tags/list".to_owned()),
        (Method::PUT, "/v2/acme/app/tags/list".to_owned()),
        (Method::POST, format!("/v2/acme/app/referrers/{digest}")),
        (Method::DELETE, format!("/v2/acme/app/referrers/{digest}")),
        (Method::GET, "/v2/acme/app/blobs/uploads/".to_owned()),
        (Method::PATCH, "/v2/acme/app/blobs/uploads/".to_owned()),
        (Method::POST, format!("/v2/acme/app/blobs/uploads/{id}")),
    ];
    for (method, path) in cases {
        let r = reg.request(method.clone(), &path, &[], Body::empty()).await;
        let message = r.assert_error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED");
        assert!(
            message.contains(method.as_str()),
            "{method} {path}: {message}"
        );
    }
}

#[tokio::test]
async fn bad_names_are_400_name_invalid_on_every_endpoint() {
    let reg = TestRegistry::new();
    let digest = sha256(b"x");
    let long = format!("acme/{}", "a".repeat(251));
    assert_eq!(long.len(), 256);
    for name in [
        "Acme/app",
        "acme/App",
        "app",
        "acme/-app",
        "acme/app_",
        "acme/a___b",
        long.as_str(),
    ] {
        let paths = [
            format!("/v2/{name}/tags/list"),
            format!("/v2/{name}/manifests/latest"),
            format!("/v2/{name}/blobs/{digest}"),
            format!("/v2/{name}/referrers/{digest}"),
        ];
        for path in &paths {
            reg.get(path)
                .await
                .assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
        }
        let r = reg
            .request(
                Method::POST,
                &format!("/v2/{name}/blobs/uploads/"),
                &[],
                Body::empty(),
            )
            .await;
        r.assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
    }
    // Nothing was created for any of them.
    assert!(reg.upload_dirs().is_empty());
}

#[tokio::test]
async fn names_say_why_they_are_refused() {
    let reg = TestRegistry::new();
    let m = reg
        .get("/v2/app/tags/list")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
    assert!(m.contains("OWNER/IMAGE"), "{m}");
    let long = format!("acme/{}", "a".repeat(251));
    let m = reg
        .get(&format!("/v2/{long}/tags/list"))
        .await
        .assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
    assert!(m.contains("255"), "{m}");
}

#[tokio::test]
async fn the_longest_valid_name_works() {
    let reg = TestRegistry::new();
    let name = format!("acme/{}", "a".repeat(250));
    assert_eq!(name.len(), 255);
    let digest = reg.push_blob(&name, b"long").await;
    reg.get(&format!("/v2/{name}/blobs/{digest}"))
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn an_encoded_digest_works_and_an_encoded_slash_never_joins_a_name() {
    let reg = TestRegistry::new();
    let digest = reg.push_blob("acme/app", b"enc").await;
    let r = reg
        .get(&format!(
            "/v2/acme/app/blobs/{}",
            digest.replace(':', "%3A")
        ))
        .await;
    r.assert_status(StatusCode::OK);
    assert_eq!(&r.body[..], b"enc");
    for trick in ["acme%2Fapp", "acme/%2e%2e/app", "acme%2fapp"] {
        reg.get(&format!("/v2/{trick}/blobs/{digest}"))
            .await
            .assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
    }
}

#[tokio::test]
async fn base_supports_only_get_and_head() {
    let reg = TestRegistry::new();
    for path in ["/v2/", "/v2"] {
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let r = reg.request(method.clone(), path, &[], Body::empty()).await;
            r.assert_error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED");
            assert_eq!(r.header("allow"), "GET, HEAD", "{method} {path}");
        }
        reg.request(Method::HEAD, path, &[], Body::empty())
            .await
            .assert_status(StatusCode::OK);
    }
}

#[tokio::test]
async fn a_405_names_the_allowed_methods() {
    let reg = TestRegistry::new();
    let cases = [
        (
            Method::POST,
            "/v2/acme/app/manifests/v1",
            "GET, HEAD, PUT, DELETE",
        ),
        (Method::PUT, "/v2/acme/app/blobs/uploads/", "POST"),
        (Method::POST, "/v2/acme/app/tags/list", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let r = reg.request(method.clone(), path, &[], Body::empty()).await;
        r.assert_error(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED");
        assert_eq!(r.header("allow"), allow, "{method} {path}");
    }
}
