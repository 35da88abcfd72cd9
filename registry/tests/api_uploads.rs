//! Upload sessions: `POST /v2/<name>/blobs/uploads/` (session, monolithic, mount), then
//! `PATCH|PUT|GET|DELETE` on the session.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use common::{Resp, TestRegistry, sha256, sha512, with_digest};

/// Asserts a session answer (202 or 204) and returns its `Location`.
#[track_caller]
fn assert_session(r: &Resp, status: StatusCode, repo: &str, range: &str) -> String {
    r.assert_status(status);
    let location = r.header("location").to_owned();
    let prefix = format!("/v2/{repo}/blobs/uploads/");
    let (id, state) = location
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split_once("?_state="))
        .unwrap_or_else(|| panic!("{location}"));
    assert_eq!(r.header("docker-upload-uuid"), id);
    assert!(!state.is_empty(), "{location}");
    assert_eq!(r.header("range"), range);
    assert_eq!(r.header("content-length"), "0");
    location
}

/// Asserts a 201 for blob `digest` of `repo`, and that the blob reads back as `data`.
async fn assert_created(reg: &TestRegistry, r: &Resp, repo: &str, data: &[u8]) {
    r.assert_status(StatusCode::CREATED);
    let digest = r.header("docker-content-digest");
    assert_eq!(r.header("location"), format!("/v2/{repo}/blobs/{digest}"));
    let blob = reg.get(r.header("location")).await;
    blob.assert_status(StatusCode::OK);
    assert_eq!(&blob.body[..], data);
}

/// Finishes the `acme/app` session at `location` with a last chunk of `last`, and
/// asserts it became the blob `whole` (named by its sha256).
async fn assert_finishes_as(reg: &TestRegistry, location: &str, last: &[u8], whole: &[u8]) {
    let r = reg.finish(location, &sha256(whole), last).await;
    assert_created(reg, &r, "acme/app", whole).await;
}

#[tokio::test]
async fn post_starts_a_session() {
    let reg = TestRegistry::new();
    for uri in ["/v2/acme/app/blobs/uploads/", "/v2/acme/app/blobs/uploads"] {
        let r = reg.post(uri).await;
        let location = assert_session(&r, StatusCode::ACCEPTED, "acme/app", "0-0");
        let status = reg.get(&location).await;
        assert_session(&status, StatusCode::NO_CONTENT, "acme/app", "0-0");
    }
    assert_eq!(reg.upload_dirs().len(), 2);
}

#[tokio::test]
async fn monolithic_post_with_digest_is_201() {
    let reg = TestRegistry::new();
    let data = b"monolithic";
    let uri = format!("/v2/acme/app/blobs/uploads/?digest={}", sha256(data));
    let r = reg.send_bytes(Method::POST, &uri, &[], data).await;
    assert_created(&reg, &r, "acme/app", data).await;
    assert!(
        reg.upload_dirs().is_empty(),
        "the session is gone once the blob is stored"
    );
}

#[tokio::test]
async fn post_then_put_with_the_body() {
    let reg = TestRegistry::new();
    let data = b"post then put";
    let location = reg.start_upload("acme/app").await;
    assert_finishes_as(&reg, &location, data, data).await;
    reg.get(&location)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn streamed_patches_then_put() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    // No Content-Length, no Content-Range: a stream of unknown length.
    let r = reg.patch_stream(&location, &b"hello, "[..]).await;
    let location = assert_session(&r, StatusCode::ACCEPTED, "acme/app", "0-6");
    let r = reg.patch_stream(&location, &b"world"[..]).await;
    let location = assert_session(&r, StatusCode::ACCEPTED, "acme/app", "0-11");
    let status = reg.get(&location).await;
    assert_session(&status, StatusCode::NO_CONTENT, "acme/app", "0-11");
    let uri = with_digest(&location, &sha256(b"hello, world"));
    let r = reg
        .request(Method::PUT, &uri, &[("content-length", "0")], Body::empty())
        .await;
    assert_created(&reg, &r, "acme/app", b"hello, world").await;
}

