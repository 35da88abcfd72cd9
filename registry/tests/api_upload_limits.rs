//! Upload limits and lifetimes: the layer size limit (declared and streamed), session
//! expiry and purging, and what a failed or aborted request leaves in storage.

mod common;

use std::cell::Cell;
use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use berth_registry::config::Limits;
use bytes::Bytes;
use common::{TestRegistry, eventually, sha256, with_digest};

const LIMIT: u64 = 1000;

fn small_layers() -> TestRegistry {
    TestRegistry::with_limits(Limits {
        max_layer_bytes: LIMIT,
        ..Limits::default()
    })
}

fn short_sessions() -> TestRegistry {
    TestRegistry::with_limits(Limits {
        upload_timeout: Duration::from_secs(1),
        ..Limits::default()
    })
}

/// A body of `chunks` × `size` bytes, with no declared length (chunked encoding).
fn chunked(chunks: usize, size: usize) -> Body {
    let items = (0..chunks).map(move |_| Ok::<_, io::Error>(Bytes::from(vec![7u8; size])));
    Body::from_stream(futures_util::stream::iter(items.collect::<Vec<_>>()))
}

/// A body that sends `good` and then fails, as a client that goes away mid-request.
fn aborted(good: &'static [u8]) -> Body {
    let items = vec![
        Ok(Bytes::from_static(good)),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ];
    Body::from_stream(futures_util::stream::iter(items))
}

