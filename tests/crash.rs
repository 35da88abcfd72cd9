//! Crash safety: `kill -9` in the middle of an upload, then a restart on the same data.

mod common;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use common::{Berth, body_channel, data, sha256, upload_id, wait_until, with_digest};

const MIB: usize = 1024 * 1024;

fn upload_data_len(data_dir: &Path, location: &str) -> u64 {
    let id = upload_id(location);
    std::fs::metadata(data_dir.join("uploads").join(id).join("data")).map_or(0, |m| m.len())
}

/// A client that signs every request in as the bootstrap admin (the token outlives
/// restarts: it is stored in the data dir).
fn client_for(berth: &Berth) -> reqwest::Client {
    use base64::Engine as _;
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{}", berth.token()));
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Basic {basic}").parse().unwrap());
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

async fn start_upload(client: &reqwest::Client, berth: &Berth) -> String {
    let resp = client
        .post(berth.url("/v2/acme/crash/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    resp.headers()["location"].to_str().unwrap().to_owned()
}

/// Sends `prefix` of a `declared`-byte body, waits until the server has written part of
/// it to disk, then kills the server mid-request.
async fn kill_mid_request(
    berth: &mut Berth,
    request: reqwest::RequestBuilder,
    declared: usize,
    prefix: &[u8],
    location: &str,
    on_disk_before: u64,
) {
    let (tx, body) = body_channel();
    let request = request.header("content-length", declared).body(body).send();
    let in_flight = tokio::spawn(request);
    for chunk in prefix.chunks(256 * 1024) {
        tx.send(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    let dir = berth.data_dir.clone();
    tokio::task::spawn_blocking({
        let location = location.to_owned();
        move || {
            wait_until(
                "the torn write to reach the disk",
                Duration::from_secs(20),
                || upload_data_len(&dir, &location) > on_disk_before,
            )
        }
    })
    .await
    .unwrap();
    berth.kill();
    drop(tx);
    let result = in_flight.await.unwrap();
    assert!(
        result.is_err(),
        "the request completed although the server was killed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_mid_chunk_then_restart_resumes_from_the_last_complete_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let blob = data(5 * MIB, 0);
    let digest = sha256(&blob);
    let mut berth = Berth::start_in(dir.path(), &[]);
    let client = client_for(&berth);
    let location = start_upload(&client, &berth).await;
    let resp = client
        .patch(berth.url(&location))
        .header("content-range", format!("0-{}", MIB - 1))
        .body(blob[..MIB].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);

    let second = client
        .patch(berth.url(&location))
        .header("content-range", format!("{MIB}-{}", 5 * MIB - 1));
    kill_mid_request(
        &mut berth,
        second,
        4 * MIB,
        &blob[MIB..4 * MIB],
        &location,
        MIB as u64,
    )
    .await;

    let berth = Berth::start_in(dir.path(), &[]);
    let status = client.get(berth.url(&location)).send().await.unwrap();
    assert_eq!(status.status(), 204);
    assert_eq!(status.headers()["range"], format!("0-{}", MIB - 1).as_str());

    let resp = client
        .patch(berth.url(&location))
        .header("content-range", format!("{MIB}-{}", 5 * MIB - 1))
        .body(blob[MIB..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(
        resp.headers()["range"],
        format!("0-{}", 5 * MIB - 1).as_str()
    );
    let resp = client
        .put(berth.url(&with_digest(&location, &digest)))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);

    let got = client
        .get(berth.url(&format!("/v2/acme/crash/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    let got = got.bytes().await.unwrap();
    assert_eq!(sha256(&got), digest);
    assert_eq!(got.len(), blob.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_torn_monolithic_upload_leaves_no_visible_blob() {
    let dir = tempfile::tempdir().unwrap();
    let blob = data(4 * MIB, 0);
    let digest = sha256(&blob);
    let mut berth = Berth::start_in(dir.path(), &[]);
    let client = client_for(&berth);
    let location = start_upload(&client, &berth).await;
    let put = client.put(berth.url(&with_digest(&location, &digest)));
    kill_mid_request(&mut berth, put, blob.len(), &blob[..3 * MIB], &location, 0).await;

    let berth = Berth::start_in(dir.path(), &[]);
    let head = client
        .head(berth.url(&format!("/v2/acme/crash/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 404);
    let hex = digest.trim_start_matches("sha256:");
    assert!(
        !dir.path()
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .exists()
    );
    // The session survived with none of the torn bytes counted.
    let status = client.get(berth.url(&location)).send().await.unwrap();
    assert_eq!(status.status(), 204);
    assert_eq!(status.headers()["range"], "0-0");
    // And it can still be finished.
    let resp = client
        .put(berth.url(&with_digest(&location, &digest)))
        .body(blob.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}
