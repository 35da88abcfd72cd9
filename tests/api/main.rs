//! GitHub's Packages REST API on `HOST/api/v3`, driven by GitHub's own clients against the
//! `berth` binary: `@octokit/rest` (every JSON response validated against the schema of its
//! operation in `@octokit/openapi`) and `githubkit` (its pydantic models), plus raw HTTP for
//! the exact bytes (errors, `Link`, credentials, hosts). One module per theme; the clients
//! and helpers are in `support/`. Needs `scripts/tools.sh api clients`.

#[path = "../common/mod.rs"]
mod common;

mod errors;
mod githubkit;
mod hosts;
mod lifecycle;
mod listing;
mod nested;
mod paginate;
mod refusals;
mod support;
