//! Streaming a file's bytes to a response as fast as safe code allows.
//!
//! `sendfile` would skip user space altogether, but hyper's body takes owned buffers and
//! the workspace forbids `unsafe`, so the best left is one copy in (the page cache into a
//! buffer) and hyper's write out. Each chunk is read by one blocking task straight into
//! the buffer that is sent: no second copy through `tokio::fs::File`'s own buffer, and
//! the next chunk's read starts as the previous one is handed to hyper, so disk reads
//! overlap socket writes. No thread is held while a slow client drains its chunk.

use std::fs::File;
use std::io::{self, Read};

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::storage::ByteStream;

/// Bytes read per chunk (and per blocking task) when streaming a file. Measured against
/// 128 KiB and 1 MiB (`bench/run.sh`, 100 MiB GETs): 1 MiB chunks cost ~40% more CPU per
/// GiB, as buffers that large are fresh pages each time and no longer fit the cache
/// that the socket copy reads them from.
pub(super) const READ_CHUNK: u64 = 256 * 1024;

type Chunk = io::Result<(File, Bytes)>;

/// The chunk a stream hands out next: already read, or being read.
enum Next {
    Ready(Chunk),
    Reading(JoinHandle<Chunk>),
}

/// The length of the next chunk of a stream that has `left` bytes to go, and a buffer
/// for it.
///
/// Allocated by the caller, on a runtime thread, before the blocking task that fills it:
/// glibc's malloc gives every thread that allocates its own arena (up to 8 per core),
/// and each arena keeps freed chunks of this size for reuse. Allocated on the few runtime
/// threads, the chunks of every stream share their arenas; allocated on the blocking
/// pool's threads, they kept ~30 MiB more resident after a bench's concurrent GETs
/// (`bench/run.sh`, RSS after: 50-53 MiB against 24-31 MiB).
pub(super) fn buffer(left: u64) -> (u64, Vec<u8>) {
    let n = left.min(READ_CHUNK);
    (n, Vec::with_capacity(n as usize))
}

/// Reads the next `n` bytes of `file` (at its cursor) into `buf`; short files are an
/// error, since the caller promised them from the blob's length.
pub(super) fn read_chunk(mut file: File, n: u64, mut buf: Vec<u8>) -> Chunk {
    // `read_to_end` fills the spare capacity without zeroing it first.
    (&mut file).take(n).read_to_end(&mut buf)?;
    if (buf.len() as u64) < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("file ended {} bytes early", n - buf.len() as u64),
        ));
    }
    Ok((file, Bytes::from(buf)))
}

/// A stream of `first` (the first chunk, read by the caller while opening the file) and
/// then the `left` bytes that follow it in `file`.
pub(super) fn chunks(file: File, first: Bytes, left: u64) -> ByteStream {
    let start = Some((Next::Ready(Ok((file, first))), left));
    futures_util::stream::unfold(start, |state| async move {
        let (next, left) = state?;
        let chunk = match next {
            Next::Ready(chunk) => chunk,
            Next::Reading(task) => task
                .await
                .unwrap_or_else(|e| Err(io::Error::other(format!("read task failed: {e}")))),
        };
        match chunk {
            Err(e) => Some((Err(e), None)),
            Ok((file, bytes)) => {
                let following = (left > 0).then(|| {
                    let (n, buf) = buffer(left);
                    let task = tokio::task::spawn_blocking(move || read_chunk(file, n, buf));
                    (Next::Reading(task), left - n)
                });
                Some((Ok(bytes), following))
            }
        }
    })
    .boxed()
}
