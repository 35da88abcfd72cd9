//! GHCR's permission model: the policy in force (`PolicySnapshot`), its pure
//! evaluation, and where the policy comes from.

pub mod dir;
pub mod evaluate;
pub mod snapshot;
pub mod source;

pub use evaluate::{
    Action, Decision, Refusal, can_create, decide, permit, readable_packages, role,
};
pub use snapshot::{PolicySettings, PolicySnapshot, normalize_url};
pub use source::{KeptElsewhere, PolicySource, PolicyWriteError, Setting};

#[cfg(test)]
mod matrix;
