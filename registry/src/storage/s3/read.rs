//! Reading blobs: one streamed, ranged `GetObject`, passed on as it arrives.
//!
//! (Reading large blobs as several ranged GETs at once was measured and was slower here:
//! see docs/benchmarks.md.)

use std::io;
use std::ops::Range;

use aws_sdk_s3::primitives::ByteStream as S3Body;
use futures_util::StreamExt;

use super::{S3Storage, is_not_found};
use crate::storage::{ByteStream, Result};

impl S3Storage {
    /// Streams `range` of object `key`; `None` if it is gone.
    pub(super) async fn read_range(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<Option<ByteStream>> {
        if range.is_empty() {
            return Ok(Some(futures_util::stream::empty().boxed()));
        }
        match self
            .client
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .range(http_range(&range))
            .send()
            .await
        {
            Ok(out) => Ok(Some(body_stream(out.body))),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(self.fail("reading a blob")(e)),
        }
    }
}

/// An HTTP `Range` value (inclusive) for a half-open range.
fn http_range(range: &Range<u64>) -> String {
    format!("bytes={}-{}", range.start, range.end - 1)
}

/// Bytes gathered from the S3 response before they go on to the client: the SDK hands
/// over the frames it receives (16 KiB and less), and writing each to the client's
/// socket costs more than copying them into one buffer.
const FRAME: usize = 256 * 1024;

/// An S3 response body as the registry's byte stream, in frames of up to `FRAME`.
fn body_stream(body: S3Body) -> ByteStream {
    futures_util::stream::try_unfold(Some(body), |body| async move {
        let Some(mut body) = body else {
            return Ok(None);
        };
        let mut frame = bytes::BytesMut::new();
        loop {
            match body.try_next().await.map_err(io::Error::other)? {
                // A frame that is large by itself goes on without a copy.
                Some(chunk) if frame.is_empty() && chunk.len() >= FRAME => {
                    return Ok(Some((chunk, Some(body))));
                }
                Some(chunk) => {
                    if frame.is_empty() {
                        frame.reserve(FRAME);
                    }
                    frame.extend_from_slice(&chunk);
                    if frame.len() >= FRAME {
                        return Ok(Some((frame.freeze(), Some(body))));
                    }
                }
                None if frame.is_empty() => return Ok(None),
                None => return Ok(Some((frame.freeze(), None))),
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_in_http() {
        assert_eq!(http_range(&(0..1)), "bytes=0-0");
        assert_eq!(http_range(&(8..16)), "bytes=8-15");
    }
}
