//! GitHub's own clients, run as the tests' children: `@octokit/rest` (node,
//! `tests/api/js/calls.mjs`) and `githubkit` (python, `tests/api/py/scenario.py`), from
//! what `scripts/tools.sh api` installed into `.tools/api/`; and crane for pulls.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

use super::base_url;
use crate::common::{Berth, repo_root, tool};

const INSTALL: &str = "run `scripts/tools.sh api` (the README's test command does)";

/// `.tools/api/js/node_modules`, failing the test with the install command if missing.
fn node_modules() -> PathBuf {
    let dir = repo_root().join(".tools/api/js/node_modules");
    assert!(
        dir.join("@octokit/rest/package.json").is_file() && dir.join("ajv").is_dir(),
        "@octokit/rest is not installed in {}: {INSTALL}",
        dir.display()
    );
    dir
}

/// The venv's python with githubkit, failing the test with the install command if missing.
fn python() -> PathBuf {
    let py = repo_root().join(".tools/api/py/bin/python");
    assert!(
        py.is_file(),
        "githubkit's venv {} is missing: {INSTALL}",
        py.display()
    );
    py
}

/// Runs `cmd`; its stdout as JSON, or a failure with everything it printed.
fn json_output(cmd: &mut Command, what: &str) -> Value {
    let out: Output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed ({})\n--- stderr\n{stderr}\n--- stdout\n{}",
        out.status,
        &stdout[..stdout.len().min(20_000)]
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{what} printed no JSON ({e}):\n{stdout}\n--- stderr\n{stderr}"))
}

/// `@octokit/rest` signed in with one PAT (empty: anonymous). Every response it receives is
/// validated against GitHub's OpenAPI schema of its operation, and a violation fails the
/// test with the schema's complaint.
pub struct Octokit {
    base_url: String,
    token: String,
}

impl Octokit {
    pub fn new(berth: &Berth, token: &str) -> Octokit {
        Octokit {
            base_url: base_url(berth),
            token: token.to_owned(),
        }
    }

    /// Runs `calls` (see calls.mjs) in one node process; one result per call.
    pub fn run(&self, calls: Value) -> Vec<Value> {
        let script = repo_root().join("tests/api/js/calls.mjs");
        let mut cmd = Command::new(tool("node"));
        cmd.arg(&script)
            .env("BASE_URL", &self.base_url)
            .env("TOKEN", &self.token)
            .env("CALLS", calls.to_string())
            .env("BERTH_API_NODE_MODULES", node_modules());
        let what = format!("octokit {calls}");
        let out = json_output(&mut cmd, &what[..what.len().min(600)]);
        out.as_array().expect("a list of results").clone()
    }

    /// One `octokit.rest.NS.METHOD(params)`: its result (`status`, `data`, `requests`).
    pub fn call(&self, method: &str, params: Value) -> Value {
        self.run(json!([{"call": method, "params": params}]))
            .remove(0)
    }

    /// `octokit.paginate(octokit.rest.NS.METHOD, params)`: every item (`data`) and the
    /// requests it made, with their `Link` headers (`requests`).
    pub fn paginate(&self, method: &str, params: Value) -> Value {
        self.run(json!([{"call": method, "params": params, "paginate": true}]))
            .remove(0)
    }
}

/// [`Octokit::paginate`] with a one-off client.
pub fn paginate(berth: &Berth, token: &str, method: &str, params: Value) -> Value {
    Octokit::new(berth, token).paginate(method, params)
}

/// githubkit's scenario (scenario.py): list, get, delete and restore the version tagged
/// `delete_tag`, through `scope` (`org`, `user`, `me`).
pub fn githubkit(
    berth: &Berth,
    token: &str,
    scope: &str,
    owner: &str,
    package: &str,
    delete_tag: &str,
) -> Value {
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("tests/api/py/scenario.py"))
        .env("BASE_URL", base_url(berth))
        .env("TOKEN", token)
        .env("SCOPE", scope)
        .env("OWNER", owner)
        .env("PACKAGE", package)
        .env("DELETE_TAG", delete_tag)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    json_output(
        &mut cmd,
        &format!("githubkit scenario ({scope} {owner} {package})"),
    )
}

/// `crane manifest REF` as the bootstrap admin, whether or not it succeeds.
pub fn crane_manifest(berth: &Berth, reference: &str) -> Output {
    Command::new(tool("crane"))
        .args(["manifest", "--insecure"])
        .arg(format!("{}/{reference}", berth.host()))
        .env("DOCKER_CONFIG", berth.docker_config("admin", berth.token()))
        .output()
        .expect("running crane")
}
