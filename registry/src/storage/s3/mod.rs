//! S3 storage (AWS S3, MinIO, any S3-compatible store), on the AWS SDK.
//!
//! ```text
//! <prefix>repositories/…, uploads/<id>/state  metadata objects (see content::keys)
//! <prefix>blobs/<alg>/<hex[..2]>/<hex>        a blob: its bytes, or, for a blob that was
//!                                             uploaded in parts, an empty descriptor
//!                                             whose metadata names its bytes' object
//! <prefix>data/<upload id>                    a multipart-uploaded blob's bytes
//! <prefix>uploads/<id>/chunk-<uuid>           an upload's bytes not yet in a part
//! ```
//!
//! Publishing is verify-then-publish without copying: an upload's multipart upload is
//! completed into `data/<id>` (a key nobody reads), and only then, its digest verified,
//! is the descriptor written under the blob's key. Small blobs are one `PutObject` of
//! verified bytes. Both publishes are single atomic writes, conditional on the key being
//! free, so two uploads of one blob agree on a winner. See `multipart.rs` for uploads.

use std::io;
use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use buffers::Buffers;
use bytes::Bytes;

use super::{BlobStat, ByteStream, Result, Storage, StorageError, UploadProgress};
use crate::oci::digest::Digest;

mod buffers;
mod client;
mod multipart;
mod read;

use client::{classify, is_not_found, is_precondition_failed};

/// How long a redirect's presigned URL stays valid.
const REDIRECT_TTL: Duration = Duration::from_secs(15 * 60);
/// Blob descriptors cached (immutable by digest, so cached freely).
const DESCRIPTOR_CACHE_ENTRIES: u64 = 100_000;
/// Object metadata naming the object that holds a descriptor's bytes.
const META_DATA_KEY: &str = "berth-data";
/// Object metadata holding a descriptor's blob length.
const META_SIZE: &str = "berth-size";

/// Where and how to reach the bucket (`spec.storage.s3` of the `Registry`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// An S3-compatible endpoint such as `http://127.0.0.1:9000`; AWS when unset.
    pub endpoint: Option<String>,
    /// `endpoint/bucket/key` addressing instead of `bucket.endpoint/key` (MinIO wants it).
    pub path_style: bool,
    /// An AWS shared credentials file; the environment and `~/.aws` when unset.
    pub credentials_file: Option<PathBuf>,
    /// Prepended to every key, so several registries can share a bucket.
    pub prefix: String,
    /// Blob GETs answer `307` to a presigned URL instead of streaming the bytes.
    pub redirect: bool,
    /// The readiness probe creates the bucket when it is missing.
    pub create_bucket: bool,
    /// PEM certificates trusted for the endpoint besides the system's roots (a private
    /// CA), so verification never has to be turned off.
    pub ca_bundle: Option<PathBuf>,
}

impl S3Settings {
    /// Settings for `bucket` with the defaults of everything else.
    pub fn new(bucket: impl Into<String>) -> Self {
        S3Settings {
            bucket: bucket.into(),
            region: "us-east-1".into(),
            endpoint: None,
            path_style: false,
            credentials_file: None,
            prefix: String::new(),
            redirect: false,
            create_bucket: false,
            ca_bundle: None,
        }
    }
}

/// Where a blob's bytes are.
#[derive(Clone, Debug)]
struct BlobDescriptor {
    len: u64,
    /// The full object key holding the bytes.
    key: String,
}

/// Storage in an S3 bucket.
pub struct S3Storage {
    client: Client,
    settings: S3Settings,
    /// `bucket "b" at http://…`, for messages.
    place: String,
    descriptors: moka::sync::Cache<Digest, BlobDescriptor>,
}

impl S3Storage {
    /// A backend for `settings`; nothing is contacted until the first call. Fails only
    /// when the CA bundle cannot be read or holds no certificate.
    pub fn new(settings: S3Settings) -> std::io::Result<Self> {
        let ca = match &settings.ca_bundle {
            None => None,
            Some(path) => Some(client::read_ca_bundle(path)?),
        };
        Ok(S3Storage {
            client: client::build(&settings, ca),
            place: client::describe(&settings),
            settings,
            descriptors: moka::sync::Cache::new(DESCRIPTOR_CACHE_ENTRIES),
        })
    }

