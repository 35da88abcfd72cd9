//! Berth's operator: turns `Registry`, `Package` and `Organization` resources into
//! running registry pods, storage and permission bindings.

#![forbid(unsafe_code)]

pub mod registry;
