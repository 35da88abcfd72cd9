//! The Registry controller.

pub mod build;
pub mod validate;
