//! Debian's Chromium, driven by playwright-core (`js/visit.mjs`): each page as a browser
//! shows it, with JavaScript off, and through axe-core. Installed by `scripts/tools.sh
//! pages`; a missing part fails the test naming that command.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::repo_root;

const INSTALL: &str = "run `scripts/tools.sh pages` (the README's test command does)";

/// A page to visit: its name in the results, its URL, and where to keep its screenshot.
pub struct Visit {
    pub name: &'static str,
    pub url: String,
}

/// Where a test run keeps its screenshots (`docs/pages/` holds a copy of one run's).
pub fn screenshots() -> PathBuf {
    let dir = repo_root().join("target/pages-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshots' directory");
    dir
}

/// What Chromium saw of each page, in order (see `js/visit.mjs` for the fields).
pub fn visit(pages: &[Visit]) -> Vec<Value> {
    visit_as(pages, None)
}

/// [`visit`], sending `cookie` (`name=value`: a session) with every request.
pub fn visit_as(pages: &[Visit], cookie: Option<&str>) -> Vec<Value> {
    let dir = screenshots();
    let list: Vec<Value> = pages
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "url": p.url,
                "screenshot": dir.join(format!("{}.png", p.name)),
                "cookie": cookie,
            })
        })
        .collect();
    node("visit.mjs", &[("PAGES", Value::from(list).to_string())])
}

/// A person's walk through the pages, in steps (see `js/flow.mjs`), signed in across
/// them: the walk's cookies are kept between steps.
pub struct Walk {
    state: tempfile::TempDir,
}

impl Walk {
    pub fn new() -> Walk {
        Walk {
            state: tempfile::tempdir().expect("a walk's directory"),
        }
    }

    /// Takes `steps`; what each showed (`{url, status, text}`).
    pub fn steps(&self, steps: &[Value]) -> Vec<Value> {
        let state = self.state.path().join("state.json");
        node(
            "flow.mjs",
            &[
                ("STEPS", Value::from(steps.to_vec()).to_string()),
                ("STATE", state.display().to_string()),
            ],
        )
    }
}

/// Runs `js/SCRIPT` with `env` and answers the JSON array it printed.
fn node(script: &str, env: &[(&str, String)]) -> Vec<Value> {
    let modules = repo_root().join(".tools/pages/js/node_modules");
    assert!(
        modules.join("playwright-core/package.json").is_file() && modules.join("axe-core").is_dir(),
        "playwright-core is not installed in {}: {INSTALL}",
        modules.display()
    );
    assert!(
        std::path::Path::new("/usr/bin/chromium").is_file(),
        "/usr/bin/chromium is missing: {INSTALL}"
    );
    let mut cmd = Command::new("node");
    cmd.arg(repo_root().join("tests/pages/js").join(script))
        .env("BERTH_PAGES_NODE_MODULES", &modules);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}: {INSTALL}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({})\n--- stderr\n{stderr}\n--- stdout\n{stdout}",
        out.status
    );
    let results: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}):\n{stdout}\n{stderr}"));
    results.as_array().expect("a list of results").clone()
}

/// axe-core's serious and critical violations of one result.
pub fn serious(result: &Value) -> Vec<&Value> {
    result["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .collect()
}