#[tokio::test]
async fn chunked_patches_with_content_range_then_put_with_the_last_chunk() {
    let reg = TestRegistry::new();
    let data: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let mut location = reg.start_upload("acme/app").await;
    for (start, end) in [(0usize, 1000usize), (1000, 2000)] {
        let range = format!("{start}-{}", end - 1);
        let r = reg.patch(&location, Some(&range), &data[start..end]).await;
        let held = format!("0-{}", end - 1);
        location = assert_session(&r, StatusCode::ACCEPTED, "acme/app", &held);
    }
    let uri = with_digest(&location, &sha256(&data));
    let r = reg
        .send_bytes(
            Method::PUT,
            &uri,
            &[("content-range", "2000-2999")],
            &data[2000..],
        )
        .await;
    assert_created(&reg, &r, "acme/app", &data).await;
}

#[tokio::test]
async fn a_stream_sent_with_a_stale_location_is_416_with_where_to_resume() {
    let reg = TestRegistry::new();
    let first = reg.start_upload("acme/app").await;
    let r = reg.patch(&first, None, b"abcd").await;
    let current = assert_session(&r, StatusCode::ACCEPTED, "acme/app", "0-3");
    // A retry of a request that did land must not append its bytes twice.
    let r = reg.patch(&first, None, b"abcd").await;
    r.assert_error(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID");
    assert_eq!(r.header("range"), "0-3");
    assert_eq!(r.header("location"), current);
    assert_finishes_as(&reg, &current, b"ef", b"abcdef").await;
}

#[tokio::test]
async fn a_missing_forged_or_borrowed_state_names_no_session() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    let (path, state) = location.split_once("?_state=").unwrap();
    let other = reg.start_upload("acme/other").await;
    let other_state = other.split_once("?_state=").unwrap().1;
    let (offset, rest) = state.split_once('.').unwrap();
    let forged = format!("{path}?_state=99{offset}.{rest}");
    let borrowed = format!("{path}?_state={other_state}");
    let moved = location.replace("acme/app", "acme/other");
    for uri in [path, forged.as_str(), borrowed.as_str(), moved.as_str()] {
        reg.get(uri)
            .await
            .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
        reg.patch(uri, None, b"x")
            .await
            .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    }
    // The genuine Location still works, and nothing was appended.
    let r = reg.get(&location).await;
    assert_session(&r, StatusCode::NO_CONTENT, "acme/app", "0-0");
}

#[tokio::test]
async fn an_out_of_order_chunk_is_416_with_where_to_resume() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    let r = reg.patch(&location, Some("0-3"), b"abcd").await;
    let location = assert_session(&r, StatusCode::ACCEPTED, "acme/app", "0-3");
    for (range, body) in [("8-11", &b"ijkl"[..]), ("0-3", b"abcd"), ("2-5", b"cdef")] {
        let r = reg.patch(&location, Some(range), body).await;
        r.assert_error(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID");
        assert_eq!(r.header("location"), location, "{range}");
        assert_eq!(r.header("range"), "0-3", "{range}");
    }
    // A PUT carrying an out-of-order last chunk is refused the same way.
    let uri = with_digest(&location, &sha256(b"abcdefgh"));
    let r = reg
        .send_bytes(Method::PUT, &uri, &[("content-range", "6-7")], b"gh")
        .await;
    r.assert_error(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID");
    assert_eq!(r.header("range"), "0-3");
    // The session is intact and resumes from the reported range.
    let r = reg.patch(&location, Some("4-7"), b"efgh").await;
    assert_session(&r, StatusCode::ACCEPTED, "acme/app", "0-7");
    assert_finishes_as(&reg, &location, b"", b"abcdefgh").await;
}

#[tokio::test]
async fn concurrent_patches_on_one_session_take_turns() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    let (a, b) = (vec![b'a'; 300_000], vec![b'b'; 300_000]);
    let (ra, rb) = tokio::join!(
        reg.patch_stream(&location, a.clone()),
        reg.patch_stream(&location, b.clone()),
    );
    // Both streams claim to start at byte 0 (their Location says so): whichever goes
    // second finds the session past that and is told where it ends, never interleaved.
    let (won, lost, first) = if ra.status == StatusCode::ACCEPTED {
        (ra, rb, a)
    } else {
        (rb, ra, b)
    };
    let location = assert_session(&won, StatusCode::ACCEPTED, "acme/app", "0-299999");
    lost.assert_error(StatusCode::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID");
    assert_eq!(lost.header("range"), "0-299999");
    assert_eq!(lost.header("location"), location);
    assert_finishes_as(&reg, &location, b"", &first).await;
}

#[tokio::test]
async fn content_range_and_body_must_agree() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    // Content-Length disagrees with the range.
    let r = reg
        .request(
            Method::PATCH,
            &location,
            &[("content-range", "0-9"), ("content-length", "4")],
            &b"abcd"[..],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID");
    // No Content-Length, and the body is shorter than the range.
    let r = reg
        .request(
            Method::PATCH,
            &location,
            &[("content-range", "0-9")],
            &b"abcd"[..],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID");
    // An unparseable range.
    for bad in ["abc", "9-0", "-4"] {
        let r = reg.patch(&location, Some(bad), b"abcd").await;
        r.assert_error(StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID");
    }
    // None of it counted.
    let status = reg.get(&location).await;
    assert_session(&status, StatusCode::NO_CONTENT, "acme/app", "0-0");
    let r = reg.patch(&location, Some("0-3"), b"wxyz").await;
    assert_session(&r, StatusCode::ACCEPTED, "acme/app", "0-3");
    assert_finishes_as(&reg, &location, b"", b"wxyz").await;
}

#[tokio::test]
async fn a_bad_content_length_is_400() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    let r = reg
        .request(
            Method::PATCH,
            &location,
            &[("content-length", "lots")],
            &b"abcd"[..],
        )
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "SIZE_INVALID");
}

#[tokio::test]
async fn delete_cancels_the_session() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    reg.patch(&location, None, b"partial")
        .await
        .assert_status(StatusCode::ACCEPTED);
    assert_eq!(reg.upload_dirs().len(), 1);
    reg.delete(&location)
        .await
        .assert_status(StatusCode::NO_CONTENT);
    assert!(reg.upload_dirs().is_empty(), "its bytes are removed");
    reg.get(&location)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    reg.delete(&location)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    reg.patch(&location, None, b"more")
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    let r = reg.finish(&location, &sha256(b""), b"").await;
    r.assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
}

