//! The operator, the CRDs and the chart on a real control plane (the `e2e` harness):
//! the chart installed with helm, the operator and the registry pods run by the pod
//! runner with their ServiceAccounts' identities, real clients against the registry.

#[path = "../common/mod.rs"]
mod common;

mod chart;
mod crd_upgrade;
mod gc;
mod pages;
mod retention;
mod s3;
mod sequence;

#[path = "../webhooks/receiver.rs"]
#[allow(dead_code)] // the webhooks tests use all of it, these not
mod receiver;
mod support;
mod webhooks;
