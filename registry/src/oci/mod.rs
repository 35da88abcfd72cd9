//! The OCI vocabulary: pure parsing of the Distribution API's inputs (digests,
//! references, manifests, ranges, paths) and its media types. No HTTP framework and no
//! storage: the surface that serves it is `web/oci/`, and `content/` builds on it.

pub mod digest;
pub mod manifest;
pub mod media_types;
pub mod path;
pub mod range;
pub mod reference;
