//! Upload data on S3: a multipart upload into `data/<id>`, fed in parts of `PART_SIZE`.
//!
//! A request's bytes go straight into parts as they arrive (several in flight). What is
//! left at the end of a request, less than a part, is stored as a chunk object under
//! `uploads/<id>/` (not kept in memory, since the next request may reach another
//! process). The next request that brings the total past a part's size reads those
//! chunks back (less than one part) and sends them with its own bytes as the next part.
//! Finishing sends the chunks as the last part and completes the upload: no byte is read
//! twice except the small remainders, and the SHA-256 state the caller keeps means the
//! blob is never re-read to be verified.
//!
//! The parts, chunks and multipart upload id are the `UploadProgress` that the caller
//! persists with its hash state after each request. A request that fails part-way leaves
//! only parts that the next request overwrites (same numbers) or that completion skips,
//! and chunk objects that nothing names; all are removed with the session.

use bytes::Bytes;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use super::buffers::Buffers;
use super::{META_DATA_KEY, META_SIZE, S3Storage, classify, is_not_found};
use crate::oci::digest::Digest;
use crate::storage::{ByteStream, Result, StorageError, UploadProgress};

/// The size of every part but the last (S3 wants at least 5 MiB).
pub(super) const PART_SIZE: usize = 16 * 1024 * 1024;
/// Parts uploaded concurrently by one request.
const PARTS_IN_FLIGHT: usize = 4;

/// An upload's bytes as stored so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Progress {
    /// The multipart upload into `data/<id>`, once a first part was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    multipart: Option<String>,
    /// Sent parts, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    parts: Vec<Part>,
    /// Chunk objects holding the bytes after the parts, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    chunks: Vec<Chunk>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Part {
    number: i32,
    etag: String,
    len: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Chunk {
    /// The object's key without the storage prefix.
    key: String,
    len: u64,
}

impl Progress {
    fn parse(p: &UploadProgress) -> Result<Progress> {
        if p.is_empty() {
            return Ok(Progress::default());
        }
        serde_json::from_value(p.0.clone())
            .map_err(|e| StorageError::Corrupt(format!("S3 upload progress: {e}")))
    }

    fn to_progress(&self) -> UploadProgress {
        if *self == Progress::default() {
            return UploadProgress::default();
        }
        UploadProgress(serde_json::to_value(self).expect("progress serializes"))
    }

    fn len(&self) -> u64 {
        let parts: u64 = self.parts.iter().map(|p| p.len).sum();
        parts + self.chunked()
    }

    fn chunked(&self) -> u64 {
        self.chunks.iter().map(|c| c.len).sum()
    }

    fn next_part_number(&self) -> i32 {
        self.parts.last().map_or(1, |p| p.number + 1)
    }
}

impl S3Storage {
    fn data_key(&self, id: &str) -> String {
        self.key(&format!("data/{id}"))
    }

    fn part_target(&self, id: &str, upload_id: &str) -> PartTarget {
        PartTarget {
            client: self.client.clone(),
            bucket: self.bucket().to_owned(),
            place: self.place.clone(),
            key: self.data_key(id),
            upload_id: upload_id.to_owned(),
        }
    }

    pub(super) async fn write_upload(
        &self,
        id: &str,
        progress: &UploadProgress,
        offset: u64,
        mut body: ByteStream,
    ) -> Result<(u64, UploadProgress)> {
        let progress = Progress::parse(progress)?;
        if progress.len() != offset {
            return Err(StorageError::Corrupt(format!(
                "upload {id} holds {} bytes, its state records {offset}",
                progress.len()
            )));
        }
        let mut writer = PartWriter {
            s3: self,
            id,
            next_number: progress.next_part_number(),
            progress,
            buffer: Buffers::default(),
            in_flight: JoinSet::new(),
        };
        while let Some(item) = body.next().await {
            // Dropping the writer on an error cancels its parts in flight.
            writer.push(item.map_err(StorageError::Body)?).await?;
        }
        let progress = writer.finish().await?;
        Ok((progress.len(), progress.to_progress()))
    }

    pub(super) async fn read_upload(
        &self,
        id: &str,
        progress: &UploadProgress,
        len: u64,
    ) -> Result<ByteStream> {
        let progress = Progress::parse(progress)?;
        if progress.multipart.is_none() {
            let bytes = self.read_chunks(&progress.chunks).await?;
            return Ok(futures_util::stream::iter(bytes.into_buffers().map(Ok)).boxed());
        }
        // Parts in flight cannot be read: complete the upload first (commit then finds
        // it completed).
        self.complete(id, &progress, len).await?;
        self.read_range(&self.data_key(id), 0..len)
            .await?
            .ok_or_else(|| StorageError::Corrupt(format!("upload {id} vanished")))
    }

