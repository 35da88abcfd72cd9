//! Byte ranges: `Content-Range` on upload chunks, `Range` on blob GETs, and the `Range`
//! header an upload session reports.

use std::ops::Range;

/// A `Content-Range` on an upload chunk, `START-END` inclusive.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct ChunkRange {
    pub start: u64,
    pub end_inclusive: u64,
}

impl ChunkRange {
    /// How many bytes the range covers (never overflows: `parse_chunk_range` refuses
    /// ranges whose count does not fit).
    pub fn byte_count(&self) -> u64 {
        self.end_inclusive - self.start + 1
    }
}

/// Parses an upload chunk's `Content-Range`. The spec's form is `START-END`; the HTTP
/// forms `bytes START-END[/TOTAL]` and `bytes=START-END` are accepted too, since
/// clients send them.
pub fn parse_chunk_range(header: &str) -> Option<ChunkRange> {
    let s = header.trim();
    let s = s
        .strip_prefix("bytes=")
        .or_else(|| s.strip_prefix("bytes "))
        .unwrap_or(s);
    let s = s.split_once('/').map_or(s, |(r, _total)| r);
    let (a, b) = s.split_once('-')?;
    let start: u64 = a.trim().parse().ok()?;
    let end_inclusive: u64 = b.trim().parse().ok()?;
    // The count must fit in a u64, so `0-18446744073709551615` is refused.
    let fits = end_inclusive >= start && (end_inclusive - start).checked_add(1).is_some();
    fits.then_some(ChunkRange {
        start,
        end_inclusive,
    })
}

/// The `Range` value an upload session reports after `offset` bytes: the spec's
/// `0-LAST`, and `0-0` for an empty session as distribution answers and clients expect.
pub fn upload_range_header(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}

/// What a blob GET's `Range` header asks for.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum RangeRequest {
    /// No usable range: serve the whole blob (multi-range and malformed headers are
    /// ignored, as RFC 9110 allows).
    Full,
    /// One satisfiable range, half-open.
    Partial(Range<u64>),
    /// A well-formed range that lies outside the blob: 416.
    Unsatisfiable,
}

/// Parses a `Range: bytes=…` header against a blob of `len` bytes.
pub fn parse_range(header: &str, len: u64) -> RangeRequest {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeRequest::Full;
    };
    if spec.contains(',') {
        return RangeRequest::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeRequest::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.is_empty(), b.is_empty()) {
        // bytes=-N: the last N bytes
        (true, false) => match b.parse::<u64>() {
            Ok(0) => return RangeRequest::Unsatisfiable,
            Ok(n) => len.saturating_sub(n)..len,
            Err(_) => return RangeRequest::Full,
        },
        // bytes=N-
        (false, true) => match a.parse::<u64>() {
            Ok(start) => start..len,
            Err(_) => return RangeRequest::Full,
        },
        (false, false) => match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(start), Ok(end)) if end >= start => start..len.min(end.saturating_add(1)),
            // An inverted range can never be satisfied; the conformance suite expects 416.
            (Ok(_), Ok(_)) => return RangeRequest::Unsatisfiable,
            _ => return RangeRequest::Full,
        },
        (true, true) => return RangeRequest::Full,
    };
    if range.start >= len {
        RangeRequest::Unsatisfiable
    } else {
        RangeRequest::Partial(range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_ranges_in_every_client_form() {
        let r = ChunkRange {
            start: 10,
            end_inclusive: 19,
        };
        for s in [
            "10-19",
            "bytes 10-19",
            "bytes=10-19",
            "bytes 10-19/100",
            " 10-19 ",
        ] {
            assert_eq!(parse_chunk_range(s), Some(r), "{s}");
        }
        assert_eq!(r.byte_count(), 10);
        for bad in [
            "",
            "10",
            "19-10",
            "a-b",
            "-5",
            "10-",
            "0-18446744073709551615",
        ] {
            assert_eq!(parse_chunk_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn upload_range_reports_the_last_byte() {
        assert_eq!(upload_range_header(0), "0-0");
        assert_eq!(upload_range_header(1), "0-0");
        assert_eq!(upload_range_header(100), "0-99");
    }

    #[test]
    fn blob_ranges() {
        use RangeRequest::*;
        assert_eq!(parse_range("bytes=0-9", 100), Partial(0..10));
        assert_eq!(parse_range("bytes=90-200", 100), Partial(90..100));
        assert_eq!(parse_range("bytes=50-", 100), Partial(50..100));
        assert_eq!(parse_range("bytes=-10", 100), Partial(90..100));
        assert_eq!(parse_range("bytes=-500", 100), Partial(0..100));
        assert_eq!(parse_range("bytes=100-", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Full);
        assert_eq!(parse_range("items=0-1", 100), Full);
        assert_eq!(parse_range("bytes=9-1", 100), Unsatisfiable);
        assert_eq!(parse_range("bytes=a-1", 100), Full);
    }
}
