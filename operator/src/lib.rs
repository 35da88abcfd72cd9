//! Berth's operator: turns `Registry`, `Package` and `Organization` resources into
//! running registry pods, storage and permission bindings.

#![forbid(unsafe_code)]

pub mod apply;
pub mod conditions;
pub mod context;
pub mod error;
pub mod health;
pub mod metrics;
pub mod organization;
pub mod package;
pub mod registry;
pub mod run;

pub use run::{Options, RunError, run, scoped};