async fn range_of(reg: &TestRegistry, location: &str) -> String {
    let r = reg.get(location).await;
    r.assert_status(StatusCode::NO_CONTENT);
    r.header("range").to_owned()
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_up_front() {
    let reg = small_layers();
    let location = reg.start_upload("acme/app").await;
    let too_long = (LIMIT + 1).to_string();
    // The body is never read: its declared length alone is refused.
    let r = reg
        .request(
            Method::PATCH,
            &location,
            &[("content-length", &too_long)],
            &b"tiny"[..],
        )
        .await;
    let m = r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    assert!(m.contains(&LIMIT.to_string()), "{m}");
    assert_eq!(range_of(&reg, &location).await, "0-0");
    // A Content-Range past the limit, counting what the session already holds.
    let r = reg.patch(&location, Some("0-599"), &[1; 600]).await;
    r.assert_status(StatusCode::ACCEPTED);
    // Streamed appends go where the latest Location says the session ends.
    let location = r.header("location").to_owned();
    let r = reg.patch(&location, Some("600-1000"), &[1; 401]).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    let r = reg.patch(&location, None, &[1; 401]).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    assert_eq!(range_of(&reg, &location).await, "0-599");
    // A range of (almost) 2^64 bytes is refused the same way.
    let huge = [("content-range", "600-18446744073709551614")];
    let r = reg
        .request(Method::PATCH, &location, &huge, &b"abc"[..])
        .await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    // Monolithic, too.
    let uri = format!("/v2/acme/app/blobs/uploads/?digest={}", sha256(&[1; 1001]));
    let r = reg.send_bytes(Method::POST, &uri, &[], &[1; 1001]).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    assert!(reg.files_under("blobs").is_empty());
}

#[tokio::test]
async fn exactly_the_limit_is_accepted() {
    let reg = small_layers();
    let data = vec![3u8; LIMIT as usize];
    let digest = reg.push_blob("acme/app", &data).await;
    let r = reg.head(&format!("/v2/acme/app/blobs/{digest}")).await;
    assert_eq!(r.header("content-length"), LIMIT.to_string());
}

#[tokio::test]
async fn a_stream_with_no_length_is_cut_at_the_limit() {
    let reg = small_layers();
    let location = reg.start_upload("acme/app").await;
    let r = reg
        .request(
            Method::PATCH,
            &location,
            &[("transfer-encoding", "chunked")],
            chunked(10, 200),
        )
        .await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    assert!(reg.files_under("blobs").is_empty());
    // The session kept nothing of the refused stream and still works.
    assert_eq!(range_of(&reg, &location).await, "0-0");
    let r = reg.patch_stream(&location, chunked(2, 100)).await;
    r.assert_status(StatusCode::ACCEPTED);
    assert_eq!(r.header("range"), "0-199");
    let location = r.header("location").to_owned();
    // A stream that crosses the limit only with what the session holds is cut too.
    let r = reg.patch_stream(&location, chunked(9, 100)).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    let uri = with_digest(&location, &sha256(&[7u8; 200]));
    let r = reg.request(Method::PUT, &uri, &[], Body::empty()).await;
    r.assert_status(StatusCode::CREATED);
    // Monolithic POST and PUT streams are cut the same way.
    let uri = format!(
        "/v2/acme/app/blobs/uploads/?digest={}",
        sha256(&[7u8; 2000])
    );
    let r = reg.request(Method::POST, &uri, &[], chunked(10, 200)).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    let location = reg.start_upload("acme/app").await;
    let r = reg
        .request(
            Method::PUT,
            &with_digest(&location, &sha256(&[7u8; 2000])),
            &[],
            chunked(10, 200),
        )
        .await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    assert_eq!(reg.files_under("blobs").len(), 1, "only the 200-byte blob");
}

#[tokio::test]
async fn an_aborted_body_publishes_nothing_and_the_session_resumes() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    let r = reg.patch(&location, None, b"first-").await;
    r.assert_status(StatusCode::ACCEPTED);
    let location = r.header("location").to_owned();
    // The client goes away after some bytes: a client error, never a 500.
    let r = reg.patch_stream(&location, aborted(b"torn tail")).await;
    r.assert_error(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID");
    assert_eq!(range_of(&reg, &location).await, "0-5");
    // A PUT whose last chunk breaks off publishes nothing and keeps the session.
    let uri = with_digest(&location, &sha256(b"first-second"));
    let r = reg.request(Method::PUT, &uri, &[], aborted(b"sec")).await;
    r.assert_error(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID");
    assert!(reg.files_under("blobs").is_empty());
    assert_eq!(range_of(&reg, &location).await, "0-5");
    // Resuming overwrites the torn tails: the blob is exactly what was acknowledged.
    let r = reg.send_bytes(Method::PUT, &uri, &[], b"second").await;
    r.assert_status(StatusCode::CREATED);
    let blob = reg
        .get(&format!("/v2/acme/app/blobs/{}", sha256(b"first-second")))
        .await;
    assert_eq!(&blob.body[..], b"first-second");
    assert_eq!(reg.files_under("blobs").len(), 1);
    assert!(
        reg.files_under("tmp").is_empty(),
        "no temp files are left behind"
    );
}

#[tokio::test]
async fn an_aborted_monolithic_post_publishes_nothing() {
    let reg = TestRegistry::new();
    let uri = format!("/v2/acme/app/blobs/uploads/?digest={}", sha256(b"whole"));
    let r = reg.request(Method::POST, &uri, &[], aborted(b"who")).await;
    r.assert_error(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID");
    assert!(reg.files_under("blobs").is_empty());
    reg.get(&format!("/v2/acme/app/blobs/{}", sha256(b"whole")))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
}

#[tokio::test]
async fn an_expired_session_is_unknown_and_its_data_purged() {
    let reg = short_sessions();
    let location = reg.start_upload("acme/app").await;
    let id = location.rsplit('/').next().unwrap().to_owned();
    // Whether the first PATCH lands before expiry depends on the clock; either way the
    // session must end up unknown.
    let _ = reg.patch(&location, None, b"some bytes").await;
    let (r, loc) = (&reg, location.as_str());
    let expired = eventually(Duration::from_secs(5), move || async move {
        r.get(loc).await.status == StatusCode::NOT_FOUND
    })
    .await;
    assert!(expired, "the session outlived its 1 s timeout by 4 s");
    reg.get(&location)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    assert!(
        !reg.data().join("uploads").join(&id).exists(),
        "its directory is purged"
    );
    for method in [Method::PATCH, Method::PUT] {
        let uri = with_digest(&location, &sha256(b"x"));
        let r = reg.send_bytes(method, &uri, &[], b"x").await;
        r.assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    }
    reg.delete(&location)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    assert!(reg.files_under("blobs").is_empty());
}

#[tokio::test]
async fn purge_removes_expired_sessions_and_orphaned_data() {
    let reg = short_sessions();
    // Nothing touches the sessions before the purge: a request on an expired session
    // would remove it itself.
    reg.start_upload("acme/a").await;
    reg.start_upload("acme/b").await;
    // Upload data whose state was never written (a crash between the two).
    let orphan = reg
        .data()
        .join("uploads/0b0e6a3c-5b1e-4d6f-9f7e-2a8c7d6e5f40");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("data"), b"orphan").unwrap();
    assert_eq!(reg.upload_dirs().len(), 3);
    let purged = Cell::new(0);
    let (r, p) = (&reg, &purged);
    let all_gone = eventually(Duration::from_secs(5), move || async move {
        p.set(
            p.get()
                + r.state
                    .content
                    .purge_expired_uploads()
                    .await
                    .expect("purge"),
        );
        r.upload_dirs().is_empty()
    })
    .await;
    assert!(all_gone, "left: {:?}", reg.upload_dirs());
    assert_eq!(purged.get(), 3);
}

#[tokio::test]
async fn purge_keeps_live_sessions() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    reg.patch(&location, None, b"live")
        .await
        .assert_status(StatusCode::ACCEPTED);
    let orphan = reg.data().join("uploads/not-a-session");
    std::fs::create_dir_all(&orphan).unwrap();
    assert_eq!(reg.state.content.purge_expired_uploads().await.unwrap(), 1);
    assert!(!orphan.exists());
    assert_eq!(reg.upload_dirs().len(), 1);
    assert_eq!(range_of(&reg, &location).await, "0-3");
}

#[tokio::test]
async fn a_content_range_whose_length_overflows_is_a_client_error() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    let r = reg
        .send_bytes(
            Method::PATCH,
            &location,
            &[("content-range", "0-18446744073709551615")],
            b"abc",
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID");
}

#[tokio::test]
async fn a_refused_monolithic_post_leaves_no_session() {
    let reg = TestRegistry::with_limits(Limits {
        max_layer_bytes: 10,
        ..Limits::default()
    });
    let uri = format!("/v2/acme/app/blobs/uploads/?digest={}", sha256(&[1; 11]));
    let r = reg.send_bytes(Method::POST, &uri, &[], &[1; 11]).await;
    r.assert_error(StatusCode::PAYLOAD_TOO_LARGE, "SIZE_INVALID");
    // A wrong digest is refused after the bytes arrived, and leaves nothing either.
    let uri = format!("/v2/acme/app/blobs/uploads/?digest={}", sha256(b"other"));
    let r = reg.send_bytes(Method::POST, &uri, &[], &[1; 5]).await;
    r.assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    assert!(
        reg.upload_dirs().is_empty(),
        "orphaned sessions: {:?}",
        reg.upload_dirs()
    );
}
