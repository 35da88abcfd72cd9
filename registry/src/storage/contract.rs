//! The [`Storage`] contract as one suite, after distribution's
//! `registry/storage/driver/testsuites`: every promise of the trait that the registry
//! (and garbage collection, and restore) relies on, as a case over `Arc<dyn Storage>`.
//!
//! Every backend runs every case with [`storage_contract_tests!`](crate::storage_contract_tests),
//! each on a fresh, empty store: the filesystem backend on a temp dir
//! (`storage/fs/tests.rs`), S3 on MinIO (`tests/s3/backend.rs`). Each case is its own
//! test, so a failure names the case and the backend. What only one backend promises
//! (temp files swept on open, keys confined to the root, multipart parts) is tested
//! beside that backend.
//!
//! The cases panic when a promise is broken. They live in the library, not behind
//! `cfg(test)`, so that the root crate's integration tests can run them, and they use
//! only the library's own dependencies. A new case is a `pub async fn` here plus its
//! name in the list of [`storage_contract_tests!`](crate::storage_contract_tests).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt, future, stream};

use super::{ByteStream, Storage, StorageError, UploadProgress};
use crate::oci::digest::Digest;

/// Expands to one `#[tokio::test]` per case of [`crate::storage::contract`], named after
/// the case, each running it on a store from `$make`: an expression that evaluates to a
/// future of `(Arc<dyn Storage>, guard)`, a fresh and empty store per test and whatever
/// must live as long as it (a temp dir, say). Invoke it inside a module of its own:
///
/// ```text
/// mod contract {
///     berth_registry::storage_contract_tests!(super::empty_storage());
/// }
/// ```
#[macro_export]
macro_rules! storage_contract_tests {
    ($make:expr) => {
        $crate::storage_contract_tests!(@cases $make;
            a_new_store_is_ready_and_empty,
            missing_keys_are_absent_not_errors,
            metadata_objects_round_trip,
            put_replaces_whole_values,
            put_if_absent_creates_once,
            racing_creates_have_one_winner,
            a_move_appending_moves_and_appends,
            list_names_objects_and_prefixes_directly_under,
            blobs_are_stored_once_by_digest_and_read_by_range,
            uploads_append_discard_torn_tails_and_commit,
            a_failing_body_publishes_nothing,
            empty_uploads_commit_to_the_empty_blob,
            an_upload_of_a_stored_blob_commits_to_it,
            store_times_come_from_the_store_and_move_on_writes,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $case() {
                let (storage, _guard) = $make.await;
                $crate::storage::contract::$case(storage).await;
            }
        )*
    };
}

/// A request body of `chunks`.
fn body(chunks: &[&[u8]]) -> ByteStream {
    let chunks: Vec<_> = chunks
        .iter()
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(chunks).boxed()
}

/// A request body that yields `chunk` and then fails, as when the client goes away.
fn failing_body(chunk: &'static [u8]) -> ByteStream {
    stream::iter([
        Ok(Bytes::from_static(chunk)),
        Err(io::Error::other("client went away")),
    ])
    .boxed()
}

async fn collect(s: ByteStream) -> Vec<u8> {
    let chunks: Vec<Bytes> = s.try_collect().await.expect("reading the stream");
    chunks.concat()
}

async fn read_blob(s: &dyn Storage, digest: &Digest, range: std::ops::Range<u64>) -> Vec<u8> {
    let stream = s.blob_read(digest, range).await.unwrap();
    collect(stream.unwrap_or_else(|| panic!("blob {digest} is stored"))).await
}

async fn listed(s: &dyn Storage, prefix: &str) -> Vec<String> {
    let mut names = s.list(prefix).await.unwrap();
    names.sort();
    names
}

async fn blobs(s: &dyn Storage) -> Vec<Digest> {
    let mut digests = s.blob_list().await.unwrap();
    digests.sort();
    digests
}

/// A fresh store is ready and holds nothing.
pub async fn a_new_store_is_ready_and_empty(s: Arc<dyn Storage>) {
    s.check().await.expect("a fresh store is ready");
    assert_eq!(blobs(&*s).await, Vec::<Digest>::new());
    for prefix in ["repositories", "uploads", "_berth"] {
        assert_eq!(listed(&*s, prefix).await, Vec::<String>::new(), "{prefix}");
    }
}

