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
    /// The bootstrap admin's PAT (user `admin`, a site admin), printed at the first start
    /// on a data dir.
    pub admin_token: Option<String>,
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

    /// A registry with a fresh data dir that `prepare` fills first (policy files, say),
    /// started with extra arguments for `registry serve`.
    pub fn start_with(extra: &[&str], prepare: impl FnOnce(&Path)) -> Berth {
        let dir = tempfile::tempdir().expect("temp dir");
        prepare(dir.path());
        let mut b = Berth::start_in(dir.path(), extra);
        b._owned_dir = Some(dir);
        b
    }

    /// A registry on `data_dir` with extra arguments for `registry serve` (serving every
    /// host on one address unless they say `--host`).
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Berth {
        let fresh = !data_dir.join("auth/bootstrapped").exists();
        let hosts: &[&str] = if extra.contains(&"--host") {
            &[]
        } else {
            &["--single-host"]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["registry", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(hosts)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning berth");
        let stdout = child.stdout.take().expect("piped stdout");
        let (token_tx, token_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("bpat_") {
                    let _ = token_tx.send(line);
                }
            }
        });
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
        let admin_token = fresh.then(|| {
            token_rx
                .recv_timeout(Duration::from_secs(30))
                .expect("a first start prints the bootstrap admin token")
        });
        Berth {
            child,
            addr,
            data_dir: data_dir.to_owned(),
            admin_token,
            _owned_dir: None,
        }
    }

    /// The bootstrap admin's PAT.
    pub fn token(&self) -> &str {
        self.admin_token
            .as_deref()
            .expect("this registry's first start printed a token")
    }

    /// Runs `berth token create` on this registry's data dir; returns the token.
    pub fn create_token(&self, user: &str, scopes: &str, expires: Option<&str>) -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(["token", "create", "--data-dir"])
            .arg(&self.data_dir)
            .args(["--user", user, "--scopes", scopes]);
        if let Some(e) = expires {
            cmd.args(["--expires", e]);
        }
        run_stdout(&mut cmd).trim().to_owned()
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

    /// A fresh docker config directory whose `config.json` signs `user` in here with
    /// `secret` (the format podman, skopeo, crane and oras all read).
    pub fn docker_config(&self, user: &str, secret: &str) -> PathBuf {
        use base64::Engine as _;
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
        let config = serde_json::json!({"auths": {self.host(): {"auth": auth}}});
        std::fs::write(dir.join("config.json"), config.to_string()).expect("docker config");
        dir
    }

    /// A blocking HTTP client and the admin's Basic credentials.
    pub fn admin_get(&self, path: &str) -> reqwest::blocking::Response {
        reqwest::blocking::Client::new()
            .get(self.url(path))
            .basic_auth("admin", Some(self.token()))
            .send()
            .expect("request")
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
