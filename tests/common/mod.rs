//! Shared helpers for the real-client tests: the `berth` binary on a free port, the
//! external tools, and commands whose failures explain themselves.

#![allow(dead_code)] // each test binary uses a different subset

pub mod podman;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// An external tool: `.tools/bin/NAME` (built by `scripts/tools.sh`), else `PATH`.
/// A missing tool fails the test with the command that installs it.
pub fn tool(name: &str) -> PathBuf {
    let local = repo_root().join(".tools/bin").join(name);
    if local.is_file() {
        return local;
    }
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    }) {
        return found;
    }
    panic!("{name} is not installed: run `scripts/tools.sh` (the README's test command does)");
}

/// Runs `cmd`, failing the test with its output unless it succeeds.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `cmd` and returns its stdout as text.
pub fn run_stdout(cmd: &mut Command) -> String {
    String::from_utf8(run(cmd).stdout).expect("utf-8 output")
}

/// Polls `condition` until it holds, failing after `within`.
pub fn wait_until(what: &str, within: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {within:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `berth registry serve` process on a free 127.0.0.1 port, killed on drop.
pub struct Berth {
    child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    _owned_dir: Option<tempfile::TempDir>,
}

impl Berth {
    /// A registry with a fresh data dir.
    pub fn start() -> Berth {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut b = Berth::start_in(dir.path(), &[]);
        b._owned_dir = Some(dir);
        b
    }

    /// A registry on `data_dir` with extra arguments for `registry serve`.
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Berth {
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["registry", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning berth");
        // The first log line names the address; the rest is echoed for failing tests.
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[berth] {line}");
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_owned();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("berth did not report its address within 30 s")
            .parse()
            .expect("berth logged a socket address");
        Berth {
            child,
            addr,
            data_dir: data_dir.to_owned(),
            _owned_dir: None,
        }
    }

    /// `127.0.0.1:PORT`, as image references spell the registry.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The value of a Prometheus counter with exactly these labels (0 if absent).
    pub fn counter(&self, name: &str, labels: &str) -> f64 {
        let text = reqwest::blocking::get(self.url("/metrics"))
            .and_then(|r| r.text())
            .expect("reading /metrics");
        let prefix = format!("{name}{{{labels}}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0.0, |v| v.trim().parse().expect("a number"))
    }
}

impl Drop for Berth {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}