    pub(super) async fn commit_upload(
        &self,
        id: &str,
        progress: &UploadProgress,
        len: u64,
        digest: &Digest,
    ) -> Result<()> {
        let progress = Progress::parse(progress)?;
        if progress.len() != len {
            return Err(StorageError::Corrupt(format!(
                "upload {id} holds {} bytes, not {len}",
                progress.len()
            )));
        }
        if self.descriptor(digest).await?.is_some() {
            return Ok(()); // content-addressed: the stored copy has these very bytes
        }
        let blob_key = self.blob_key(digest);
        if progress.multipart.is_none() {
            // Less than a part: one atomic write of the verified bytes.
            let bytes = self.read_chunks(&progress.chunks).await?;
            if self.put_object(&blob_key, bytes, true, &[]).await? {
                self.remember(digest, blob_key, len);
            }
            return Ok(());
        }
        self.complete(id, &progress, len).await?;
        let data_key = format!("data/{id}");
        let metadata = [(META_DATA_KEY, data_key), (META_SIZE, len.to_string())];
        let published = self
            .put_object(&blob_key, Bytes::new(), true, &metadata)
            .await?;
        if published {
            self.remember(digest, self.data_key(id), len);
        } else {
            // Another upload of the same bytes won; ours is a spare copy.
            self.delete_object(&self.data_key(id)).await?;
        }
        Ok(())
    }

    /// Sends the chunks as the last part and completes the multipart upload into
    /// `data/<id>`. Done already (a retry, or `read_upload`) is fine.
    async fn complete(&self, id: &str, progress: &Progress, len: u64) -> Result<()> {
        let data_key = self.data_key(id);
        if let Some(head) = self.head_object(&data_key).await? {
            return match head.content_length() {
                Some(n) if n as u64 == len => Ok(()),
                n => Err(StorageError::Corrupt(format!(
                    "completed upload {id} holds {n:?} bytes, not {len}"
                ))),
            };
        }
        let upload_id = progress.multipart.as_deref().expect("a multipart upload");
        let mut parts = progress.parts.clone();
        if !progress.chunks.is_empty() {
            let bytes = self.read_chunks(&progress.chunks).await?;
            let number = progress.next_part_number();
            parts.push(self.part_target(id, upload_id).send(number, bytes).await?);
        }
        let completed = aws_sdk_s3::types::CompletedMultipartUpload::builder()
            .set_parts(Some(
                parts
                    .iter()
                    .map(|p| {
                        aws_sdk_s3::types::CompletedPart::builder()
                            .part_number(p.number)
                            .e_tag(&p.etag)
                            .build()
                    })
                    .collect(),
            ))
            .build();
        self.client
            .complete_multipart_upload()
            .bucket(self.bucket())
            .key(&data_key)
            .upload_id(upload_id)
            .multipart_upload(completed)
            .send()
            .await
            .map_err(self.fail("completing a multipart upload"))?;
        Ok(())
    }

    /// Reads chunk objects back, in order (less than one part in all).
    async fn read_chunks(&self, chunks: &[Chunk]) -> Result<Buffers> {
        let mut out = Buffers::default();
        for chunk in chunks {
            out.push(self.read_chunk(chunk).await?);
        }
        Ok(out)
    }

    async fn read_chunk(&self, chunk: &Chunk) -> Result<Bytes> {
        let bytes = self
            .get_object(&self.key(&chunk.key))
            .await?
            .ok_or_else(|| StorageError::Corrupt(format!("upload chunk {} is gone", chunk.key)))?;
        if bytes.len() as u64 != chunk.len {
            return Err(StorageError::Corrupt(format!(
                "upload chunk {} holds {} bytes, not {}",
                chunk.key,
                bytes.len(),
                chunk.len
            )));
        }
        Ok(bytes)
    }

    /// Aborts the session's multipart upload, if one is in progress, and removes its
    /// chunks and metadata. A completed `data/<id>` stays: it may be a published blob.
    pub(super) async fn delete_upload(&self, id: &str) -> Result<()> {
        let data_key = self.data_key(id);
        let uploads = self
            .client
            .list_multipart_uploads()
            .bucket(self.bucket())
            .prefix(&data_key)
            .send()
            .await
            .map_err(self.fail("listing multipart uploads"))?;
        for upload in uploads.uploads() {
            let (Some(key), Some(upload_id)) = (upload.key(), upload.upload_id()) else {
                continue;
            };
            if key != data_key {
                continue;
            }
            match self
                .client
                .abort_multipart_upload()
                .bucket(self.bucket())
                .key(key)
                .upload_id(upload_id)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(self.fail("aborting a multipart upload")(e)),
            }
        }
        let keys = self.list_keys(&self.key(&format!("uploads/{id}/"))).await?;
        for batch in keys.chunks(1000) {
            let objects = batch
                .iter()
                .map(|k| {
                    aws_sdk_s3::types::ObjectIdentifier::builder()
                        .key(k)
                        .build()
                        .expect("a key is set")
                })
                .collect();
            let delete = aws_sdk_s3::types::Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .expect("objects are set");
            self.client
                .delete_objects()
                .bucket(self.bucket())
                .delete(delete)
                .send()
                .await
                .map_err(self.fail("deleting an upload"))?;
        }
        Ok(())
    }
}