#[tokio::test]
async fn put_without_a_digest_is_400_and_keeps_the_session() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    let m = reg
        .send_bytes(Method::PUT, &location, &[], b"data")
        .await
        .assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    assert!(m.contains("digest="), "{m}");
    for bad in ["sha256:nothex", "md5:d41d8cd98f00b204e9800998ecf8427e"] {
        let r = reg.finish(&location, bad, b"data").await;
        r.assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    }
    let status = reg.get(&location).await;
    assert_session(&status, StatusCode::NO_CONTENT, "acme/app", "0-0");
}

#[tokio::test]
async fn a_wrong_digest_is_400_and_discards_the_session() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    let claimed = sha256(b"something else");
    let r = reg.finish(&location, &claimed, b"data").await;
    let m = r.assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    assert!(m.contains(&sha256(b"data")) && m.contains(&claimed), "{m}");
    reg.get(&location)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    assert!(reg.upload_dirs().is_empty());
    assert!(reg.files_under("blobs").is_empty(), "nothing was published");
    reg.get(&format!("/v2/acme/app/blobs/{claimed}"))
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UNKNOWN");
    // Monolithic: the same.
    let uri = format!("/v2/acme/app/blobs/uploads/?digest={claimed}");
    let r = reg.send_bytes(Method::POST, &uri, &[], b"data").await;
    r.assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    assert!(reg.upload_dirs().is_empty());
    assert!(reg.files_under("blobs").is_empty());
}

#[tokio::test]
async fn sha512_digests_finish_streamed_and_monolithic_uploads() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/app").await;
    let r = reg.patch_stream(&location, &b"five-"[..]).await;
    let location = assert_session(&r, StatusCode::ACCEPTED, "acme/app", "0-4");
    let r = reg
        .finish(&location, &sha512(b"five-twelve"), b"twelve")
        .await;
    assert_created(&reg, &r, "acme/app", b"five-twelve").await;
    assert_eq!(r.header("docker-content-digest"), sha512(b"five-twelve"));
    // A wrong sha512 is caught too.
    let location = reg.start_upload("acme/app").await;
    let r = reg.finish(&location, &sha512(b"other"), b"x").await;
    r.assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
}

