//! Outages and bad settings: readiness names the problem, requests answer 503
//! `UNAVAILABLE`, and nothing half-written ever becomes visible.

use std::time::Duration;

use crate::common::data;
use crate::common::minio::{Minio, bucket_name, free_addr};
use crate::common::{Berth, sha256, wait_until, with_digest};
use crate::{
    MIB, PROMPTLY, assert_blob, berth_on, config_on, finish, keys, multipart_uploads, patch,
    start_upload,
};

/// `/readyz`'s status and body.
fn readyz(berth: &Berth) -> (u16, String) {
    let r = reqwest::blocking::get(berth.url("/readyz")).unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// Asserts a 503 `UNAVAILABLE` whose message contains `why`.
#[track_caller]
fn assert_unavailable(status: u16, body: &str, why: &str) {
    assert_eq!(status, 503, "{body}");
    let json: serde_json::Value = serde_json::from_str(body).expect("an OCI error body");
    assert_eq!(json["errors"][0]["code"], "UNAVAILABLE", "{body}");
    let message = json["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(why), "{message:?} should name {why:?}");
}

/// A blocking request's status and body.
fn send(request: reqwest::blocking::RequestBuilder) -> (u16, String) {
    let r = request.send().unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

/// The registry's answers while its storage is broken in the way `why` names.
fn assert_broken(berth: &Berth, why: &str) {
    let client = berth.admin_blocking_client();
    wait_until("readiness to fail", PROMPTLY, || readyz(berth).0 == 503);
    let (_, body) = readyz(berth);
    assert!(body.contains(why), "readiness should name {why:?}: {body}");
    let (s, b) = send(client.get(berth.url("/v2/acme/app/manifests/latest")));
    assert_unavailable(s, &b, why);
    let blob = b"never stored";
    let (s, b) = send(
        client
            .post(berth.url(&format!(
                "/v2/acme/app/blobs/uploads/?digest={}",
                sha256(blob)
            )))
            .body(blob.to_vec()),
    );
    assert_unavailable(s, &b, why);
}

#[test]
fn wrong_credentials_fail_readiness_and_requests_naming_them() {
    let minio = Minio::shared();
    let bucket = bucket_name();
    // The bucket exists (made by a correctly configured registry) ...
    let good = berth_on(minio, &bucket, ("", "", ""));
    let config = config_on(minio, &bucket, ("", "", ""));
    let bad = Berth::start_config(&config, &[("AWS_SECRET_ACCESS_KEY", "not-the-secret")]);
    assert_broken(&bad, "refused the credentials");
    // ... and nothing the refused requests tried is there.
    let r = good
        .admin_blocking_client()
        .get(good.url(&format!("/v2/acme/app/blobs/{}", sha256(b"never stored"))))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[test]
fn a_missing_bucket_fails_readiness_and_requests_naming_it() {
    let minio = Minio::shared();
    // createBucket is off: the bucket is not made behind the operator's back.
    let config = Berth::config(&format!(
        "s3: {{bucket: nowhere, endpoint: '{}', pathStyle: true}}",
        minio.endpoint()
    ));
    let berth = Berth::start_config(&config, &[]);
    assert_broken(&berth, "\"nowhere\"");
    assert!(readyz(&berth).1.contains("does not exist"));
}

#[test]
fn an_unreachable_endpoint_fails_readiness_and_requests_naming_it() {
    let config = Berth::config(&format!(
        "s3: {{bucket: b, endpoint: 'http://{}', pathStyle: true}}",
        free_addr()
    ));
    let berth = Berth::start_config(&config, &[]);
    assert_broken(&berth, "cannot reach S3");
}

#[tokio::test(flavor = "multi_thread")]
async fn minio_stopped_mid_push_gives_retryable_errors_and_no_partial_blob() {
    let bucket = bucket_name();
    let (mut minio, berth) = {
        let bucket = bucket.clone();
        tokio::task::spawn_blocking(move || {
            let minio = Minio::start();
            let berth = berth_on(&minio, &bucket, ("", "", ""));
            (minio, berth)
        })
        .await
        .unwrap()
    };
    let client = berth.admin_client();
    let blob = data(30 * MIB, 4);
    let digest = sha256(&blob);
    let location = start_upload(&client, &berth, "acme/outage").await;
    let location = patch(&client, &berth, &location, 0, &blob[..20 * MIB]).await;

    minio.stop();
    // A small chunk, so the client has sent it all before the early answer arrives.
    let r = client
        .patch(berth.url(&location))
        .header("content-range", format!("{}-{}", 20 * MIB, 20 * MIB + 1023))
        .body(blob[20 * MIB..20 * MIB + 1024].to_vec())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    assert_unavailable(status, &r.text().await.unwrap(), "cannot reach S3");
    let r = client
        .put(berth.url(&with_digest(&location, &digest)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let small = b"pushed during the outage";
    let r = client
        .post(berth.url(&format!(
            "/v2/acme/outage/blobs/uploads/?digest={}",
            sha256(small)
        )))
        .body(small.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);

    let minio = tokio::task::spawn_blocking(move || {
        minio.resume();
        minio
    })
    .await
    .unwrap();
    // Nothing of either push is visible, in the API or in the bucket.
    for d in [&digest, &sha256(small)] {
        let r = client
            .head(berth.url(&format!("/v2/acme/outage/blobs/{d}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{d}");
    }
    assert_eq!(keys(&minio, &bucket, "blobs/").await, Vec::<String>::new());
    // The session resumes where the last acknowledged request left it.
    let r = client.get(berth.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["range"], format!("0-{}", 20 * MIB - 1).as_str());
    let location = patch(&client, &berth, &location, 20 * MIB, &blob[20 * MIB..]).await;
    finish(&client, &berth, &location, &blob).await;
    assert_blob(&client, &berth, "acme/outage", &blob).await;
    assert_eq!(
        keys(&minio, &bucket, "uploads/").await,
        Vec::<String>::new()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_session_aborts_its_multipart_upload() {
    let bucket = bucket_name();
    let (minio, berth) = {
        let bucket = bucket.clone();
        tokio::task::spawn_blocking(move || {
            let minio = Minio::shared();
            let spec = "  limits: {uploadTimeout: 10s}\n";
            (minio, berth_on(minio, &bucket, ("", "", spec)))
        })
        .await
        .unwrap()
    };
    let client = berth.admin_client();
    let location = start_upload(&client, &berth, "acme/abandoned").await;
    patch(&client, &berth, &location, 0, &data(20 * MIB, 5)).await;
    assert_eq!(multipart_uploads(minio, &bucket).await.len(), 1);
    assert!(!keys(minio, &bucket, "uploads/").await.is_empty());
    // Expired after 10 s, purged within 5 s more (the purge runs twice per timeout).
    let deadline = std::time::Instant::now() + PROMPTLY;
    while !multipart_uploads(minio, &bucket).await.is_empty()
        || !keys(minio, &bucket, "uploads/").await.is_empty()
    {
        assert!(std::time::Instant::now() < deadline, "never purged");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let r = client.get(berth.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
