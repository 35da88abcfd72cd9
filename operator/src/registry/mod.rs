//! The Registry controller: a Registry becomes its pods, storage, Secrets, RBAC, Service,
//! Ingress and PodDisruptionBudget.

mod apply;
pub mod build;
pub mod controller;
mod dereference;
mod material;
pub mod status;
pub mod validate;
