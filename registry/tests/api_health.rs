//! `/livez`, `/readyz` and `/metrics`.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestRegistry, sha256};

/// The value of the sample whose line starts with `series` (name and labels).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn livez_and_readyz_are_200() {
    let reg = TestRegistry::new();
    for path in ["/livez", "/readyz"] {
        let r = reg.get(path).await;
        r.assert_status(StatusCode::OK);
        assert_eq!(r.text(), "ok\n", "{path}");
    }
}

#[tokio::test]
async fn readyz_is_503_when_storage_cannot_be_written() {
    let reg = TestRegistry::new();
    // Writability is probed in <data>/tmp; without it storage cannot publish anything.
    std::fs::remove_dir_all(reg.data().join("tmp")).unwrap();
    let r = reg.get("/readyz").await;
    r.assert_status(StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.text().starts_with("storage: "), "{}", r.text());
    // Liveness does not depend on storage.
    reg.get("/livez").await.assert_status(StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route_method_and_status() {
    let reg = TestRegistry::new();
    let data = vec![9u8; 1234];
    let digest = reg.push_blob("acme/app", &data).await;
    reg.get(&format!("/v2/acme/app/blobs/{digest}"))
        .await
        .assert_status(StatusCode::OK);
    reg.get(&format!("/v2/acme/app/blobs/{digest}"))
        .await
        .assert_status(StatusCode::OK);
    reg.head(&format!("/v2/acme/app/blobs/{}", sha256(b"no")))
        .await;
    reg.get("/v2/").await;
    reg.get("/v2/acme/none/tags/list").await;
    reg.get("/livez").await;

    let r = reg.get("/metrics").await;
    r.assert_status(StatusCode::OK);
    assert!(
        r.header("content-type")
            .starts_with("application/openmetrics-text")
    );
    let m = r.text();
    let counts = [
        (r#"route="blob",method="GET",status="200""#, 2.0),
        (r#"route="blob",method="HEAD",status="404""#, 1.0),
        (r#"route="upload",method="POST",status="201""#, 1.0),
        (r#"route="base",method="GET",status="200""#, 1.0),
        (r#"route="tags",method="GET",status="404""#, 1.0),
    ];
    for (labels, want) in counts {
        let got = sample(&m, &format!("berth_http_requests_total{{{labels}}}"));
        assert_eq!(got, Some(want), "{labels}: {m}");
    }
    // Probes are outside request metrics (and tracing): they would drown the rest.
    assert!(!m.contains(r#"route="health""#), "{m}");
    assert!(!m.contains(r#"route="metrics""#), "{m}");
    // Bytes in and out, by route: the upload received the blob, the GETs sent it twice.
    let received = sample(&m, r#"berth_http_request_bytes_total{route="upload"}"#);
    assert_eq!(received, Some(1234.0), "{m}");
    let sent = sample(&m, r#"berth_http_response_bytes_total{route="blob"}"#).unwrap();
    assert!(sent >= 2.0 * 1234.0, "{sent}: {m}");
    assert!(
        m.contains("berth_http_request_duration_seconds_bucket{"),
        "{m}"
    );
}

#[tokio::test]
async fn unknown_paths_are_counted_as_other() {
    let reg = TestRegistry::new();
    reg.get("/v2/nope").await;
    reg.request(Method::POST, "/nowhere", &[], axum::body::Body::empty())
        .await;
    let m = reg.get("/metrics").await.text();
    let other = sample(
        &m,
        r#"berth_http_requests_total{route="other",method="GET",status="404"}"#,
    );
    assert_eq!(other, Some(1.0), "{m}");
    let other = sample(
        &m,
        r#"berth_http_requests_total{route="other",method="POST",status="404"}"#,
    );
    assert_eq!(other, Some(1.0), "{m}");
}

#[tokio::test]
async fn readyz_lists_policy_problems_while_the_last_good_policy_stays() {
    let reg = TestRegistry::new();
    std::fs::write(reg.data().join("policy/broken.yaml"), "spec: [unclosed").unwrap();
    let listed = common::eventually(std::time::Duration::from_secs(2), || async {
        let r = reg.get("/readyz").await;
        r.status == StatusCode::OK
            && r.text().contains("policy problem: ")
            && r.text().contains("broken.yaml")
    })
    .await;
    assert!(listed, "{}", reg.get("/readyz").await.text());
}
