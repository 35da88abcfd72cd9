//! Webhooks as GitHub sends them, received by GitHub's own libraries: a receiver built
//! on `@octokit/webhooks` verifies every signature and validates every payload against
//! `@octokit/openapi-webhooks` (`js/receiver.mjs`), while podman pushes to a standalone
//! registry whose policy directory configures the organization's webhook.

#[path = "../common/mod.rs"]
mod common;

mod audit;
mod delivery;
mod receiver;
mod replicas;
mod safety;
mod support;
