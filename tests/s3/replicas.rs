//! Two `berth` processes on one bucket: any request, including the next chunk of an
//! upload, may land on either.

use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::common::minio::{Minio, bucket_name};
use crate::common::podman::Podman;
use crate::common::proxy::RoundRobin;
use crate::common::{Berth, wait_until};
use crate::common::{body_channel, data};
use crate::{MIB, PROMPTLY, assert_blob, config_on, finish, patch, push_manifest, start_upload};

/// Two replicas sharing a fresh bucket and one state directory (as pods share the
/// operator's Secrets), with more `storage` fields for both.
fn replicas(storage: &str) -> (Berth, Berth) {
    let config = config_on(Minio::shared(), &bucket_name(), ("", storage, ""));
    let mut replicas = Berth::replicas(&config, 2);
    let b = replicas.pop().unwrap();
    let a = replicas.pop().unwrap();
    (a, b)
}

#[test]
fn podman_pushes_and_pulls_through_a_round_robin_proxy() {
    let (a, b) = replicas("");
    let proxy = RoundRobin::start(&[a.addr, b.addr]);
    let podman = Podman::new();
    let login = podman.try_login(&proxy.host(), "admin", a.token());
    assert!(login.status.success(), "{login:?}");
    let image = format!("{}/acme/app:v1", proxy.host());
    let source = "https://git.example.com/acme/app";
    podman.build(
        &image,
        "linux/amd64",
        // About 20 MiB compressed: more than one part.
        &hex::encode(data(20 * MIB, 1)),
        &[("org.opencontainers.image.source", source)],
    );
    let digest = podman.push(&image, &[]);
    podman.rmi_all();
    podman.pull(&image, &[]);
    assert_eq!(podman.inspect(&image, "{{.Digest}}"), digest);
    assert_eq!(
        podman.inspect(
            &image,
            "{{index .Labels \"org.opencontainers.image.source\"}}"
        ),
        source
    );
    let served = proxy.served();
    assert!(
        served.iter().all(|&n| n >= 3),
        "both replicas served the push and pull: {served:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunked_upload_alternates_between_replicas() {
    let (a, b) = tokio::task::spawn_blocking(|| replicas("")).await.unwrap();
    let client = a.admin_client();
    // 7 chunks of 5 MiB: parts of 16 MiB are cut across chunk boundaries, partly from
    // chunks another replica stored, and the last part is a remainder.
    let blob = data(35 * MIB, 2);
    let mut location = start_upload(&client, &a, "acme/chunked").await;
    for (i, chunk) in blob.chunks(5 * MIB).enumerate() {
        let replica = if i % 2 == 0 { &b } else { &a };
        location = patch(&client, replica, &location, i * 5 * MIB, chunk).await;
    }
    // Status on either replica agrees.
    for replica in [&a, &b] {
        let r = client.get(replica.url(&location)).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(
            r.headers()["range"],
            format!("0-{}", blob.len() - 1).as_str()
        );
    }
    finish(&client, &b, &location, &blob).await;
    for replica in [&a, &b] {
        assert_blob(&client, replica, "acme/chunked", &blob).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_mid_upload_is_finished_by_the_other() {
    let (mut a, b) = tokio::task::spawn_blocking(|| replicas("")).await.unwrap();
    let client = a.admin_client();
    let blob = data(40 * MIB, 3);
    let location = start_upload(&client, &a, "acme/killed").await;
    let location = patch(&client, &a, &location, 0, &blob[..20 * MIB]).await;

    // The second chunk streams into replica A, which dies half-way through it.
    let (tx, body) = body_channel();
    let request = client
        .patch(a.url(&location))
        .header("content-range", format!("{}-{}", 20 * MIB, blob.len() - 1))
        .header("content-length", 20 * MIB)
        .body(body)
        .send();
    let in_flight = tokio::spawn(request);
    for chunk in blob[20 * MIB..30 * MIB].chunks(256 * 1024) {
        tx.send(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    let received = |b: &Berth| b.counter("berth_http_request_bytes_total", r#"route="upload""#);
    tokio::task::spawn_blocking(move || {
        wait_until("replica A to receive the torn chunk", PROMPTLY, || {
            received(&a) > (25 * MIB) as f64
        });
        a.kill();
    })
    .await
    .unwrap();
    drop(tx);
    assert!(in_flight.await.unwrap().is_err(), "A died mid-request");

    // Replica B continues from the last completed request.
    let r = client.get(b.url(&location)).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(r.headers()["range"], format!("0-{}", 20 * MIB - 1).as_str());
    let location = patch(&client, &b, &location, 20 * MIB, &blob[20 * MIB..]).await;
    finish(&client, &b, &location, &blob).await;
    assert_blob(&client, &b, "acme/killed", &blob).await;
}

async fn tag_digest(client: &reqwest::Client, berth: &Berth, tag: &str) -> String {
    let r = client
        .head(berth.url(&format!("/v2/acme/tags/manifests/{tag}")))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_moved_tag_is_seen_at_once_by_its_writer_and_within_the_bound_elsewhere() {
    const BOUND: Duration = Duration::from_secs(1);
    let (a, b) = tokio::task::spawn_blocking(|| replicas("maxStaleness: 1s"))
        .await
        .unwrap();
    let client = a.admin_client();
    let v1 = push_manifest(&client, &a, "acme/tags", "latest", b"{\"v\":1}").await;
    // B reads (and caches) the tag, then A moves it.
    assert_eq!(tag_digest(&client, &b, "latest").await, v1);
    let cached_at = Instant::now();
    let v2 = push_manifest(&client, &a, "acme/tags", "latest", b"{\"v\":2}").await;
    assert_ne!(v1, v2);
    assert_eq!(
        tag_digest(&client, &a, "latest").await,
        v2,
        "no staleness on the writer"
    );
    let seen = tag_digest(&client, &b, "latest").await;
    // (Checked with a margin: the entry was filled just before `cached_at`.)
    if cached_at.elapsed() < BOUND / 2 {
        assert_eq!(seen, v1, "B answers from its cache within the bound");
    }
    loop {
        if tag_digest(&client, &b, "latest").await == v2 {
            break;
        }
        assert!(
            // The bound, plus slack for a loaded machine's scheduling.
            cached_at.elapsed() < BOUND + Duration::from_secs(1),
            "B still serves the old tag {:?} after it was cached",
            cached_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
