//! Berth's registry server: the OCI Distribution API over content-addressed storage.

pub mod audit;
pub mod auth;
pub mod background;
pub mod cluster;
pub mod config;
pub mod content;
pub mod fuzzing;
pub mod hosts;
pub mod maintenance;
pub mod metrics;
pub mod oci;
pub mod packages;
pub mod policy;
pub mod server;
pub mod start;
pub mod state;
pub mod storage;
pub mod tls;
pub mod watch;
pub mod web;
pub mod webhooks;
