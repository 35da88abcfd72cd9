//! The S3 backend itself, against MinIO: the shared `Storage` contract, and how uploads
//! become multipart parts.

use std::sync::Arc;

use berth_registry::storage::Storage;
use berth_registry::storage::UploadProgress;
use berth_registry::storage::s3::{S3Settings, S3Storage};
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};

use crate::common::data;
use crate::common::minio::{ACCESS_KEY, Minio, SECRET_KEY, bucket_name};
use crate::{MIB, keys, multipart_uploads};

/// The backend on a fresh bucket, with its credentials in a shared credentials file
/// (standalone's `credentialsFile`), kept in the returned directory.
fn storage(minio: &Minio, bucket: &str) -> (Arc<dyn Storage>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credentials");
    std::fs::write(
        &file,
        format!(
            "[default]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
        ),
    )
    .unwrap();
    let mut s = S3Settings::new(bucket);
    s.endpoint = Some(minio.endpoint());
    s.path_style = true;
    s.create_bucket = true;
    s.credentials_file = Some(file);
    (Arc::new(S3Storage::new(s).expect("an S3 backend")), dir)
}

async fn ready(minio: &'static Minio) -> (Arc<dyn Storage>, String, tempfile::TempDir) {
    let bucket = bucket_name();
    let (s, dir) = storage(minio, &bucket);
    s.check()
        .await
        .expect("the bucket is created and reachable");
    (s, bucket, dir)
}

fn shared() -> &'static Minio {
    Minio::shared()
}

/// A fresh bucket on the shared MinIO, for the contract.
async fn empty_storage() -> (Arc<dyn Storage>, tempfile::TempDir) {
    let minio = tokio::task::spawn_blocking(shared).await.unwrap();
    let (s, _, dir) = ready(minio).await;
    (s, dir)
}

/// The `Storage` contract (berth_registry::storage::contract), case by case.
mod contract {
    berth_registry::storage_contract_tests!(super::empty_storage());
}

#[tokio::test(flavor = "multi_thread")]
async fn small_chunks_become_parts_and_publish_without_a_copy() {
    let minio = tokio::task::spawn_blocking(shared).await.unwrap();
    let (s, bucket, _dir) = ready(minio).await;
    let blob = data(37 * MIB, 7);
    let (mut len, mut progress) = (0u64, UploadProgress::default());
    for chunk in blob.chunks(3 * MIB) {
        let body = futures_util::stream::iter([Ok(Bytes::copy_from_slice(chunk))]).boxed();
        (len, progress) = s.upload_write("u1", &progress, len, body).await.unwrap();
    }
    assert_eq!(len, blob.len() as u64);
    // Two 16 MiB parts went out; the other 5 MiB wait in chunk objects.
    let json = &progress.0;
    assert_eq!(json["parts"].as_array().unwrap().len(), 2, "{json}");
    let chunked: u64 = json["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["len"].as_u64().unwrap())
        .sum();
    assert_eq!(chunked, 5 * MIB as u64, "{json}");
    assert_eq!(multipart_uploads(minio, &bucket).await, ["data/u1"]);
    // A write at a wrong offset is refused, not misplaced.
    let stray = futures_util::stream::iter([Ok(Bytes::from_static(b"x"))]).boxed();
    assert!(s.upload_write("u1", &progress, 5, stray).await.is_err());

    let digest = format!(
        "sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&blob))
    )
    .parse()
    .unwrap();
    s.upload_commit("u1", &progress, len, &digest)
        .await
        .unwrap();
    // A retry of the commit (a client retrying its PUT) is harmless.
    s.upload_commit("u1", &progress, len, &digest)
        .await
        .unwrap();
    s.upload_delete("u1").await.unwrap();
    assert_eq!(s.blob_len(&digest).await.unwrap(), Some(len));
    let read: Vec<Bytes> = s
        .blob_read(&digest, 0..len)
        .await
        .unwrap()
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(read.concat(), blob);
    // The bytes stay where the multipart upload put them; the blob key only names them.
    assert_eq!(keys(minio, &bucket, "data/").await, ["data/u1"]);
    assert!(multipart_uploads(minio, &bucket).await.is_empty());
    assert!(keys(minio, &bucket, "uploads/").await.is_empty());
    assert_eq!(s.blob_list().await.unwrap(), vec![digest.clone()]);
    assert!(s.blob_delete(&digest).await.unwrap());
    assert!(keys(minio, &bucket, "data/").await.is_empty());
}