    fn bucket(&self) -> &str {
        &self.settings.bucket
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.settings.prefix)
    }

    fn blob_key(&self, digest: &Digest) -> String {
        let hex = digest.hex();
        self.key(&format!(
            "blobs/{}/{}/{hex}",
            digest.algorithm().as_str(),
            &hex[..2]
        ))
    }

    fn fail<E, R>(
        &self,
        doing: &str,
    ) -> impl FnOnce(aws_sdk_s3::error::SdkError<E, R>) -> StorageError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + client::HttpStatus,
    {
        let (place, doing) = (self.place.clone(), doing.to_owned());
        move |e| classify(e, &place, &doing)
    }

    /// Reads a whole (small) object; `None` if absent.
    async fn get_object(&self, key: &str) -> Result<Option<Bytes>> {
        let out = match self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(self.fail("reading an object")(e)),
        };
        let body = out.body.collect().await.map_err(|e| {
            StorageError::Unavailable(format!(
                "reading an object from S3 {} failed: {e}",
                self.place
            ))
        })?;
        Ok(Some(body.into_bytes()))
    }

    /// Writes an object; with `if_absent`, only when the key is free (`false` if taken).
    async fn put_object(
        &self,
        key: &str,
        data: impl Into<Buffers>,
        if_absent: bool,
        metadata: &[(&str, String)],
    ) -> Result<bool> {
        let data = data.into();
        let mut put = self
            .client
            .put_object()
            .bucket(self.bucket())
            .key(key)
            .content_length(data.len() as i64)
            .checksum_crc32(data.crc32())
            .body(data.into_body());
        if if_absent {
            put = put.if_none_match("*");
        }
        for (k, v) in metadata {
            put = put.metadata(*k, v);
        }
        // Over plain HTTP the SDK would sign a SHA-256 of every payload: a second hash
        // of each blob, on top of the digest's. The request's CRC32 checksum (which S3
        // verifies) still guards the bytes, and the signature still covers the request
        // (the checksum header with it).
        match put.customize().disable_payload_signing().send().await {
            Ok(_) => Ok(true),
            Err(e) if if_absent && is_precondition_failed(&e) => Ok(false),
            Err(e) => Err(self.fail("writing an object")(e)),
        }
    }

    /// Whether an object exists.
    async fn head_object(
        &self,
        key: &str,
    ) -> Result<Option<aws_sdk_s3::operation::head_object::HeadObjectOutput>> {
        match self
            .client
            .head_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(out)),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.fail("looking up an object")(e)),
        }
    }

    async fn delete_object(&self, key: &str) -> Result<()> {
        self.client
            .delete_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
            .map_err(self.fail("deleting an object"))?;
        Ok(())
    }

    /// Every blob key's digest and object size, from the listing.
    async fn blob_objects(&self) -> Result<Vec<(Digest, u64)>> {
        let prefix = self.key("blobs/");
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(self.fail("listing objects"))?;
            for object in page.contents() {
                let digest = object.key().and_then(|k| {
                    let rest = k.strip_prefix(&prefix)?;
                    let (alg, rest) = rest.split_once('/')?;
                    let hex = rest.rsplit('/').next()?;
                    format!("{alg}:{hex}").parse::<Digest>().ok()
                });
                if let Some(d) = digest {
                    out.push((d, object.size().unwrap_or(0).max(0) as u64));
                }
            }
        }
        Ok(out)
    }

    /// Every key under `prefix` (recursively), for sweeping.
    async fn list_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(self.fail("listing objects"))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    /// Where blob `digest`'s bytes are, from memory when seen before.
    async fn descriptor(&self, digest: &Digest) -> Result<Option<BlobDescriptor>> {
        if let Some(d) = self.descriptors.get(digest) {
            return Ok(Some(d));
        }
        let key = self.blob_key(digest);
        let Some(head) = self.head_object(&key).await? else {
            return Ok(None);
        };
        self.describe(digest, key, &head).map(Some)
    }

    /// Blob `digest`'s descriptor from the `HEAD` of its key, remembered.
    fn describe(
        &self,
        digest: &Digest,
        key: String,
        head: &aws_sdk_s3::operation::head_object::HeadObjectOutput,
    ) -> Result<BlobDescriptor> {
        let meta = head.metadata();
        let descriptor = match meta.and_then(|m| m.get(META_DATA_KEY)) {
            Some(data) => BlobDescriptor {
                key: self.key(data),
                len: meta
                    .and_then(|m| m.get(META_SIZE))
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| {
                        StorageError::Corrupt(format!("blob descriptor {key} has no valid size"))
                    })?,
            },
            None => BlobDescriptor {
                key,
                len: head.content_length().unwrap_or(0).max(0) as u64,
            },
        };
        self.remember(digest, descriptor.key.clone(), descriptor.len);
        Ok(descriptor)
    }

    fn remember(&self, digest: &Digest, key: String, len: u64) {
        self.descriptors
            .insert(digest.clone(), BlobDescriptor { len, key });
    }

    /// Creates the bucket (for `createBucket: true`).
    async fn create_bucket(&self) -> Result<()> {
        let mut create = self.client.create_bucket().bucket(self.bucket());
        if self.settings.region != "us-east-1" {
            create = create.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(self.settings.region.as_str().into())
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.code(), Some("BucketAlreadyOwnedByYou")) => Ok(()),
            Err(e) => Err(self.fail("creating the bucket")(e)),
        }
    }
}

