//! Signing in: the challenge, `GET`/`POST /token`, registry tokens on requests, and
//! credentials that must be refused (never with a 500, never as anonymous).

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use common::{TestRegistry, basic, eventually};

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A registry token from `GET /token` with these credentials.
async fn token(reg: &TestRegistry, authorization: Option<&str>) -> String {
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| ("authorization", a))
        .into_iter()
        .collect();
    let r = reg
        .anonymous()
        .request(
            Method::GET,
            "/token?service=test&scope=repository:acme/app:pull,push",
            &headers,
            Body::empty(),
        )
        .await;
    r.assert_status(StatusCode::OK);
    let body = r.json();
    assert_eq!(body["token"], body["access_token"]);
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert!(body["issued_at"].is_string());
    body["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn anonymous_base_is_challenged_with_the_token_realm() {
    let reg = TestRegistry::new();
    let r = reg
        .anonymous()
        .request(
            Method::GET,
            "/v2/",
            &[("host", "reg.example:5000")],
            Body::empty(),
        )
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(
        r.header("www-authenticate"),
        r#"Bearer realm="http://reg.example:5000/token",service="reg.example:5000""#
    );
    // Behind a TLS ingress the realm is https.
    let r = reg
        .anonymous()
        .request(
            Method::GET,
            "/v2/",
            &[("host", "reg.example"), ("x-forwarded-proto", "https")],
            Body::empty(),
        )
        .await;
    assert!(
        r.header("www-authenticate")
            .starts_with(r#"Bearer realm="https://reg.example/token""#)
    );
}

#[tokio::test]
async fn a_repository_request_names_its_scope_in_the_challenge() {
    let reg = TestRegistry::new();
    let anon = reg.anonymous();
    let pull = anon.get("/v2/acme/app/manifests/latest").await;
    pull.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert!(
        pull.header("www-authenticate")
            .ends_with(r#"scope="repository:acme/app:pull""#)
    );
    let push = anon.try_start_upload("acme/app").await;
    assert!(
        push.header("www-authenticate")
            .ends_with(r#"scope="repository:acme/app:pull,push""#)
    );
}

#[tokio::test]
async fn tokens_for_pats_anonymous_and_bearer_requests() {
    let reg = TestRegistry::new();
    let pat = reg.pat("alice", "write:packages", None);
    let t = token(&reg, Some(&basic("alice", &pat))).await;
    // The registry token works on requests, and /v2/ answers it.
    let as_alice = reg.with_authorization(Some(bearer(&t)));
    as_alice.get("/v2/").await.assert_status(StatusCode::OK);
    let digest = as_alice.push_blob("alice/app", b"by alice").await;
    as_alice
        .get(&format!("/v2/alice/app/blobs/{digest}"))
        .await
        .assert_status(StatusCode::OK);
    // An anonymous token is a token: /v2/ answers it, repositories decide for themselves.
    let anon = token(&reg, None).await;
    reg.with_authorization(Some(bearer(&anon)))
        .get("/v2/")
        .await
        .assert_status(StatusCode::OK);
    // Basic credentials work directly on registry requests too.
    reg.with_authorization(Some(basic("alice", &pat)))
        .get("/v2/")
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn post_token_accepts_the_password_grant() {
    let reg = TestRegistry::new();
    let pat = reg.pat("alice", "read:packages", None);
    let form = format!(
        "grant_type=password&username=alice&password={pat}&service=test&scope=repository%3Aalice%2Fapp%3Apull&client_id=containerd"
    );
    let headers = [("content-type", "application/x-www-form-urlencoded")];
    let r = reg
        .anonymous()
        .request(Method::POST, "/token", &headers, form)
        .await;
    r.assert_status(StatusCode::OK);
    assert!(r.json()["access_token"].is_string());
    let refresh = "grant_type=refresh_token&refresh_token=x&service=test";
    let r = reg
        .anonymous()
        .request(Method::POST, "/token", &headers, refresh)
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "UNSUPPORTED");
    let wrong = "grant_type=password&username=alice&password=bpat_nope";
    let r = reg
        .anonymous()
        .request(Method::POST, "/token", &headers, wrong)
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
}

#[tokio::test]
async fn bad_credentials_are_refused_never_treated_as_anonymous() {
    let reg = TestRegistry::new();
    let pat = reg.pat("alice", "read:packages", None);
    let mut broken = pat.clone();
    broken.replace_range(8..9, if &pat[8..9] == "A" { "B" } else { "A" });
    let cases = [
        basic("alice", "bpat_doesnotexist"),
        basic("alice", &broken),
        basic("alice", "hunter2"),
        basic("alice", "a.b.c"),
        "Basic !!!notbase64".to_owned(),
        "Digest username=alice".to_owned(),
        bearer("not-a-jwt"),
        bearer("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9."),
    ];
    for auth in &cases {
        let r = reg
            .anonymous()
            .request(
                Method::GET,
                "/token",
                &[("authorization", auth.as_str())],
                Body::empty(),
            )
            .await;
        r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        let r = reg.with_authorization(Some(auth.clone())).get("/v2/").await;
        r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    }
}

#[tokio::test]
async fn malformed_scopes_are_a_400() {
    let reg = TestRegistry::new();
    for scope in [
        "repository",
        "repository:acme%2Fapp",
        "repository::pull",
        "%3Aa%3Ab",
    ] {
        let r = reg
            .anonymous()
            .get(&format!("/token?service=x&scope={scope}"))
            .await;
        r.assert_error(StatusCode::BAD_REQUEST, "UNSUPPORTED");
    }
    // Other resource types are valid and grant nothing here.
    reg.anonymous()
        .get("/token?service=x&scope=registry:catalog:*")
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn revoking_a_pat_stops_its_registry_tokens_at_once() {
    let reg = TestRegistry::new();
    let pat = reg.pat("alice", "write:packages", None);
    let t = token(&reg, Some(&basic("alice", &pat))).await;
    let as_alice = reg.with_authorization(Some(bearer(&t)));
    as_alice.get("/v2/").await.assert_status(StatusCode::OK);
    let store = berth_registry::auth::store::TokenDir::new(reg.data());
    let id = store
        .list()
        .unwrap()
        .into_iter()
        .find(|r| r.user == "alice")
        .unwrap()
        .id;
    assert!(store.revoke(&id).unwrap());
    // The token directory is watched: no reload call here.
    let refused = eventually(Duration::from_secs(2), || async {
        as_alice.get("/v2/").await.status == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(refused, "the revoked PAT's token still works after 2 s");
}

#[tokio::test]
async fn expired_pats_are_refused() {
    let reg = TestRegistry::new();
    let pat = reg.pat("alice", "read:packages", Some(Duration::from_millis(300)));
    reg.with_authorization(Some(basic("alice", &pat)))
        .get("/v2/")
        .await
        .assert_status(StatusCode::OK);
    let expired = eventually(Duration::from_secs(3), || async {
        reg.with_authorization(Some(basic("alice", &pat)))
            .get("/v2/")
            .await
            .status
            == StatusCode::UNAUTHORIZED
    })
    .await;
    assert!(expired);
    let r = reg
        .with_authorization(Some(basic("alice", &pat)))
        .get("/token")
        .await;
    assert!(r.text().contains("expired"), "{}", r.text());
}

/// The router-level check: a changed claim, the genuine claims unsigned (`alg: none`)
/// and another registry's token, at `/v2/`. `tests/auth/tokens.rs` has the binary's
/// fuller case (a private manifest, renewal at `/token`, another key, skopeo).
#[tokio::test]
async fn tampered_registry_tokens_are_refused_at_the_base_endpoint() {
    let reg = TestRegistry::new();
    let pat = reg.pat("eve", "read:packages", None);
    let t = token(&reg, Some(&basic("eve", &pat))).await;
    let parts: Vec<&str> = t.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims: serde_json::Value =
        serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["berth"]["subject"]["name"] = "admin".into();
    claims["sub"] = "admin".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(claims.to_string()),
        parts[2]
    );
    let none = format!(
        "{}.{}.",
        b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    let other = TestRegistry::new();
    let other_pat = other.pat("eve", "read:packages", None);
    let foreign = token(&other, Some(&basic("eve", &other_pat))).await;
    for bad in [forged, none, foreign] {
        let r = reg.with_authorization(Some(bearer(&bad))).get("/v2/").await;
        r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    }
    reg.with_authorization(Some(bearer(&t)))
        .get("/v2/")
        .await
        .assert_status(StatusCode::OK);
}

#[tokio::test]
async fn oversize_and_strange_headers_never_500() {
    let reg = TestRegistry::new();
    let huge = format!("Bearer {}", "a".repeat(100 * 1024));
    let r = reg
        .with_authorization(Some(huge))
        .get("/v2/acme/app/manifests/v1")
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let r = reg
        .with_authorization(Some("Bearer".to_owned()))
        .get("/v2/")
        .await;
    r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
}

#[tokio::test]
async fn post_token_without_a_grant_honours_the_authorization_header() {
    let reg = TestRegistry::new();
    let post = |auth: String| {
        let reg = reg.anonymous();
        async move {
            let headers = [
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", auth.as_str()),
            ];
            reg.request(Method::POST, "/token", &headers, "service=x")
                .await
        }
    };
    post(basic("admin", "bpat_nope"))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    let pat = reg.pat("alice", "read:packages", None);
    let r = post(basic("alice", &pat)).await;
    r.assert_status(StatusCode::OK);
    let t = r.json()["access_token"].as_str().unwrap().to_owned();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["sub"], "alice");
}

#[tokio::test]
async fn a_pat_made_a_moment_ago_signs_in_at_once() {
    let reg = TestRegistry::new();
    // Made on disk the way `berth token create` does, without telling the registry.
    let store = berth_registry::auth::store::TokenDir::new(reg.data());
    let (_, pat) = store
        .create("alice", berth_registry::auth::identity::Scopes::ALL, None)
        .unwrap();
    reg.with_authorization(Some(basic("alice", &pat)))
        .get("/v2/")
        .await
        .assert_status(StatusCode::OK);
}