/// Asking for what is not there answers "absent", never an error.
pub async fn missing_keys_are_absent_not_errors(s: Arc<dyn Storage>) {
    let d = Digest::sha256_of(b"never stored");
    assert_eq!(s.get("repositories/a/b/missing").await.unwrap(), None);
    assert!(!s.delete("repositories/a/b/missing").await.unwrap());
    assert_eq!(listed(&*s, "repositories/none").await, Vec::<String>::new());
    assert_eq!(s.blob_len(&d).await.unwrap(), None);
    assert!(s.blob_read(&d, 0..1).await.unwrap().is_none());
    assert!(!s.blob_delete(&d).await.unwrap());
    s.upload_delete("never-started").await.unwrap();
    // A key below an object's key is absent too (on a filesystem, a file's child).
    s.put("repositories/f", Bytes::from_static(b"1"))
        .await
        .unwrap();
    assert_eq!(s.get("repositories/f/g").await.unwrap(), None);
    assert!(!s.delete("repositories/f/g").await.unwrap());
    // A prefix of other keys is not an object: nothing to delete.
    assert!(!s.delete("repositories").await.unwrap());
    assert_eq!(s.get("repositories/f").await.unwrap().unwrap(), "1");
}

/// A metadata object reads back as written, and is gone once deleted.
pub async fn metadata_objects_round_trip(s: Arc<dyn Storage>) {
    let key = "repositories/a/b/x";
    assert_eq!(s.get(key).await.unwrap(), None);
    s.put(key, Bytes::from_static(b"1")).await.unwrap();
    assert_eq!(s.get(key).await.unwrap().unwrap(), "1");
    s.put(key, Bytes::from_static(b"2")).await.unwrap();
    assert_eq!(s.get(key).await.unwrap().unwrap(), "2");
    assert!(s.delete(key).await.unwrap());
    assert_eq!(s.get(key).await.unwrap(), None);
    assert!(!s.delete(key).await.unwrap());
    // An empty object is an object.
    s.put(key, Bytes::new()).await.unwrap();
    assert_eq!(s.get(key).await.unwrap().unwrap(), "");
}

/// `put` replaces a value whole: a shorter value leaves no tail of the longer one, and a
/// reader racing the writer sees one value or the other, never a mix or a cut.
pub async fn put_replaces_whole_values(s: Arc<dyn Storage>) {
    let key = "repositories/a/b/replaced";
    s.put(key, Bytes::from_static(b"a longer value"))
        .await
        .unwrap();
    s.put(key, Bytes::from_static(b"short")).await.unwrap();
    assert_eq!(s.get(key).await.unwrap().unwrap(), "short");

    let long = Bytes::from(vec![b'a'; 256 * 1024]);
    let short = Bytes::from(vec![b'b'; 64 * 1024]);
    s.put(key, long.clone()).await.unwrap();
    let done = AtomicBool::new(false);
    let writer = async {
        for i in 0..24 {
            let value = if i % 2 == 0 { &short } else { &long };
            s.put(key, value.clone()).await.unwrap();
        }
        done.store(true, Ordering::Release);
    };
    let reader = async {
        let mut reads = 0;
        while !done.load(Ordering::Acquire) || reads == 0 {
            let got = s
                .get(key)
                .await
                .unwrap()
                .expect("a replaced key stays present");
            assert!(
                got == long || got == short,
                "read {} bytes starting {:?}: a torn value",
                got.len(),
                got.first()
            );
            reads += 1;
        }
        reads
    };
    let ((), reads) = future::join(writer, reader).await;
    assert!(reads > 0);
    assert_eq!(s.get(key).await.unwrap().unwrap(), long);
}

/// `put_if_absent` creates a key once; it is free again after a delete.
pub async fn put_if_absent_creates_once(s: Arc<dyn Storage>) {
    let key = "_berth/k";
    assert!(
        s.put_if_absent(key, Bytes::from_static(b"1"))
            .await
            .unwrap()
    );
    assert!(
        !s.put_if_absent(key, Bytes::from_static(b"2"))
            .await
            .unwrap()
    );
    assert_eq!(s.get(key).await.unwrap().unwrap(), "1");
    // A key written by `put` is taken as well.
    s.put("_berth/p", Bytes::from_static(b"put")).await.unwrap();
    assert!(
        !s.put_if_absent("_berth/p", Bytes::from_static(b"2"))
            .await
            .unwrap()
    );
    assert_eq!(s.get("_berth/p").await.unwrap().unwrap(), "put");
    assert!(s.delete(key).await.unwrap());
    assert!(
        s.put_if_absent(key, Bytes::from_static(b"3"))
            .await
            .unwrap()
    );
    assert_eq!(s.get(key).await.unwrap().unwrap(), "3");
}

