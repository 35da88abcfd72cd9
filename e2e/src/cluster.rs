//! The cluster a test talks to: the harness's own control plane, or an existing cluster
//! named by `BERTH_E2E_KUBECONFIG` (kind, k3d, ...).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use kube::Client;
use tokio::process::Command;
use tokio::sync::OnceCell;

use crate::control_plane::ControlPlane;
use crate::kubeconfig::{self, ApiServer};
use crate::tools;
use crate::workdir::WorkDir;

/// Names a kubeconfig whose current context the tests use instead of starting etcd and
/// kube-apiserver. Its user must be allowed everything (a kind or k3d admin is).
pub const KUBECONFIG_ENV: &str = "BERTH_E2E_KUBECONFIG";

/// How long one kubectl or helm invocation may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(180);

/// A Kubernetes API server and an admin's credentials for it.
#[derive(Debug)]
pub struct Cluster {
    // Declared first so that the processes stop before their directory is removed.
    plane: Option<ControlPlane>,
    api: ApiServer,
    kubeconfig: PathBuf,
    dir: WorkDir,
}

impl Cluster {
    /// The cluster shared by every test in this test binary, started (or connected to) by
    /// the first test that asks. Build a [`Client`] per test with [`Cluster::client`]: a
    /// client is bound to the Tokio runtime that made it, and each test has its own.
    pub async fn shared() -> Result<&'static Cluster> {
        // A failed start is kept too, so the other tests fail at once with the same cause.
        static SHARED: OnceCell<Result<Cluster, String>> = OnceCell::const_new();
        SHARED
            .get_or_init(|| async { Self::from_env().await.map_err(|error| format!("{error:#}")) })
            .await
            .as_ref()
            .map_err(|error| anyhow!("the shared cluster is unavailable: {error}"))
    }

    /// Connects to `$BERTH_E2E_KUBECONFIG` if set, else starts a control plane.
    pub async fn from_env() -> Result<Self> {
        match std::env::var_os(KUBECONFIG_ENV) {
            Some(path) if !path.is_empty() => Self::connect(Path::new(&path)).await,
            _ => Self::start().await,
        }
    }

    /// Starts a control plane of its own, stopped when the returned value is dropped.
    pub async fn start() -> Result<Self> {
        let dir = WorkDir::new("cluster")?;
        let plane = ControlPlane::start(&dir).await?;
        let kubeconfig = dir.path().join("kubeconfig");
        plane.write_kubeconfig(&kubeconfig)?;
        eprintln!(
            "berth-e2e: control plane ready at {} in {:.1?} (kubeconfig {})",
            plane.api_server().url,
            plane.started_in(),
            kubeconfig.display()
        );
        Ok(Self {
            api: plane.api_server().clone(),
            plane: Some(plane),
            kubeconfig,
            dir,
        })
    }

    /// Uses the current context of an existing kubeconfig.
    pub async fn connect(kubeconfig: &Path) -> Result<Self> {
        let dir = WorkDir::new("external")?;
        let config = kube::Config::from_custom_kubeconfig(
            kube::config::Kubeconfig::read_from(kubeconfig)
                .with_context(|| format!("read {kubeconfig:?} (from {KUBECONFIG_ENV})"))?,
            &Default::default(),
        )
        .await
        .with_context(|| format!("load {kubeconfig:?} (from {KUBECONFIG_ENV})"))?;
        Ok(Self {
            plane: None,
            api: ApiServer::from_config(&config),
            kubeconfig: kubeconfig.to_owned(),
            dir,
        })
    }

    /// The harness's own control plane; `None` for an existing cluster.
    pub fn control_plane(&self) -> Option<&ControlPlane> {
        self.plane.as_ref()
    }

    /// Whether this is an existing cluster rather than the harness's own control plane.
    pub fn is_external(&self) -> bool {
        self.plane.is_none()
    }

    /// Where the API server listens and its CA.
    pub fn api_server(&self) -> &ApiServer {
        &self.api
    }

    /// The admin kubeconfig, for tools and for code under test that takes one.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A scratch directory that lives as long as the cluster.
    pub fn work_dir(&self) -> &Path {
        self.dir.path()
    }

    /// A new admin client, bound to the calling test's runtime.
    pub async fn client(&self) -> Result<Client> {
        kubeconfig::client_from_file(&self.kubeconfig).await
    }

    /// A kubectl command (the pinned build) already pointed at this cluster.
    pub fn kubectl_command(&self) -> Result<Command> {
        let mut command = Command::new(tools::kubectl()?);
        command
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            // Keep discovery caches out of the user's home.
            .env("KUBECACHEDIR", self.dir.path().join("kube-cache"));
        Ok(command)
    }

    /// Runs kubectl with `args`; its stdout, or an error holding its output.
    pub async fn kubectl(&self, args: &[&str]) -> Result<String> {
        let mut command = self.kubectl_command()?;
        command.args(args);
        run(command, "kubectl", args).await
    }

    /// A helm command (the pinned build) already pointed at this cluster, with its cache,
    /// config and data kept in the cluster's scratch directory.
    pub fn helm_command(&self) -> Result<Command> {
        let mut command = Command::new(tools::helm()?);
        let home = self.dir.path().join("helm");
        command
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"));
        Ok(command)
    }

    /// Runs helm with `args`; its stdout, or an error holding its output.
    pub async fn helm(&self, args: &[&str]) -> Result<String> {
        let mut command = self.helm_command()?;
        command.args(args);
        run(command, "helm", args).await
    }
}

/// Runs a tool to completion with a timeout; its stdout if it succeeded.
pub(crate) async fn run(mut command: Command, tool: &str, args: &[&str]) -> Result<String> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(TOOL_TIMEOUT, command.output())
        .await
        .with_context(|| format!("`{tool} {}` took over {TOOL_TIMEOUT:?}", args.join(" ")))?
        .with_context(|| format!("run {tool}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!(
            "`{tool} {}` failed ({}):\n{stdout}{}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(stdout)
}
