use futures_util::{StreamExt, TryStreamExt, stream};

use super::*;

/// The filesystem backend records no upload progress.
const P: UploadProgress = UploadProgress(serde_json::Value::Null);

fn body(chunks: &[&'static [u8]]) -> ByteStream {
    let chunks: Vec<_> = chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
    stream::iter(chunks).boxed()
}

async fn collect(s: ByteStream) -> Vec<u8> {
    let chunks: Vec<Bytes> = s.try_collect().await.unwrap();
    chunks.concat()
}

fn storage() -> (tempfile::TempDir, FsStorage) {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    (dir, s)
}

#[tokio::test]
async fn metadata_objects_round_trip() {
    let (_d, s) = storage();
    assert_eq!(s.get("repositories/a/b/x").await.unwrap(), None);
    s.put("repositories/a/b/x", Bytes::from_static(b"1"))
        .await
        .unwrap();
    s.put("repositories/a/b/x", Bytes::from_static(b"2"))
        .await
        .unwrap();
    assert_eq!(s.get("repositories/a/b/x").await.unwrap().unwrap(), "2");
    assert_eq!(s.list("repositories/a/b").await.unwrap(), vec!["x"]);
    assert_eq!(
        s.list("repositories/none").await.unwrap(),
        Vec::<String>::new()
    );
    assert!(s.delete("repositories/a/b/x").await.unwrap());
    assert!(!s.delete("repositories/a/b/x").await.unwrap());
    // A key that is a file's child is absent, not an error.
    s.put("f", Bytes::new()).await.unwrap();
    assert_eq!(s.get("f/g").await.unwrap(), None);
}

#[tokio::test]
async fn put_if_absent_creates_once() {
    let (_d, s) = storage();
    assert!(
        s.put_if_absent("_berth/k", Bytes::from_static(b"1"))
            .await
            .unwrap()
    );
    assert!(
        !s.put_if_absent("_berth/k", Bytes::from_static(b"2"))
            .await
            .unwrap()
    );
    assert_eq!(s.get("_berth/k").await.unwrap().unwrap(), "1");
    assert!(fs::read_dir(s.root().join("tmp")).unwrap().next().is_none());
}

#[tokio::test]
async fn keys_cannot_escape_the_root() {
    let (_d, s) = storage();
    for bad in ["../x", "/etc/passwd", "a/../../x", ""] {
        assert!(s.get(bad).await.is_err(), "{bad}");
    }
}

#[tokio::test]
async fn blobs_are_stored_once_by_digest_and_read_by_range() {
    let (_d, s) = storage();
    let data = Bytes::from_static(b"hello world");
    let d = Digest::sha256_of(&data);
    assert_eq!(s.blob_len(&d).await.unwrap(), None);
    s.blob_put(&d, data.clone()).await.unwrap();
    s.blob_put(&d, data.clone()).await.unwrap();
    assert_eq!(s.blob_len(&d).await.unwrap(), Some(11));
    assert_eq!(
        collect(s.blob_read(&d, 6..11).await.unwrap().unwrap()).await,
        b"world"
    );
    assert_eq!(s.blob_list().await.unwrap(), vec![d.clone()]);
    assert!(s.blob_delete(&d).await.unwrap());
    assert!(s.blob_read(&d, 0..1).await.unwrap().is_none());
}

#[tokio::test]
async fn uploads_append_discard_torn_tails_and_commit() {
    let (dir, s) = storage();
    assert_eq!(
        s.upload_write("u1", &P, 0, body(&[b"abc", b"def"]))
            .await
            .unwrap()
            .0,
        6
    );
    // A torn write: bytes past the recorded offset are discarded by the next write.
    assert_eq!(
        s.upload_write("u1", &P, 6, body(&[b"XXXX"]))
            .await
            .unwrap()
            .0,
        10
    );
    assert_eq!(
        s.upload_write("u1", &P, 6, body(&[b"gh"])).await.unwrap().0,
        8
    );
    assert_eq!(
        collect(s.upload_read("u1", &P, 8).await.unwrap()).await,
        b"abcdefgh"
    );
    // Data missing below the offset is corruption, not silently zero-filled.
    assert!(matches!(
        s.upload_write("u1", &P, 100, body(&[b"x"])).await,
        Err(StorageError::Corrupt(_))
    ));
    let d = Digest::sha256_of(b"abcdefgh");
    s.upload_commit("u1", &P, 8, &d).await.unwrap();
    assert_eq!(
        collect(s.blob_read(&d, 0..8).await.unwrap().unwrap()).await,
        b"abcdefgh"
    );
    s.upload_delete("u1").await.unwrap();
    assert!(!dir.path().join("uploads/u1").exists());
}

#[tokio::test]
async fn a_failing_body_publishes_nothing() {
    let (_d, s) = storage();
    let failing = stream::iter(vec![
        Ok(Bytes::from_static(b"abc")),
        Err(io::Error::other("client went away")),
    ])
    .boxed();
    assert!(matches!(
        s.upload_write("u2", &P, 0, failing).await,
        Err(StorageError::Body(_))
    ));
    // The next write at the recorded offset starts clean.
    assert_eq!(
        s.upload_write("u2", &P, 0, body(&[b"z"])).await.unwrap().0,
        1
    );
}

#[tokio::test]
async fn empty_uploads_commit_to_the_empty_blob() {
    let (_d, s) = storage();
    let d = Digest::sha256_of(b"");
    s.upload_commit("u3", &P, 0, &d).await.unwrap();
    assert_eq!(s.blob_len(&d).await.unwrap(), Some(0));
}

#[tokio::test]
async fn stale_temp_files_are_removed_on_open() {
    let (dir, s) = storage();
    let fresh = s.tmp_path();
    fs::write(&fresh, b"in flight").unwrap();
    let stale = s.tmp_path();
    fs::write(&stale, b"crashed").unwrap();
    let old = SystemTime::now() - STALE_TMP - Duration::from_secs(60);
    File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    FsStorage::open(dir.path()).unwrap();
    assert!(fresh.exists());
    assert!(!stale.exists());
}
