//! The cluster harness: a real Kubernetes control plane for Berth's end-to-end tests.
//!
//! [`Cluster::shared`] starts etcd and kube-apiserver on free loopback ports (built by
//! `scripts/tools.sh cluster`), or connects to the cluster named by
//! `BERTH_E2E_KUBECONFIG`; every test in a test binary shares it. Each test takes a
//! namespace of its own with [`Cluster::namespace`], an admin client with
//! [`Cluster::client`], kubectl and helm with [`Cluster::kubectl`] and [`Cluster::helm`],
//! a ServiceAccount's identity with [`Cluster::service_account_client`], and runs a
//! Deployment's container as a local process with [`PodRunner`].
//!
//! The processes die with the test process, even if a test panics: see [`process`].
//! `docs/testing.md` explains how to run and point the tests.

pub mod certs;
mod cluster;
mod control_plane;
mod kubeconfig;
mod namespace;
mod pod;
pub mod process;
mod service_account;
pub mod tools;
pub mod wait;
mod workdir;

pub use cluster::{Cluster, KUBECONFIG_ENV};
pub use control_plane::{ADMIN_USER, ControlPlane, free_port};
pub use kubeconfig::ApiServer;
pub use namespace::{NAMESPACE_LABEL, TestNamespace};
pub use pod::{Images, PathMap, PodRunner, RunningPod, SERVICE_ACCOUNT_DIR, report_ready};
pub use workdir::WorkDir;
