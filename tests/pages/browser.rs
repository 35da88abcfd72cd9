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
    let dir = screenshots();
    let list: Vec<Value> = pages
        .iter()
        .map(|p| {
            serde_json::json!({
                "name": p.name,
                "url": p.url,
                "screenshot": dir.join(format!("{}.png", p.name)),
            })
        })
        .collect();
    let out = Command::new("node")
        .arg(repo_root().join("tests/pages/js/visit.mjs"))
        .env("PAGES", Value::from(list).to_string())
        .env("BERTH_PAGES_NODE_MODULES", &modules)
        .output()
        .unwrap_or_else(|e| panic!("cannot run node: {e}: {INSTALL}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "visit.mjs failed ({})\n--- stderr\n{stderr}\n--- stdout\n{stdout}",
        out.status
    );
    let results: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("visit.mjs printed no JSON ({e}):\n{stdout}\n{stderr}"));
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
