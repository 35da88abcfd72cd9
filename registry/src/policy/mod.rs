//! GHCR's permission model: the policy in force (`PolicySnapshot`), its pure
//! evaluation, and where the policy comes from.

pub mod evaluate;
pub mod snapshot;

pub use evaluate::{Action, Decision, can_create, decide, role};
pub use snapshot::{PolicySettings, PolicySnapshot, normalize_url};

#[cfg(test)]
mod matrix;
