//! etcd and kube-apiserver, started on free loopback ports: what controller-runtime's
//! envtest runs, and no more. There is no controller-manager or scheduler, so nothing
//! creates ServiceAccounts, garbage-collects, finalizes namespaces or runs pods.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kube::Client;

use crate::certs::Certs;
use crate::kubeconfig::{self, ApiServer};
use crate::process::{self, Process};
use crate::tools;
use crate::workdir::WorkDir;

/// How long a start may take before it fails: a cold start (first run after a build,
/// empty page cache) is much slower than the warm target of 15 s.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// Starts are retried this many times, since a free port found by binding to port 0 can be
/// taken by someone else before etcd or kube-apiserver binds it.
const START_ATTEMPTS: usize = 3;

/// The user in the token file that the admin kubeconfig authenticates as.
pub const ADMIN_USER: &str = "berth-e2e-admin";

/// A running etcd and kube-apiserver; both are killed when this is dropped or, for a
/// `static` that never is, when the test process exits.
#[derive(Debug)]
pub struct ControlPlane {
    // Declared before etcd so that the API server is stopped first.
    apiserver: Process,
    etcd: Process,
    api: ApiServer,
    admin_token: String,
    started_in: Duration,
}

/// A free TCP port on 127.0.0.1, for a server the caller is about to start.
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("bind 127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver with their state in `dir`, and waits until the API
    /// server's `/readyz` answers `ok`.
    pub async fn start(dir: &WorkDir) -> Result<Self> {
        let mut attempt = 1;
        loop {
            match Self::start_once(dir, attempt).await {
                Ok(plane) => return Ok(plane),
                Err(error) if attempt < START_ATTEMPTS && is_port_clash(&error) => attempt += 1,
                Err(error) => return Err(error),
            }
        }
    }

    async fn start_once(dir: &WorkDir, attempt: usize) -> Result<Self> {
        let started = Instant::now();
        let (etcd_bin, apiserver_bin) = (tools::etcd()?, tools::kube_apiserver()?);
        let run = dir.subdir(&format!("run-{attempt}"))?;
        let certs = Certs::generate()?;
        let files = [
            ("ca.crt", &certs.ca_pem),
            ("apiserver.crt", &certs.serving_cert_pem),
            ("apiserver.key", &certs.serving_key_pem),
            ("sa.key", &certs.sa_key_pem),
            ("sa.pub", &certs.sa_public_pem),
        ];
        for (name, pem) in files {
            std::fs::write(run.join(name), pem).with_context(|| format!("write {name}"))?;
        }
        let admin_token = format!("{:032x}", rand::random::<u128>());
        std::fs::write(
            run.join("tokens.csv"),
            format!("{admin_token},{ADMIN_USER},{ADMIN_USER},\"system:masters\"\n"),
        )?;

        let (client_port, peer_port, api_port) = (free_port()?, free_port()?, free_port()?);
        let etcd_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let mut etcd = process::command(&etcd_bin)?;
        etcd.args([
            "--name=e2e".to_owned(),
            format!("--data-dir={}", run.join("etcd").display()),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=e2e={peer_url}"),
            // Test data need not survive a power cut; fsync is most of etcd's latency.
            "--unsafe-no-fsync=true".to_owned(),
            "--log-level=warn".to_owned(),
        ]);
        let etcd = Process::spawn("etcd", etcd, &run)?;

        let file = |name: &str| run.join(name).display().to_string();
        let mut apiserver = process::command(&apiserver_bin)?;
        apiserver.args([
            format!("--etcd-servers={etcd_url}"),
            format!("--cert-dir={}", file("certs")),
            format!("--tls-cert-file={}", file("apiserver.crt")),
            format!("--tls-private-key-file={}", file("apiserver.key")),
            format!("--secure-port={api_port}"),
            "--bind-address=127.0.0.1".to_owned(),
            "--advertise-address=127.0.0.1".to_owned(),
            // The `kubernetes` Service's endpoints may not be loopback addresses, and
            // nothing in the tests resolves that Service, so keep none.
            "--endpoint-reconciler-type=none".to_owned(),
            "--service-cluster-ip-range=10.0.0.0/24".to_owned(),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".to_owned(),
            format!("--service-account-key-file={}", file("sa.pub")),
            format!("--service-account-signing-key-file={}", file("sa.key")),
            "--authorization-mode=RBAC".to_owned(),
            format!("--token-auth-file={}", file("tokens.csv")),
            "--allow-privileged=true".to_owned(),
            "--profiling=false".to_owned(),
        ]);
        let apiserver = Process::spawn("kube-apiserver", apiserver, &run)?;

        let mut plane = Self {
            apiserver,
            etcd,
            api: ApiServer {
                url: format!("https://127.0.0.1:{api_port}"),
                ca_pem: Some(certs.ca_pem),
            },
            admin_token,
            started_in: Duration::ZERO,
        };
        plane.wait_ready().await?;
        plane.started_in = started.elapsed();
        Ok(plane)
    }

    /// Polls `/readyz` until it answers `ok`, failing early (with the logs) if either
    /// process exits.
    async fn wait_ready(&mut self) -> Result<()> {
        let client = self.admin_client().await?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            for process in [&mut self.etcd, &mut self.apiserver] {
                if let Some(status) = process.try_status()? {
                    bail!(
                        "{} exited with {status}\n{}",
                        process.name(),
                        process.log_tail()
                    );
                }
            }
            let request = http::Request::get("/readyz").body(Vec::new())?;
            if let Ok(body) = client.request_text(request).await
                && body.trim() == "ok"
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "kube-apiserver was not ready after {START_TIMEOUT:?}\n{}\n{}",
                    self.apiserver.log_tail(),
                    self.etcd.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Where the API server listens and its CA.
    pub fn api_server(&self) -> &ApiServer {
        &self.api
    }

    /// The admin's bearer token (a member of `system:masters`).
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// A client authenticated as the admin.
    pub async fn admin_client(&self) -> Result<Client> {
        kubeconfig::client(self.api.kubeconfig(ADMIN_USER, &self.admin_token, None)).await
    }

    /// How long the start took, from generating certificates to a ready API server.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// The process ids of etcd and kube-apiserver.
    pub fn pids(&self) -> [u32; 2] {
        [self.etcd.id(), self.apiserver.id()]
    }

    /// Writes the admin kubeconfig (for kubectl and helm) to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<()> {
        kubeconfig::write(
            path,
            &self.api.kubeconfig(ADMIN_USER, &self.admin_token, None),
        )
    }
}

/// Whether a failed start looks like a port taken between choosing and binding it.
fn is_port_clash(error: &anyhow::Error) -> bool {
    format!("{error:#}").contains("address already in use")
}
