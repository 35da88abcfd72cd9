//! Permissions end to end: the `berth` binary with real clients (podman, skopeo, crane)
//! and raw HTTP, one module per theme. The pure evaluation has its own table-driven
//! matrix (`registry/src/policy/matrix.rs`); these check that the binary applies it.

#[path = "../common/mod.rs"]
mod common;

mod anonymous;
mod bad_input;
mod brute_force;
mod crane;
mod curl;
mod hiding;
mod hosts;
mod revocation;
mod scopes;
mod support;
mod tls;
mod tokens;
mod workload;
