//! Berth's operator: turns `Registry`, `Package` and `Organization` resources into
//! running registry pods, storage and permission bindings.

#![forbid(unsafe_code)]

pub mod apply;
pub mod conditions;
pub mod context;
pub mod error;
pub mod metrics;
pub mod registry;