/// Creators racing for one key agree on a single winner, whose value is stored; so do
/// those of a lease (`touch_if_absent`), half of them racing the durable creators.
pub async fn racing_creates_have_one_winner(s: Arc<dyn Storage>) {
    let key = "_berth/race";
    let attempts = (0..8).map(|i| {
        let s = s.clone();
        async move {
            let value = Bytes::from(format!("creator {i}"));
            let won = if i % 2 == 0 {
                s.put_if_absent(key, value).await
            } else {
                s.touch_if_absent(key, value).await
            };
            (i, won.unwrap())
        }
    });
    let winners: Vec<_> = future::join_all(attempts)
        .await
        .into_iter()
        .filter(|&(_, won)| won)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(
        s.get(key).await.unwrap().unwrap(),
        format!("creator {}", winners[0])
    );
}

/// `move_appending` leaves the value and its tail under the new key only; a move from
/// a key already gone (moved by another process) is no error.
pub async fn a_move_appending_moves_and_appends(s: Arc<dyn Storage>) {
    let head = Bytes::from_static(b"{\"event\":1}");
    s.put("_berth/pending/e1", head.clone()).await.unwrap();
    s.move_appending(
        "_berth/pending/e1",
        "_berth/done/7/e1",
        head.clone(),
        Bytes::from_static(b"\n{\"ok\":true}"),
    )
    .await
    .unwrap();
    assert_eq!(s.get("_berth/pending/e1").await.unwrap(), None);
    assert_eq!(
        s.get("_berth/done/7/e1").await.unwrap().unwrap(),
        "{\"event\":1}\n{\"ok\":true}"
    );
    assert_eq!(
        s.list("_berth/pending").await.unwrap(),
        Vec::<String>::new()
    );
    s.move_appending(
        "_berth/pending/e1",
        "_berth/done/7/e1",
        head,
        Bytes::from_static(b"\nagain"),
    )
    .await
    .unwrap();
}

/// `list` names what is directly under a prefix, objects and sub-prefixes alike, and
/// nothing from a sibling whose name merely starts the same.
pub async fn list_names_objects_and_prefixes_directly_under(s: Arc<dyn Storage>) {
    for key in [
        "repositories/a/b/x",
        "repositories/a/b/y",
        "repositories/a/b/sub/z",
        "repositories/a/bb/w",
    ] {
        s.put(key, Bytes::from_static(b"v")).await.unwrap();
    }
    assert_eq!(listed(&*s, "repositories/a/b").await, ["sub", "x", "y"]);
    assert_eq!(listed(&*s, "repositories/a/b/sub").await, ["z"]);
    assert_eq!(listed(&*s, "repositories/a").await, ["b", "bb"]);
    assert_eq!(listed(&*s, "repositories").await, ["a"]);
    // An object has nothing under it; a prefix nothing was written under is empty.
    assert_eq!(
        listed(&*s, "repositories/a/b/x").await,
        Vec::<String>::new()
    );
    assert_eq!(listed(&*s, "repositories/a/c").await, Vec::<String>::new());
    assert!(s.delete("repositories/a/b/y").await.unwrap());
    assert_eq!(listed(&*s, "repositories/a/b").await, ["sub", "x"]);
}

/// Blobs are stored once under their digest, read by range, listed and deleted.
pub async fn blobs_are_stored_once_by_digest_and_read_by_range(s: Arc<dyn Storage>) {
    let data = Bytes::from_static(b"hello world");
    let d = Digest::sha256_of(&data);
    let other = Bytes::from_static(b"another blob");
    let e = Digest::sha256_of(&other);
    assert_eq!(s.blob_len(&d).await.unwrap(), None);
    s.blob_put(&d, data.clone()).await.unwrap();
    s.blob_put(&d, data.clone()).await.unwrap();
    assert_eq!(s.blob_len(&d).await.unwrap(), Some(11));
    assert_eq!(read_blob(&*s, &d, 0..11).await, b"hello world");
    assert_eq!(read_blob(&*s, &d, 6..11).await, b"world");
    assert_eq!(read_blob(&*s, &d, 0..5).await, b"hello");
    assert_eq!(read_blob(&*s, &d, 4..5).await, b"o");
    assert_eq!(blobs(&*s).await, std::slice::from_ref(&d));
    s.blob_put(&e, other.clone()).await.unwrap();
    let mut both = vec![d.clone(), e.clone()];
    both.sort();
    assert_eq!(blobs(&*s).await, both);

    assert!(s.blob_delete(&d).await.unwrap());
    assert!(!s.blob_delete(&d).await.unwrap());
    assert_eq!(s.blob_len(&d).await.unwrap(), None);
    assert!(s.blob_read(&d, 0..1).await.unwrap().is_none());
    assert_eq!(blobs(&*s).await, std::slice::from_ref(&e));
    // Deleting one blob leaves the other.
    assert_eq!(read_blob(&*s, &e, 0..12).await, b"another blob");
}

