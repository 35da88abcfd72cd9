//! S3 storage on a real MinIO (started by the tests): replicas sharing one bucket behind
//! a round-robin proxy, outages and bad settings, redirects, and the backend itself.

#[path = "../common/mod.rs"]
mod common;

mod api;
mod backend;
mod faults;
mod gc;
mod redirect;
mod replicas;
mod tls;

use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use common::minio::{ACCESS_KEY, Minio, SECRET_KEY};
use common::{Berth, sha256, with_digest};

const MIB: usize = 1024 * 1024;

/// A registry on `bucket` of `minio`, ready; `storage` adds `storage.s3` fields,
/// `storage` fields and whole `spec` lines, e.g. `("redirect: true", "", "")`.
pub fn berth_on(minio: &Minio, bucket: &str, extra: (&str, &str, &str)) -> Berth {
    Berth::start_ready(&config_on(minio, bucket, extra))
}

/// The `Registry` for [`berth_on`].
pub fn config_on(minio: &Minio, bucket: &str, (s3, storage, spec): (&str, &str, &str)) -> String {
    let mut fields = minio.storage_yaml(bucket, s3);
    if !storage.is_empty() {
        fields = format!("{fields}, {storage}");
    }
    format!("{}{spec}", Berth::config(&fields))
}

/// A plain S3 client for looking into a bucket behind the registry's back.
pub fn s3_client(minio: &Minio) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(minio.endpoint())
        .force_path_style(true)
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test"))
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Every key in `bucket` under `prefix`.
pub async fn keys(minio: &Minio, bucket: &str, prefix: &str) -> Vec<String> {
    let out = s3_client(minio)
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("listing the bucket");
    out.contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// Multipart uploads in progress in `bucket`.
pub async fn multipart_uploads(minio: &Minio, bucket: &str) -> Vec<String> {
    let out = s3_client(minio)
        .list_multipart_uploads()
        .bucket(bucket)
        .send()
        .await
        .expect("listing multipart uploads");
    out.uploads()
        .iter()
        .filter_map(|u| u.key().map(str::to_owned))
        .collect()
}

/// POSTs a new upload session; returns its Location.
pub async fn start_upload(client: &reqwest::Client, berth: &Berth, repo: &str) -> String {
    let r = client
        .post(berth.url(&format!("/v2/{repo}/blobs/uploads/")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    location(&r)
}

/// A response's Location header.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// PATCHes `chunk` at `start`; returns the next Location, asserting a 202.
pub async fn patch(
    client: &reqwest::Client,
    berth: &Berth,
    location: &str,
    start: usize,
    chunk: &[u8],
) -> String {
    let r = client
        .patch(berth.url(location))
        .header(
            "content-range",
            format!("{start}-{}", start + chunk.len() - 1),
        )
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap();
    if r.status() != 202 {
        panic!("PATCH at {start}: {} {:?}", r.status(), r.text().await);
    }
    self::location(&r)
}

/// Finishes an upload of `blob` with a body-less PUT, asserting a 201.
pub async fn finish(client: &reqwest::Client, berth: &Berth, location: &str, blob: &[u8]) {
    let r = client
        .put(berth.url(&with_digest(location, &sha256(blob))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
}

/// GETs blob `digest` of `repo` and checks its bytes.
pub async fn assert_blob(client: &reqwest::Client, berth: &Berth, repo: &str, blob: &[u8]) {
    let digest = sha256(blob);
    let r = client
        .get(berth.url(&format!("/v2/{repo}/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{digest} on {}", berth.host());
    let got = r.bytes().await.unwrap();
    assert_eq!(got.len(), blob.len());
    assert_eq!(sha256(&got), digest);
}

/// How long the tests give a condition that should hold promptly.
pub const PROMPTLY: Duration = Duration::from_secs(30);

/// Pushes an image manifest with `config` as its config blob to `repo:tag` through
/// `berth` (a monolithic upload and a manifest PUT); returns the manifest's digest.
pub async fn push_manifest(
    client: &reqwest::Client,
    berth: &Berth,
    repo: &str,
    tag: &str,
    layer: &[u8],
) -> String {
    let digest = sha256(layer);
    let r = client
        .post(berth.url(&format!("/v2/{repo}/blobs/uploads/?digest={digest}")))
        .body(layer.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest, "size": layer.len()},
        "layers": [],
    })
    .to_string();
    let r = client
        .put(berth.url(&format!("/v2/{repo}/manifests/{tag}")))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    sha256(manifest.as_bytes())
}
