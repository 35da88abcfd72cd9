//! The Registry controller: a Registry becomes its pods, storage, Secrets, RBAC, Service,
//! Ingress and PodDisruptionBudget.

pub mod build;
pub mod controller;
mod material;
pub mod status;
pub mod validate;