/// An upload grows by writes at its recorded length; a write past what the last
/// completed write recorded (a torn tail) is discarded by the next one; a write beyond
/// the stored bytes is corruption; a commit publishes the bytes (and may be retried);
/// deleting the upload removes its metadata and keeps the blob.
pub async fn uploads_append_discard_torn_tails_and_commit(s: Arc<dyn Storage>) {
    let id = "u1";
    let p0 = UploadProgress::default();
    let (len, p6) = s
        .upload_write(id, &p0, 0, body(&[b"abc", b"def"]))
        .await
        .unwrap();
    assert_eq!(len, 6);
    // A write whose completion was never recorded: the caller keeps `p6`.
    let (len, _torn) = s.upload_write(id, &p6, 6, body(&[b"XXXX"])).await.unwrap();
    assert_eq!(len, 10);
    let (len, p8) = s.upload_write(id, &p6, 6, body(&[b"gh"])).await.unwrap();
    assert_eq!(len, 8);
    assert_eq!(
        collect(s.upload_read(id, &p8, 8).await.unwrap()).await,
        b"abcdefgh"
    );
    // Data missing below the offset is corruption, not silently zero-filled.
    assert!(matches!(
        s.upload_write(id, &p8, 100, body(&[b"x"])).await,
        Err(StorageError::Corrupt(_))
    ));

    let state = format!("uploads/{id}/state");
    s.put(&state, Bytes::from_static(b"{}")).await.unwrap();
    assert!(listed(&*s, "uploads").await.contains(&id.to_owned()));
    let d = Digest::sha256_of(b"abcdefgh");
    s.upload_commit(id, &p8, 8, &d).await.unwrap();
    // A retry of the commit (a client retrying its PUT) is harmless.
    s.upload_commit(id, &p8, 8, &d).await.unwrap();
    assert_eq!(s.blob_len(&d).await.unwrap(), Some(8));
    assert_eq!(read_blob(&*s, &d, 0..8).await, b"abcdefgh");
    assert_eq!(blobs(&*s).await, std::slice::from_ref(&d));

    s.upload_delete(id).await.unwrap();
    assert_eq!(s.get(&state).await.unwrap(), None);
    assert!(!listed(&*s, "uploads").await.contains(&id.to_owned()));
    assert_eq!(read_blob(&*s, &d, 0..8).await, b"abcdefgh");
    // Deleting it again is fine.
    s.upload_delete(id).await.unwrap();
}

/// A write whose body fails is an error of the body and stores nothing: the next write at
/// the recorded length starts clean, and no blob appears.
pub async fn a_failing_body_publishes_nothing(s: Arc<dyn Storage>) {
    let id = "u2";
    let p0 = UploadProgress::default();
    assert!(matches!(
        s.upload_write(id, &p0, 0, failing_body(b"abc")).await,
        Err(StorageError::Body(_))
    ));
    let (len, p1) = s.upload_write(id, &p0, 0, body(&[b"z"])).await.unwrap();
    assert_eq!(len, 1);
    // Failing again, part-way through an upload.
    assert!(matches!(
        s.upload_write(id, &p1, 1, failing_body(b"yyy")).await,
        Err(StorageError::Body(_))
    ));
    let (len, p2) = s.upload_write(id, &p1, 1, body(&[b"a"])).await.unwrap();
    assert_eq!(len, 2);
    assert_eq!(
        collect(s.upload_read(id, &p2, 2).await.unwrap()).await,
        b"za"
    );
    assert_eq!(blobs(&*s).await, Vec::<Digest>::new());
    let d = Digest::sha256_of(b"za");
    s.upload_commit(id, &p2, 2, &d).await.unwrap();
    assert_eq!(read_blob(&*s, &d, 0..2).await, b"za");
    s.upload_delete(id).await.unwrap();
}

