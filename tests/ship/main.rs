//! What a release ships: the container image `make image` builds, and the storage
//! layout's format version.

#[path = "../common/mod.rs"]
mod common;

mod format;
mod image;
