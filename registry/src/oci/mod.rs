//! The OCI Distribution API: pure parsing of its inputs, and its HTTP handlers.

pub mod digest;
pub mod http;
pub mod manifest;
pub mod media_types;
pub mod path;
pub mod range;
pub mod reference;
pub mod routes;