use aws_sdk_s3::error::ProvideErrorMetadata as _;

/// An object's `LastModified`: the store's own clock, to the second.
fn last_modified(
    head: &aws_sdk_s3::operation::head_object::HeadObjectOutput,
    key: &str,
) -> Result<jiff::Timestamp> {
    head.last_modified()
        .and_then(|t| jiff::Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok())
        .ok_or_else(|| StorageError::Corrupt(format!("S3 gave {key} no valid LastModified")))
}

#[async_trait]
impl Storage for S3Storage {
    async fn check(&self) -> Result<()> {
        let head = self.client.head_bucket().bucket(self.bucket()).send().await;
        let Err(e) = head else { return Ok(()) };
        let status = e.raw_response().map(|r| r.status().as_u16());
        if status == Some(404) {
            if self.settings.create_bucket {
                return self.create_bucket().await;
            }
            return Err(StorageError::Unavailable(format!(
                "{} does not exist (create it, or set storage.s3.createBucket: true)",
                self.place
            )));
        }
        if status.is_some() {
            // HEAD answers carry no error code; a listing names the problem
            // (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied, …).
            self.client
                .list_objects_v2()
                .bucket(self.bucket())
                .max_keys(1)
                .send()
                .await
                .map_err(self.fail("checking the bucket"))?;
        }
        Err(self.fail("checking the bucket")(e))
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        self.get_object(&self.key(key)).await
    }

    async fn put(&self, key: &str, value: Bytes) -> Result<()> {
        self.put_object(&self.key(key), value, false, &[])
            .await
            .map(drop)
    }

    async fn put_if_absent(&self, key: &str, value: Bytes) -> Result<bool> {
        self.put_object(&self.key(key), value, true, &[]).await
    }

    async fn modified(&self, key: &str) -> Result<Option<jiff::Timestamp>> {
        let Some(head) = self.head_object(&self.key(key)).await? else {
            return Ok(None);
        };
        last_modified(&head, key).map(Some)
    }

