//! Received bytes kept as the buffers they arrived in, and sent to S3 as a body of those
//! same buffers: a part of 16 MiB is cut from the front of the list without copying a
//! byte (the boundary buffer is split, which shares its memory), so a push's bytes are
//! copied only by the kernel. Collecting them into one contiguous part instead cost 12% of
//! a push's CPU in `memmove` (docs/benchmarks.md).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use aws_smithy_types::body::SdkBody;
use base64::Engine as _;
use bytes::Bytes;
use http_body::{Frame, SizeHint};

use super::S3Body;

/// Buffers in order, with their total length.
#[derive(Clone, Debug, Default)]
pub(super) struct Buffers {
    list: VecDeque<Bytes>,
    len: usize,
}

impl Buffers {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn push(&mut self, bytes: Bytes) {
        if !bytes.is_empty() {
            self.len += bytes.len();
            self.list.push_back(bytes);
        }
    }

    /// Appends `other`'s buffers after these.
    pub(super) fn append(&mut self, other: Buffers) {
        self.len += other.len;
        self.list.extend(other.list);
    }

    /// Takes the first `n` bytes (all of them if there are fewer), leaving the rest.
    pub(super) fn split_to(&mut self, n: usize) -> Buffers {
        let mut front = Buffers::default();
        while front.len < n {
            let Some(mut next) = self.list.pop_front() else {
                break;
            };
            let want = n - front.len;
            if next.len() > want {
                let rest = next.split_off(want);
                self.list.push_front(rest);
            }
            self.len -= next.len();
            front.push(next);
        }
        front
    }

    /// The buffers, in order.
    pub(super) fn into_buffers(self) -> impl Iterator<Item = Bytes> {
        self.list.into_iter()
    }

    /// The base64 CRC32 that S3 checks (`x-amz-checksum-crc32`). Given with the
    /// request, it keeps the SDK from computing its own, which for a body not in one
    /// buffer it would send as a trailer in `aws-chunked` encoding, a wire format not
    /// every S3 implementation speaks; with it the request is a plain PUT, as before.
    pub(super) fn crc32(&self) -> String {
        let mut h = crc32fast::Hasher::new();
        for b in &self.list {
            h.update(b);
        }
        base64::engine::general_purpose::STANDARD.encode(h.finalize().to_be_bytes())
    }

    /// The bytes as an S3 request body of known length that the SDK can replay on a
    /// retry (each replay clones the list, not the bytes).
    pub(super) fn into_body(self) -> S3Body {
        if self.list.len() <= 1 {
            return S3Body::from(self.list.into_iter().next().unwrap_or_default());
        }
        S3Body::new(SdkBody::retryable(move || {
            SdkBody::from_body_1_x(Frames(self.clone()))
        }))
    }

    /// The bytes in one buffer.
    #[cfg(test)]
    fn concat(self) -> Bytes {
        match self.list.len() {
            0 => Bytes::new(),
            1 => self.list.into_iter().next().expect("one buffer"),
            _ => {
                let mut out = Vec::with_capacity(self.len);
                for b in &self.list {
                    out.extend_from_slice(b);
                }
                out.into()
            }
        }
    }
}

impl From<Bytes> for Buffers {
    fn from(bytes: Bytes) -> Self {
        let mut b = Buffers::default();
        b.push(bytes);
        b
    }
}

/// An HTTP body that yields each buffer as a frame.
struct Frames(Buffers);

impl http_body::Body for Frames {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        Poll::Ready(this.0.list.pop_front().map(|b| {
            this.0.len -= b.len();
            Ok(Frame::data(b))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.len as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffers(parts: &[&'static [u8]]) -> Buffers {
        let mut b = Buffers::default();
        for p in parts {
            b.push(Bytes::from_static(p));
        }
        b
    }

    #[test]
    fn split_takes_the_front_and_shares_the_boundary_buffer() {
        let mut b = buffers(&[b"abc", b"", b"defg", b"h"]);
        assert_eq!(b.len(), 8);
        let front = b.split_to(5);
        assert_eq!((front.len(), b.len()), (5, 3));
        assert_eq!(front.concat(), "abcde");
        assert_eq!(b.clone().concat(), "fgh");
        let all = b.split_to(100);
        assert_eq!(all.concat(), "fgh");
        assert!(b.is_empty());
        assert_eq!(b.split_to(1).len(), 0);
    }

    #[test]
    fn append_keeps_order() {
        let mut a = buffers(&[b"ab"]);
        a.append(buffers(&[b"cd", b"e"]));
        assert_eq!(a.len(), 5);
        assert_eq!(a.concat(), "abcde");
    }

    #[test]
    fn the_checksum_is_s3s_crc32_of_all_the_bytes() {
        // CRC32 (IEEE) of "abcdefg" is 0x312a6aa6.
        let want = base64::engine::general_purpose::STANDARD.encode(0x312a6aa6u32.to_be_bytes());
        assert_eq!(buffers(&[b"abc", b"defg"]).crc32(), want);
        assert_eq!(buffers(&[b"abcdefg"]).crc32(), want);
    }

    #[tokio::test]
    async fn the_body_yields_every_byte_with_an_exact_length_and_replays() {
        let body = buffers(&[b"abc", b"defg"]).into_body();
        assert_eq!(body.size_hint(), (7, Some(7)));
        let inner = body.into_inner();
        let again = inner.try_clone().expect("replayable");
        for b in [inner, again] {
            let bytes = S3Body::new(b).collect().await.unwrap().into_bytes();
            assert_eq!(bytes, "abcdefg");
        }
    }
}
