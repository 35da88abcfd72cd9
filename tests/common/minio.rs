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
    /// Serving TLS: the certificate directory MinIO reads, and the CA that signed it.
    tls: Option<(PathBuf, String)>,
    _dir: tempfile::TempDir,
}

impl Minio {
    /// A private server, for tests that stop or break it.
    pub fn start() -> Minio {
        Minio::start_with(None)
    }

    /// A private server serving TLS with a certificate for 127.0.0.1 from a CA made
    /// here; the CA's PEM is [`Minio::ca_pem`].
    pub fn start_tls() -> Minio {
        let certs = berth_e2e::certs::Certs::generate().expect("test certificates");
        let pems = (certs.serving_cert_pem, certs.serving_key_pem);
        Minio::start_with(Some((pems, certs.ca_pem)))
    }

    /// `tls`: the serving certificate and key (PEM), and the CA's PEM.
    fn start_with(tls: Option<((String, String), String)>) -> Minio {
        let dir = tempfile::tempdir().expect("temp dir");
        let tls = tls.map(|((cert, key), ca)| {
            let certs = dir.path().join("certs");
            std::fs::create_dir_all(&certs).expect("a certificate directory");
            std::fs::write(certs.join("public.crt"), cert).expect("the certificate");
            std::fs::write(certs.join("private.key"), key).expect("its key");
            (certs, ca)
        });
        let mut m = Minio {
            child: None,
            addr: free_addr(),
            data: dir.path().join("data"),
            tls,
            _dir: dir,
        };
        m.resume();
        m
    }

    /// The CA that signed a TLS server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.tls.as_ref().expect("a TLS MinIO").1
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

    /// `http://127.0.0.1:PORT`, or `https://` when serving TLS.
    pub fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
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
        let mut cmd = Command::new(tool("setpriv"));
        cmd.args(["--pdeathsig", "KILL", "--"])
            .arg(tool("minio"))
            .args(["server", "--quiet", "--address"])
            .arg(self.addr.to_string());
        if let Some((certs, _)) = &self.tls {
            cmd.arg("--certs-dir").arg(certs);
        }
        let child = cmd
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
        let mut client = reqwest::blocking::Client::builder();
        if let Some((_, ca)) = &self.tls {
            let ca = reqwest::Certificate::from_pem(ca.as_bytes()).expect("the test CA");
            client = client.add_root_certificate(ca);
        }
        let client = client.build().expect("an HTTP client");
        wait_until("MinIO to be ready", Duration::from_secs(60), || {
            client
                .get(&url)
                .send()
                .is_ok_and(|r| r.status().is_success())
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

/// A 127.0.0.1 address nobody listens on right now, and never one this process handed
/// out before: a MinIO stopped for an outage keeps its port for its restart, and another
/// test's server must not take it meanwhile (the restart would fail to bind while its
/// health check answered from the other server).
pub fn free_addr() -> SocketAddr {
    static GIVEN: std::sync::Mutex<Vec<SocketAddr>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        if !given.contains(&addr) {
            given.push(addr);
            return addr;
        }
    }
}
