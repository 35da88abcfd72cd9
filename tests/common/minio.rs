//! MinIO, the S3 server, started by the tests on a free 127.0.0.1 port with a temp dir.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use super::{tool, wait_until};

/// The credentials every test MinIO accepts.
pub const ACCESS_KEY: &str = "berth-test";
pub const SECRET_KEY: &str = "berth-test-secret";

/// A MinIO server with its data in a temp dir; killed on drop.
pub struct Minio {
    child: Option<Child>,
    pub addr: SocketAddr,
    data: PathBuf,
    _dir: tempfile::TempDir,
}

impl Minio {
    /// A private server, for tests that stop or break it.
    pub fn start() -> Minio {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut m = Minio {
            child: None,
            addr: free_addr(),
            data: dir.path().join("data"),
            _dir: dir,
        };
        m.resume();
        m
    }

    /// One server per test binary, shared by its tests (each uses its own bucket). It
    /// is started from a thread that lives as long as the test process, under
    /// `setpriv --pdeathsig KILL`, so it dies with the process although statics are
    /// never dropped.
    pub fn shared() -> &'static Minio {
        static SHARED: OnceLock<Minio> = OnceLock::new();
        SHARED.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(Minio::start());
                // Parked forever: the child's death signal is tied to this thread.
                loop {
                    std::thread::park();
                }
            });
            rx.recv().expect("starting the shared MinIO")
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Kills the server (as an outage would); its data stays for [`Minio::resume`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on the same address and data, and waits until it is
    /// ready.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "MinIO is already running");
        let child = Command::new(tool("setpriv"))
            .args(["--pdeathsig", "KILL", "--"])
            .arg(tool("minio"))
            .args(["server", "--quiet", "--address"])
            .arg(self.addr.to_string())
            // The web console would take a second port.
            .args(["--console-address", "127.0.0.1:0"])
            .arg(&self.data)
            .env("MINIO_ROOT_USER", ACCESS_KEY)
            .env("MINIO_ROOT_PASSWORD", SECRET_KEY)
            .env("MINIO_BROWSER", "off")
            .env("MINIO_UPDATE", "off")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning minio");
        self.child = Some(child);
        let url = format!("{}/minio/health/ready", self.endpoint());
        wait_until("MinIO to be ready", Duration::from_secs(60), || {
            reqwest::blocking::get(&url).is_ok_and(|r| r.status().is_success())
        });
    }

    /// A `storage.s3` block for a `Registry` on this server: `bucket`, created on
    /// demand, path-style, plus `extra` YAML fields (`redirect: true`, …).
    pub fn storage_yaml(&self, bucket: &str, extra: &str) -> String {
        format!(
            "s3: {{bucket: {bucket}, endpoint: '{}', pathStyle: true, createBucket: true{}}}",
            self.endpoint(),
            if extra.is_empty() {
                String::new()
            } else {
                format!(", {extra}")
            }
        )
    }
}

impl Drop for Minio {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A fresh, valid bucket name.
pub fn bucket_name() -> String {
    format!("t-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{:x}-{}-{}",
        nanos,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A 127.0.0.1 address nobody listens on right now.
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}