#[tokio::test]
async fn an_empty_blob_uploads_both_ways() {
    let reg = TestRegistry::new();
    let empty = sha256(b"");
    let location = reg.start_upload("acme/app").await;
    let r = reg
        .request(
            Method::PUT,
            &with_digest(&location, &empty),
            &[("content-length", "0")],
            Body::empty(),
        )
        .await;
    assert_created(&reg, &r, "acme/app", b"").await;
    let r = reg
        .send_bytes(
            Method::POST,
            &format!("/v2/acme/b/blobs/uploads/?digest={empty}"),
            &[],
            b"",
        )
        .await;
    assert_created(&reg, &r, "acme/b", b"").await;
    let location = reg.start_upload("acme/c").await;
    let r = reg.finish(&location, &sha512(b""), b"").await;
    assert_created(&reg, &r, "acme/c", b"").await;
}

#[tokio::test]
async fn a_session_of_another_repository_is_unknown() {
    let reg = TestRegistry::new();
    let location = reg.start_upload("acme/a").await;
    let id = location.rsplit('/').next().unwrap();
    let foreign = format!("/v2/acme/b/blobs/uploads/{id}");
    reg.get(&foreign)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    reg.patch(&foreign, None, b"x")
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    reg.finish(&foreign, &sha256(b"x"), b"x")
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    reg.delete(&foreign)
        .await
        .assert_error(StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN");
    // The owner's session is untouched.
    assert_session(
        &reg.get(&location).await,
        StatusCode::NO_CONTENT,
        "acme/a",
        "0-0",
    );
}

#[tokio::test]
async fn garbage_session_ids_are_unknown_and_touch_nothing() {
    let reg = TestRegistry::new();
    let sentinel = reg.data().join("uploads").join("x");
    std::fs::create_dir_all(&sentinel).unwrap();
    for id in [
        "..",
        "%2E%2E",
        "..%2F..%2Fx",
        "not-a-uuid",
        "x",
        "%2E%2E%2Frepositories",
    ] {
        let uri = format!("/v2/acme/app/blobs/uploads/{id}");
        for method in [Method::GET, Method::DELETE, Method::PATCH] {
            let r = reg.request(method.clone(), &uri, &[], Body::empty()).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{method} {id}: {}",
                r.text()
            );
        }
        // An encoded slash stays inside the id: it never re-splits the path.
        let r = reg.get(&uri).await;
        assert_eq!(r.json()["errors"][0]["code"], "BLOB_UPLOAD_UNKNOWN", "{id}");
    }
    assert!(sentinel.is_dir(), "no request reached outside its session");
    assert!(reg.data().join("repositories").is_dir());
}

#[tokio::test]
async fn mount_from_another_repository_is_201() {
    let reg = TestRegistry::new();
    let digest = reg.push_blob("acme/source", b"shared layer").await;
    let r = reg
        .post(&format!(
            "/v2/acme/target/blobs/uploads/?mount={digest}&from=acme/source"
        ))
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.header("docker-content-digest"), digest);
    assert_created(&reg, &r, "acme/target", b"shared layer").await;
    assert!(reg.upload_dirs().is_empty(), "a mount opens no session");
}

#[tokio::test]
async fn mount_with_a_missing_source_falls_back_to_a_session() {
    let reg = TestRegistry::new();
    let digest = reg.push_blob("acme/source", b"layer").await;
    let missing = sha256(b"not there");
    let cases = [
        format!("/v2/acme/target/blobs/uploads/?mount={missing}&from=acme/source"),
        format!("/v2/acme/target/blobs/uploads/?mount={digest}&from=acme/elsewhere"),
        // Without `from` there is nowhere known to mount from.
        format!("/v2/acme/target/blobs/uploads/?mount={digest}"),
    ];
    for uri in &cases {
        let r = reg.post(uri).await;
        let location = assert_session(&r, StatusCode::ACCEPTED, "acme/target", "0-0");
        let put = reg.finish(&location, &digest, b"layer").await;
        assert_created(&reg, &put, "acme/target", b"layer").await;
        reg.delete(&format!("/v2/acme/target/blobs/{digest}"))
            .await
            .assert_status(StatusCode::ACCEPTED);
    }
}

#[tokio::test]
async fn mount_arguments_are_validated() {
    let reg = TestRegistry::new();
    let digest = reg.push_blob("acme/source", b"layer").await;
    let r = reg
        .post("/v2/acme/target/blobs/uploads/?mount=sha256:bad&from=acme/source")
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    let r = reg
        .post(&format!(
            "/v2/acme/target/blobs/uploads/?mount={digest}&from=Acme/Source"
        ))
        .await;
    r.assert_error(StatusCode::BAD_REQUEST, "NAME_INVALID");
    assert!(reg.upload_dirs().is_empty());
}
