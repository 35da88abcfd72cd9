//! Subdomain isolation: images on `containers.HOST`, pages on `HOST`, health anywhere.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use berth_registry::hosts::Hosts;
use common::TestRegistry;

async fn on(reg: &TestRegistry, host: &str, path: &str) -> common::Resp {
    reg.request(Method::GET, path, &[("host", host)], Body::empty())
        .await
}

#[tokio::test]
async fn each_host_serves_only_its_own_paths() {
    let reg = TestRegistry::with_config(|c| c.hosts = Some(Hosts::split("example.test", None)));
    let anon = reg.anonymous();
    let r = on(&anon, "containers.example.test", "/v2/").await;
    r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert!(r.header("www-authenticate").starts_with(
        r#"Bearer realm="http://containers.example.test/token",service="containers.example.test""#
    ));
    on(&anon, "containers.example.test:443", "/token")
        .await
        .assert_status(StatusCode::OK);
    on(&anon, "example.test", "/")
        .await
        .assert_status(StatusCode::OK);

    for (host, path) in [
        ("example.test", "/v2/"),
        ("example.test", "/v2/acme/app/manifests/v1"),
        ("example.test", "/token"),
        ("containers.example.test", "/"),
        ("elsewhere.test", "/v2/"),
        ("elsewhere.test", "/"),
    ] {
        let r = on(&anon, host, path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{host}{path}");
    }
    for host in ["example.test", "containers.example.test", "10.0.0.7:5000"] {
        on(&anon, host, "/livez")
            .await
            .assert_status(StatusCode::OK);
        on(&anon, host, "/readyz")
            .await
            .assert_status(StatusCode::OK);
    }
    // The site's pages mention where images live.
    assert!(
        on(&anon, "example.test", "/")
            .await
            .text()
            .contains("containers.example.test")
    );
}

#[tokio::test]
async fn a_separate_containers_host_can_be_named() {
    let reg = TestRegistry::with_config(|c| {
        c.hosts = Some(Hosts::split("example.test", Some("cr.example.net")))
    });
    let r = on(&reg.anonymous(), "cr.example.net", "/v2/").await;
    r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    assert_eq!(
        on(&reg.anonymous(), "containers.example.test", "/v2/")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_realm_keeps_the_port_the_client_used() {
    let reg =
        TestRegistry::with_config(|c| c.hosts = Some(Hosts::split("localhost", Some("127.0.0.1"))));
    let r = on(&reg.anonymous(), "127.0.0.1:5123", "/v2/").await;
    assert!(
        r.header("www-authenticate")
            .starts_with(r#"Bearer realm="http://127.0.0.1:5123/token",service="127.0.0.1:5123""#),
        "{}",
        r.header("www-authenticate")
    );
}