/// Where parts go: owned, so each part can be sent from a task of its own.
#[derive(Clone)]
struct PartTarget {
    client: aws_sdk_s3::Client,
    bucket: String,
    place: String,
    key: String,
    upload_id: String,
}

impl PartTarget {
    async fn send(self, number: i32, bytes: Buffers) -> Result<Part> {
        let len = bytes.len() as u64;
        let crc32 = bytes.crc32();
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .part_number(number)
            .content_length(len as i64)
            .checksum_crc32(crc32)
            .body(bytes.into_body())
            // See `put_object`: the CRC32 checksum still guards the bytes.
            .customize()
            .disable_payload_signing()
            .send()
            .await
            .map_err(|e| classify(e, &self.place, "uploading a part"))?;
        let etag = out
            .e_tag()
            .ok_or_else(|| StorageError::Corrupt("S3 answered a part without an ETag".into()))?;
        Ok(Part {
            number,
            etag: etag.to_owned(),
            len,
        })
    }
}

/// Cuts one request's bytes into parts.
struct PartWriter<'a> {
    s3: &'a S3Storage,
    id: &'a str,
    progress: Progress,
    next_number: i32,
    /// Received bytes not yet in a part, as they arrived.
    buffer: Buffers,
    in_flight: JoinSet<Result<Part>>,
}

impl PartWriter<'_> {
    async fn push(&mut self, chunk: Bytes) -> Result<()> {
        self.buffer.push(chunk);
        while self.progress.chunked() as usize + self.buffer.len() >= PART_SIZE {
            self.cut_part().await?;
        }
        Ok(())
    }

    /// Sends the stored chunks and the first received bytes as one part of `PART_SIZE`.
    async fn cut_part(&mut self) -> Result<()> {
        let stored = self.progress.chunked() as usize;
        let take = self.buffer.split_to(PART_SIZE - stored);
        let part = if stored == 0 {
            take
        } else {
            let mut part = self.s3.read_chunks(&self.progress.chunks).await?;
            part.append(take);
            self.progress.chunks.clear();
            part
        };
        let upload_id = match &self.progress.multipart {
            Some(id) => id.clone(),
            None => {
                let created = self
                    .s3
                    .client
                    .create_multipart_upload()
                    .bucket(self.s3.bucket())
                    .key(self.s3.data_key(self.id))
                    .send()
                    .await
                    .map_err(self.s3.fail("starting a multipart upload"))?;
                let id = created.upload_id().ok_or_else(|| {
                    StorageError::Corrupt("S3 started a multipart upload without an id".into())
                })?;
                self.progress.multipart = Some(id.to_owned());
                id.to_owned()
            }
        };
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.join_one().await?;
        }
        let target = self.s3.part_target(self.id, &upload_id);
        let number = self.next_number;
        self.next_number += 1;
        self.in_flight.spawn(target.send(number, part));
        Ok(())
    }

    async fn join_one(&mut self) -> Result<()> {
        if let Some(done) = self.in_flight.join_next().await {
            let part = done.map_err(|e| {
                StorageError::Io(std::io::Error::other(format!(
                    "part upload task failed: {e}"
                )))
            })??;
            self.progress.parts.push(part);
        }
        Ok(())
    }

    /// Waits for the parts in flight and stores the remainder as a chunk object.
    async fn finish(mut self) -> Result<Progress> {
        while !self.in_flight.is_empty() {
            self.join_one().await?;
        }
        self.progress.parts.sort_by_key(|p| p.number);
        if !self.buffer.is_empty() {
            let key = format!("uploads/{}/chunk-{}", self.id, uuid::Uuid::new_v4());
            let len = self.buffer.len() as u64;
            let data = std::mem::take(&mut self.buffer);
            self.s3
                .put_object(&self.s3.key(&key), data, false, &[])
                .await?;
            self.progress.chunks.push(Chunk { key, len });
        }
        Ok(self.progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips_and_counts_its_bytes() {
        let p = Progress {
            multipart: Some("mp".into()),
            parts: vec![Part {
                number: 1,
                etag: "\"e\"".into(),
                len: PART_SIZE as u64,
            }],
            chunks: vec![Chunk {
                key: "uploads/u/chunk-1".into(),
                len: 7,
            }],
        };
        assert_eq!(p.len(), PART_SIZE as u64 + 7);
        assert_eq!(p.next_part_number(), 2);
        assert_eq!(Progress::parse(&p.to_progress()).unwrap(), p);
        assert!(Progress::default().to_progress().is_empty());
        assert_eq!(
            Progress::parse(&UploadProgress::default()).unwrap(),
            Progress::default()
        );
        assert!(matches!(
            Progress::parse(&UploadProgress(serde_json::json!({"parts": 3}))),
            Err(StorageError::Corrupt(_))
        ));
    }
}
