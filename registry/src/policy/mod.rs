//! GHCR's permission model: the policy in force (`PolicySnapshot`), its pure
//! evaluation, and where the policy comes from.

pub mod dir;
pub mod evaluate;
pub mod snapshot;
pub mod source;

pub use evaluate::{Action, Decision, can_create, decide, readable_packages, role};
pub use snapshot::{PolicySettings, PolicySnapshot, normalize_url};
pub use source::{PolicySource, PolicyWriteError};

#[cfg(test)]
mod matrix;
