//! The OCI surface's parsers: names and references, digests, ranges, the `/v2/` router
//! and manifests.

use crate::oci::digest::Digest;
use crate::oci::manifest::{Manifest, ManifestKind};
use crate::oci::path::{OciRoute, parse_route};
use crate::oci::range::{RangeRequest, parse_chunk_range, parse_range};
use crate::oci::reference::{MAX_NAME_LEN, Reference, RepoName, Tag};

use super::text;

/// A valid name or reference prints as it was written and parses back to itself.
pub fn reference(data: &[u8]) {
    let s = text(data);
    if let Ok(name) = RepoName::parse(&s) {
        assert_eq!(name.as_str(), s);
        assert!(name.as_str().len() <= MAX_NAME_LEN);
        assert!(!name.owner().is_empty() && !name.package().is_empty());
        assert_eq!(format!("{}/{}", name.owner(), name.package()), s);
    }
    if let Ok(tag) = Tag::parse(&s) {
        assert_eq!(tag.as_str(), s);
        assert!((1..=128).contains(&s.len()) && !s.starts_with(['.', '-']));
    }
    if let Ok(reference) = Reference::parse(&s) {
        let printed = reference.to_string();
        assert_eq!(printed, s);
        assert_eq!(Reference::parse(&printed).as_ref(), Ok(&reference));
    }
}

/// A valid digest prints as it was written, with the algorithm's hex length.
pub fn digest(data: &[u8]) {
    let s = text(data);
    if let Ok(d) = s.parse::<Digest>() {
        assert_eq!(d.to_string(), s);
        assert_eq!(d.hex().len(), d.algorithm().hex_len());
        assert_eq!(d.to_string().parse::<Digest>().as_ref(), Ok(&d));
    }
}

/// Chunk ranges count at least one byte without overflow; blob ranges lie inside the
/// blob. The first eight bytes are the blob's length, the rest the header.
pub fn range(data: &[u8]) {
    let (len, header) = match data.split_first_chunk::<8>() {
        Some((len, rest)) => (u64::from_le_bytes(*len), rest),
        None => (0, data),
    };
    let header = text(header);
    if let Some(r) = parse_chunk_range(&header) {
        assert!(r.start <= r.end_inclusive);
        assert_eq!(r.byte_count() - 1, r.end_inclusive - r.start);
    }
    match parse_range(&header, len) {
        RangeRequest::Partial(r) => assert!(r.start < r.end && r.end <= len, "{r:?} of {len}"),
        RangeRequest::Full | RangeRequest::Unsatisfiable => {}
    }
}

/// A routed path's parts are pieces of the path, and the route written back as a path
/// routes to the same endpoint.
pub fn route(data: &[u8]) {
    let s = text(data);
    let Some(route) = parse_route(&s) else {
        return;
    };
    let path = match route {
        OciRoute::Base => String::new(),
        OciRoute::Tags { name } => format!("{name}/tags/list"),
        OciRoute::UploadStart { name } => format!("{name}/blobs/uploads/"),
        OciRoute::Upload { name, id } => format!("{name}/blobs/uploads/{id}"),
        OciRoute::Blob { name, digest } => format!("{name}/blobs/{digest}"),
        OciRoute::Manifest { name, reference } => format!("{name}/manifests/{reference}"),
        OciRoute::Referrers { name, digest } => format!("{name}/referrers/{digest}"),
    };
    assert_eq!(parse_route(&path), Some(route), "{path:?}");
    if let Some(last) = route.last_segment() {
        assert!(!last.is_empty() && !last.contains('/') && s.ends_with(last));
        assert_eq!(route.with_last_segment(last), route);
    }
    assert!(!route.allowed_methods().is_empty() && !route.label().is_empty());
}

/// A manifest that validates has the shape its kind needs, and the blobs it requires are
/// its config and stored layers. The first line is the `Content-Type` (empty for none).
pub fn manifest(data: &[u8]) {
    let (content_type, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };
    let Ok(m) = Manifest::parse(content_type.filter(|c| !c.is_empty()), body) else {
        return;
    };
    match m.kind {
        ManifestKind::Image => assert!(m.config.is_some(), "an image has a config"),
        ManifestKind::Index => assert!(m.config.is_none() && m.layers.is_empty()),
    }
    let descriptors: Vec<_> = m
        .config
        .iter()
        .chain(&m.layers)
        .chain(&m.manifests)
        .chain(&m.subject)
        .collect();
    let mut required = 0;
    for blob in m.required_blobs() {
        assert!(descriptors.contains(&blob));
        required += 1;
    }
    let stored_layers = m.layers.iter().filter(|l| !l.is_external()).count();
    assert_eq!(required, usize::from(m.config.is_some()) + stored_layers);
    let _ = m.effective_artifact_type();
}
