//! Shared helpers for the real-client tests: the `berth` binary on a free port, the
//! external tools, and commands whose failures explain themselves.

#![allow(dead_code)] // each test binary uses a different subset

pub mod gc;
pub mod minio;
pub mod podman;
pub mod proxy;

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

/// `berth registry serve --single-host --listen 127.0.0.1:0 --data-dir DATA ARGS…` that
/// is expected to refuse to start: its output once it exits, within 30 s (one that keeps
/// serving is killed by `timeout` and reported as such).
pub fn serve_refused(data_dir: &Path, args: &[&std::ffi::OsStr]) -> Output {
    let out = Command::new("timeout")
        .arg("30")
        .arg(env!("CARGO_BIN_EXE_berth"))
        .args([
            "registry",
            "serve",
            "--single-host",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .expect("running berth registry serve");
    // timeout(1) exits 124 when it had to stop the command.
    assert_ne!(out.status.code(), Some(124), "registry serve kept running");
    out
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

/// Where a test registry keeps its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A fresh data directory.
    Filesystem,
    /// A fresh bucket on the test binary's shared MinIO.
    S3,
}

/// A `berth registry serve` process on a free 127.0.0.1 port, killed on drop.
pub struct Berth {
    child: Child,
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// The bootstrap admin's PAT (user `admin`, a site admin), printed at the first start
    /// on a data dir.
    pub admin_token: Option<String>,
    /// The `--config` it was started with, if any.
    pub config_file: Option<PathBuf>,
    /// Every line it logged so far.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _owned_dir: Option<tempfile::TempDir>,
}

impl Berth {
    /// A registry with a fresh data dir.
    pub fn start() -> Berth {
        Berth::on(Backend::Filesystem)
    }

    /// A registry with fresh storage of the given kind, ready to serve.
    pub fn on(backend: Backend) -> Berth {
        match backend {
            Backend::Filesystem => {
                let dir = tempfile::tempdir().expect("temp dir");
                let mut b = Berth::start_in(dir.path(), &[]);
                b._owned_dir = Some(dir);
                b
            }
            Backend::S3 => {
                let minio = minio::Minio::shared();
                let storage = minio.storage_yaml(&minio::bucket_name(), "");
                Berth::start_ready(&Berth::config(&storage))
            }
        }
    }

    /// A `Registry` resource (YAML) with `storage` as its `spec.storage` (flow YAML).
    pub fn config(storage: &str) -> String {
        format!(
            "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {{name: test}}\n\
             spec:\n  storage: {{{storage}}}\n"
        )
    }

    /// A registry configured by `config` (a `Registry` in YAML) with the test MinIO's
    /// credentials, once `/readyz` answers ok.
    pub fn start_ready(config: &str) -> Berth {
        Berth::start_config(config, &[]).ready()
    }

    /// A registry configured by `config`, with extra environment, not waiting for
    /// readiness (its storage may be broken on purpose).
    pub fn start_config(config: &str, env: &[(&str, &str)]) -> Berth {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut b = Berth::start_config_in(dir.path(), config, env);
        b._owned_dir = Some(dir);
        b
    }

    /// A registry configured by `config` whose own state (signing keys, PATs, policy) is
    /// in `state_dir`; replicas given the same one trust each other's tokens and share
    /// one policy.
    pub fn start_config_in(state_dir: &Path, config: &str, env: &[(&str, &str)]) -> Berth {
        let file = state_dir.join(format!("registry-{}.yaml", rand_suffix()));
        std::fs::write(&file, config).expect("writing the config");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(["registry", "serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&file)
            .arg("--data-dir")
            .arg(state_dir)
            .env("AWS_ACCESS_KEY_ID", minio::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", minio::SECRET_KEY);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut berth = Berth::spawn(cmd, state_dir);
        berth.config_file = Some(file);
        berth
    }

    /// `n` replicas configured by `config` on one state directory (signing keys, PATs,
    /// policy), started one after another and ready, as pods of one Registry are: a
    /// token from one is accepted by all. The first holds the bootstrap admin's token.
    pub fn replicas(config: &str, n: usize) -> Vec<Berth> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut replicas: Vec<Berth> = (0..n)
            .map(|_| Berth::start_config_in(dir.path(), config, &[]).ready())
            .collect();
        // Dropped with the last replica, after every process that uses it.
        replicas
            .last_mut()
            .expect("at least one replica")
            ._owned_dir = Some(dir);
        replicas
    }

    /// Waits until `/readyz` answers ok.
    pub fn ready(self) -> Berth {
        let ready = self.url("/readyz");
        wait_until("berth to be ready", Duration::from_secs(30), || {
            reqwest::blocking::get(&ready).is_ok_and(|r| r.status().is_success())
        });
        self
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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.args(["registry", "serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra);
        Berth::spawn(cmd, data_dir)
    }

    /// Starts `cmd` (a `registry serve`) serving every host on one address unless it says
    /// `--host`, and learns its address and, on a fresh `data_dir`, its bootstrap token.
    pub fn spawn(mut cmd: Command, data_dir: &Path) -> Berth {
        let fresh = !data_dir.join("auth/bootstrapped").exists();
        if !cmd.get_args().any(|a| a == "--host") {
            cmd.arg("--single-host");
        }
        let mut child = cmd
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
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[berth] {line}");
                kept.lock().unwrap().push(line.clone());
                let rest = line.split("listening on ").nth(1);
                let rest = rest.and_then(|r| r.split_once("://")).map(|(_, r)| r);
                if let Some(rest) = rest {
                    // The address ends where a text line's space or a JSON line's quote is.
                    let addr: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_hexdigit() || ":.[]".contains(*c))
                        .collect();
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
            config_file: None,
            log,
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
    /// `berth fsck ARGS…` on this registry's storage (its config and data dir, with the
    /// test MinIO's credentials), whether or not it succeeds.
    pub fn fsck(&self, args: &[&str]) -> Output {
        self.maintenance("fsck", args)
    }

    /// `berth gc ARGS…`, as [`Berth::fsck`].
    pub fn gc(&self, args: &[&str]) -> Output {
        self.maintenance("gc", args)
    }

    fn maintenance(&self, command: &str, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
        cmd.arg(command)
            .args(args)
            .arg("--data-dir")
            .arg(&self.data_dir);
        if let Some(file) = &self.config_file {
            cmd.arg("--config").arg(file);
        }
        cmd.env("AWS_ACCESS_KEY_ID", minio::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", minio::SECRET_KEY)
            .output()
            .unwrap_or_else(|e| panic!("running berth {command}: {e}"))
    }

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

    /// `Authorization` with the bootstrap admin's Basic credentials (the registry takes
    /// a PAT as the password on every request, as GHCR does).
    pub fn admin_headers(&self) -> reqwest::header::HeaderMap {
        use base64::Engine as _;
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("admin:{}", self.token()));
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Basic {basic}").parse().expect("a header value"),
        );
        headers
    }

    /// An async HTTP client that signs every request in as the bootstrap admin.
    pub fn admin_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .default_headers(self.admin_headers())
            .build()
            .expect("an HTTP client")
    }

    /// A blocking HTTP client that signs every request in as the bootstrap admin, and
    /// follows no redirects (so tests see them).
    pub fn admin_blocking_client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::builder()
            .default_headers(self.admin_headers())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client")
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

/// A short random name part.
fn rand_suffix() -> String {
    format!("{:08x}", rand::random::<u32>())
}

/// An upload `Location` (which carries its signed state in the query) with `digest=`.
pub fn with_digest(location: &str, digest: &str) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

/// The session id in an upload `Location`.
pub fn upload_id(location: &str) -> &str {
    let path = location.split('?').next().unwrap_or(location);
    path.rsplit('/').next().unwrap_or(path)
}

/// Deterministic, incompressible-looking test data; `seed` makes other data.
pub fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x: u32 = 0x9e37_79b9 ^ seed;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// A request body fed by the test, so it can stop half-way.
pub fn body_channel() -> (tokio::sync::mpsc::Sender<bytes::Bytes>, reqwest::Body) {
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(4);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    (tx, reqwest::Body::wrap_stream(stream))
}

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// The id `berth token list` shows for `user`'s only token.
pub fn pat_id(berth: &Berth, user: &str) -> String {
    let list = run_stdout(
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["token", "list", "--data-dir"])
            .arg(&berth.data_dir),
    );
    let ids: Vec<&str> = list
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            let id = cols.next()?;
            (cols.next()? == user).then_some(id)
        })
        .collect();
    assert_eq!(ids.len(), 1, "one token for {user} in:\n{list}");
    ids[0].to_owned()
}

/// `berth token revoke ID`.
pub fn revoke_pat(berth: &Berth, id: &str) {
    run(Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["token", "revoke", "--data-dir"])
        .arg(&berth.data_dir)
        .arg(id));
}
