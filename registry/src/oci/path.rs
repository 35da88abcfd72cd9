//! Which OCI endpoint a `/v2/…` path names.
//!
//! Repository names contain slashes, so the endpoint is found from the right-hand end of
//! the path (the spec's suffixes), and the name is whatever precedes it. Names and
//! references are validated by the handlers, so a malformed name answers `NAME_INVALID`
//! rather than a bare 404.

/// An OCI Distribution endpoint, with the raw (not yet validated) parts of its path.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum OciRoute<'a> {
    /// `/v2/`
    Base,
    /// `/v2/<name>/tags/list`
    Tags { name: &'a str },
    /// `/v2/<name>/blobs/uploads/`
    UploadStart { name: &'a str },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload { name: &'a str, id: &'a str },
    /// `/v2/<name>/blobs/<digest>`
    Blob { name: &'a str, digest: &'a str },
    /// `/v2/<name>/manifests/<reference>`
    Manifest { name: &'a str, reference: &'a str },
    /// `/v2/<name>/referrers/<digest>`
    Referrers { name: &'a str, digest: &'a str },
}

impl<'a> OciRoute<'a> {
    /// The methods the endpoint has, as an `Allow` header lists them.
    pub fn allowed_methods(&self) -> &'static str {
        match self {
            OciRoute::Base | OciRoute::Tags { .. } | OciRoute::Referrers { .. } => "GET, HEAD",
            OciRoute::UploadStart { .. } => "POST",
            OciRoute::Upload { .. } => "GET, PATCH, PUT, DELETE",
            OciRoute::Blob { .. } => "GET, HEAD, DELETE",
            OciRoute::Manifest { .. } => "GET, HEAD, PUT, DELETE",
        }
    }

    /// The path's last segment when it is a reference, digest or upload id (which may
    /// arrive percent-encoded, e.g. `sha256%3A…`).
    pub fn last_segment(&self) -> Option<&'a str> {
        match *self {
            OciRoute::Manifest { reference, .. } => Some(reference),
            OciRoute::Blob { digest, .. } | OciRoute::Referrers { digest, .. } => Some(digest),
            OciRoute::Upload { id, .. } => Some(id),
            _ => None,
        }
    }

    /// The same route with its last segment replaced (decoded).
    pub fn with_last_segment<'b>(self, last: &'b str) -> OciRoute<'b>
    where
        'a: 'b,
    {
        match self {
            OciRoute::Manifest { name, .. } => OciRoute::Manifest {
                name,
                reference: last,
            },
            OciRoute::Blob { name, .. } => OciRoute::Blob { name, digest: last },
            OciRoute::Referrers { name, .. } => OciRoute::Referrers { name, digest: last },
            OciRoute::Upload { name, .. } => OciRoute::Upload { name, id: last },
            other => other,
        }
    }

    /// A short label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            OciRoute::Base => "base",
            OciRoute::Tags { .. } => "tags",
            OciRoute::UploadStart { .. } | OciRoute::Upload { .. } => "upload",
            OciRoute::Blob { .. } => "blob",
            OciRoute::Manifest { .. } => "manifest",
            OciRoute::Referrers { .. } => "referrers",
        }
    }
}

/// Parses the part of the path after `/v2/`.
pub fn parse_route(rest: &str) -> Option<OciRoute<'_>> {
    if rest.is_empty() {
        return Some(OciRoute::Base);
    }
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return nonempty(name).map(|name| OciRoute::Tags { name });
    }
    if let Some(name) = rest
        .strip_suffix("/blobs/uploads/")
        .or_else(|| rest.strip_suffix("/blobs/uploads"))
    {
        return nonempty(name).map(|name| OciRoute::UploadStart { name });
    }
    let (head, last) = rest.rsplit_once('/')?;
    if last.is_empty() {
        return None;
    }
    let (name, kind) = head.rsplit_once('/')?;
    let name = nonempty(name)?;
    match kind {
        "manifests" => Some(OciRoute::Manifest {
            name,
            reference: last,
        }),
        "referrers" => Some(OciRoute::Referrers { name, digest: last }),
        "blobs" => Some(OciRoute::Blob { name, digest: last }),
        "uploads" => name
            .strip_suffix("/blobs")
            .and_then(nonempty)
            .map(|name| OciRoute::Upload { name, id: last }),
        _ => None,
    }
}

fn nonempty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::OciRoute::*;
    use super::*;

    #[test]
    fn every_endpoint_is_recognised() {
        let cases = [
            ("", Some(Base)),
            ("a/b/tags/list", Some(Tags { name: "a/b" })),
            ("a/b/blobs/uploads/", Some(UploadStart { name: "a/b" })),
            ("a/b/blobs/uploads", Some(UploadStart { name: "a/b" })),
            (
                "a/b/blobs/uploads/xyz",
                Some(Upload {
                    name: "a/b",
                    id: "xyz",
                }),
            ),
            (
                "a/b/blobs/sha256:00",
                Some(Blob {
                    name: "a/b",
                    digest: "sha256:00",
                }),
            ),
            (
                "a/b/c/manifests/v1",
                Some(Manifest {
                    name: "a/b/c",
                    reference: "v1",
                }),
            ),
            (
                "a/b/referrers/sha256:00",
                Some(Referrers {
                    name: "a/b",
                    digest: "sha256:00",
                }),
            ),
            ("a/b", None),
            ("a/b/manifests/", None),
            ("manifests/v1", None),
            ("a/b/unknown/x", None),
            ("/blobs/uploads/x", None),
        ];
        for (path, want) in cases {
            assert_eq!(parse_route(path), want, "{path:?}");
        }
    }

    #[test]
    fn names_that_contain_endpoint_words_still_route() {
        assert_eq!(
            parse_route("a/blobs/blobs/sha256:00"),
            Some(Blob {
                name: "a/blobs",
                digest: "sha256:00"
            })
        );
        assert_eq!(
            parse_route("a/manifests/manifests/latest"),
            Some(Manifest {
                name: "a/manifests",
                reference: "latest"
            })
        );
        assert_eq!(
            parse_route("tags/list/tags/list"),
            Some(Tags { name: "tags/list" })
        );
    }
}