/// An upload with no bytes, never written or written an empty body, commits to the
/// empty blob.
pub async fn empty_uploads_commit_to_the_empty_blob(s: Arc<dyn Storage>) {
    let d = Digest::sha256_of(b"");
    s.upload_commit("u3", &UploadProgress::default(), 0, &d)
        .await
        .unwrap();
    assert_eq!(s.blob_len(&d).await.unwrap(), Some(0));
    assert_eq!(read_blob(&*s, &d, 0..0).await, b"");
    assert_eq!(blobs(&*s).await, std::slice::from_ref(&d));

    let (len, p) = s
        .upload_write("u4", &UploadProgress::default(), 0, body(&[]))
        .await
        .unwrap();
    assert_eq!(len, 0);
    assert_eq!(
        collect(s.upload_read("u4", &p, 0).await.unwrap()).await,
        b""
    );
    s.upload_commit("u4", &p, 0, &d).await.unwrap();
    assert_eq!(s.blob_len(&d).await.unwrap(), Some(0));
    for id in ["u3", "u4"] {
        s.upload_delete(id).await.unwrap();
    }
    assert_eq!(blobs(&*s).await, [d]);
}

/// Committing an upload whose blob is already stored (pushed before, by another upload or
/// whole) succeeds and leaves the one stored blob.
pub async fn an_upload_of_a_stored_blob_commits_to_it(s: Arc<dyn Storage>) {
    let data = Bytes::from_static(b"pushed twice");
    let d = Digest::sha256_of(&data);
    s.blob_put(&d, data.clone()).await.unwrap();
    let (len, p) = s
        .upload_write("u5", &UploadProgress::default(), 0, body(&[&data[..]]))
        .await
        .unwrap();
    assert_eq!(len, 12);
    s.upload_commit("u5", &p, len, &d).await.unwrap();
    s.upload_delete("u5").await.unwrap();
    assert_eq!(s.blob_len(&d).await.unwrap(), Some(12));
    assert_eq!(read_blob(&*s, &d, 0..12).await, b"pushed twice");
    assert_eq!(blobs(&*s).await, [d]);
}

/// Garbage collection's view: when a key or blob was written (store time, to the
/// second at worst), `touch` visible at once, and `blob_stat` from the store itself.
pub async fn store_times_come_from_the_store_and_move_on_writes(s: Arc<dyn Storage>) {
    assert_eq!(s.modified("gc/none").await.unwrap(), None);
    let before = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(2);
    s.touch("gc/marker", Bytes::from_static(b"one"))
        .await
        .unwrap();
    assert_eq!(
        s.get("gc/marker").await.unwrap().as_deref(),
        Some(&b"one"[..])
    );
    let first = s.modified("gc/marker").await.unwrap().expect("a time");
    assert!(
        first >= before,
        "{first} is the store's now, give or take a clock's skew"
    );
    // A second later (S3 times are to the second), a rewrite moves it on.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    s.touch("gc/marker", Bytes::from_static(b"two"))
        .await
        .unwrap();
    assert_eq!(
        s.get("gc/marker").await.unwrap().as_deref(),
        Some(&b"two"[..])
    );
    assert!(s.modified("gc/marker").await.unwrap().unwrap() > first);

    let data = Bytes::from_static(b"a blob with a time");
    let digest = Digest::sha256_of(&data);
    assert_eq!(s.blob_stat(&digest).await.unwrap(), None);
    s.blob_put(&digest, data.clone()).await.unwrap();
    let stat = s.blob_stat(&digest).await.unwrap().expect("stored");
    assert_eq!(stat.len, data.len() as u64);
    assert!(stat.modified >= before);
    let empty = Digest::sha256_of(b"");
    s.blob_put(&empty, Bytes::new()).await.unwrap();
    let mut sizes = s.blob_list_sizes().await.unwrap();
    sizes.sort_by_key(|(d, _)| d.to_string());
    let mut want = vec![(digest.clone(), data.len() as u64), (empty.clone(), 0)];
    want.sort_by_key(|(d, _)| d.to_string());
    assert_eq!(sizes, want, "listed with their lengths");
    assert!(s.blob_delete(&empty).await.unwrap());
    assert!(s.blob_delete(&digest).await.unwrap());
    assert_eq!(
        s.blob_stat(&digest).await.unwrap(),
        None,
        "never from a cache"
    );
}