    async fn delete(&self, key: &str) -> Result<bool> {
        let key = self.key(key);
        // S3 deletes answer the same whether or not the key existed.
        if self.head_object(&key).await?.is_none() {
            return Ok(false);
        }
        self.delete_object(&key).await?;
        Ok(true)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let dir = format!("{}/", self.key(prefix));
        let mut names = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(self.bucket())
            .prefix(&dir)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(self.fail("listing objects"))?;
            let objects = page.contents().iter().filter_map(|o| o.key());
            let prefixes = page
                .common_prefixes()
                .iter()
                .filter_map(|p| p.prefix())
                .map(|p| p.trim_end_matches('/'));
            names.extend(
                objects
                    .chain(prefixes)
                    .filter_map(|k| k.strip_prefix(&dir))
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
            );
        }
        Ok(names)
    }

    async fn blob_len(&self, digest: &Digest) -> Result<Option<u64>> {
        Ok(self.descriptor(digest).await?.map(|d| d.len))
    }

    async fn blob_stat(&self, digest: &Digest) -> Result<Option<BlobStat>> {
        // From the store: a descriptor cached here may name a blob collected since.
        self.descriptors.invalidate(digest);
        let key = self.blob_key(digest);
        let Some(head) = self.head_object(&key).await? else {
            return Ok(None);
        };
        let modified = last_modified(&head, &key)?;
        let len = self.describe(digest, key, &head)?.len;
        Ok(Some(BlobStat { len, modified }))
    }

    async fn blob_read(&self, digest: &Digest, range: Range<u64>) -> Result<Option<ByteStream>> {
        let Some(descriptor) = self.descriptor(digest).await? else {
            return Ok(None);
        };
        let body = self.read_range(&descriptor.key, range).await?;
        if body.is_none() {
            // Deleted by another process since it was cached.
            self.descriptors.invalidate(digest);
        }
        Ok(body)
    }

    async fn blob_put(&self, digest: &Digest, data: Bytes) -> Result<()> {
        if self.descriptor(digest).await?.is_some() {
            return Ok(());
        }
        // Taken meanwhile means published by another upload of the same bytes.
        self.put_object(&self.blob_key(digest), data, true, &[])
            .await
            .map(drop)
    }

    async fn blob_delete(&self, digest: &Digest) -> Result<bool> {
        self.descriptors.invalidate(digest);
        let Some(descriptor) = self.descriptor(digest).await? else {
            return Ok(false);
        };
        self.descriptors.invalidate(digest);
        let key = self.blob_key(digest);
        self.delete_object(&key).await?;
        if descriptor.key != key {
            self.delete_object(&descriptor.key).await?;
        }
        Ok(true)
    }

    async fn blob_list(&self) -> Result<Vec<Digest>> {
        Ok(self
            .blob_objects()
            .await?
            .into_iter()
            .map(|(d, _)| d)
            .collect())
    }

    async fn blob_list_sizes(&self) -> Result<Vec<(Digest, u64)>> {
        let mut out = Vec::new();
        for (digest, size) in self.blob_objects().await? {
            // An empty object is the empty blob, or a descriptor naming a larger one's
            // bytes: its length is in its metadata.
            let len = match size {
                0 => self.descriptor(&digest).await?.map_or(0, |d| d.len),
                n => n,
            };
            out.push((digest, len));
        }
        Ok(out)
    }

    async fn blob_url(&self, digest: &Digest) -> Result<Option<String>> {
        if !self.settings.redirect {
            return Ok(None);
        }
        let Some(descriptor) = self.descriptor(digest).await? else {
            return Ok(None);
        };
        let presigning = PresigningConfig::expires_in(REDIRECT_TTL)
            .map_err(|e| StorageError::Io(io::Error::other(e)))?;
        let request = self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(&descriptor.key)
            .presigned(presigning)
            .await
            .map_err(self.fail("presigning a blob URL"))?;
        Ok(Some(request.uri().to_owned()))
    }

    async fn upload_write(
        &self,
        id: &str,
        progress: &UploadProgress,
        offset: u64,
        body: ByteStream,
    ) -> Result<(u64, UploadProgress)> {
        self.write_upload(id, progress, offset, body).await
    }

    async fn upload_read(
        &self,
        id: &str,
        progress: &UploadProgress,
        len: u64,
    ) -> Result<ByteStream> {
        self.read_upload(id, progress, len).await
    }

    async fn upload_commit(
        &self,
        id: &str,
        progress: &UploadProgress,
        len: u64,
        digest: &Digest,
    ) -> Result<()> {
        self.commit_upload(id, progress, len, digest).await
    }

    async fn upload_delete(&self, id: &str) -> Result<()> {
        self.delete_upload(id).await
    }
}
