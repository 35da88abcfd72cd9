//! The pod runner: the harness as the kubelet.
//!
//! Given a Deployment in the API server, [`PodRunner::run`] starts its container as a local
//! process, as a kubelet would start the pod:
//!
//! - the image is mapped to a local executable ([`Images`]); `command[0]`, the program inside
//!   the image, is replaced by that executable, and the rest of `command` then `args` follow;
//! - `env` and `envFrom` are resolved (ConfigMap and Secret keys, the downward API), and
//!   `$(VAR)` references in env, command and args expanded;
//! - ConfigMap, Secret, projected and emptyDir volumes are written into a temporary
//!   directory, and every mount path in args and env values is rewritten to point there;
//! - unless `automountServiceAccountToken` is false, a real token for the pod's
//!   ServiceAccount comes from the TokenRequest API and is written, with `ca.crt` and
//!   `namespace`, where `/var/run/secrets/kubernetes.io/serviceaccount` is mapped; and
//!   since in-cluster client configs read that fixed path, `KUBECONFIG` points at a
//!   kubeconfig holding the same token, so the process talks to the API server with
//!   exactly the pod's permissions.
//!
//! The environment is the container's alone (plus `PATH`, `HOME`, `HOSTNAME`, `KUBECONFIG`
//! and `KUBERNETES_SERVICE_HOST/PORT`), not the test's. Nothing isolates the network: a
//! server in the process listens on this machine, so a test chooses its address with
//! [`free_port`](crate::free_port) and passes it with [`PodRunner::env`] or
//! [`PodRunner::arg`], which are added after the container's own. Init containers, probes,
//! resources and ports are ignored.

mod env;
mod images;
mod paths;
mod status;
mod volumes;

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use anyhow::{Context, Result};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Api;

pub use images::Images;
pub use paths::PathMap;
pub use status::report_ready;
pub use volumes::SERVICE_ACCOUNT_DIR;

use crate::cluster::Cluster;
use crate::kubeconfig::{self, ApiServer};
use crate::process::{self, Process};
use crate::workdir::WorkDir;
use env::{PodFacts, Sources};

/// A container's `PATH` when its image sets none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Runs a Deployment's container as a local process; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct PodRunner {
    images: Images,
    container: Option<String>,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

impl PodRunner {
    /// A runner that maps images with `images`.
    pub fn new(images: Images) -> Self {
        Self {
            images,
            container: None,
            env: Vec::new(),
            args: Vec::new(),
        }
    }

    /// Runs the container named `name` instead of the first one.
    pub fn container(mut self, name: impl Into<String>) -> Self {
        self.container = Some(name.into());
        self
    }

    /// Adds (or overrides) an environment variable after the container's own.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        env::set(&mut self.env, name.into(), value.into());
        self
    }

    /// Appends an argument after the container's own.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Starts the container of Deployment `namespace/deployment`.
    pub async fn run(
        &self,
        cluster: &Cluster,
        namespace: &str,
        deployment: &str,
    ) -> Result<RunningPod> {
        let client = cluster.client().await?;
        let (metadata, spec) = pod_template(&client, namespace, deployment).await?;
        let container = self.chosen(&spec).with_context(|| {
            format!("Deployment {namespace}/{deployment} has no such container")
        })?;
        let executable = self
            .images
            .resolve(container.image.as_deref().unwrap_or_default())?;

        let pod_name = format!("{deployment}-{:010x}", rand::random::<u64>() >> 24);
        let service_account = spec.service_account_name.as_deref().unwrap_or("default");
        let (labels, annotations) = (
            metadata.labels.unwrap_or_default(),
            metadata.annotations.unwrap_or_default(),
        );
        let facts = PodFacts {
            name: &pod_name,
            namespace,
            service_account,
            labels: &labels,
            annotations: &annotations,
        };
        let token = pod_token(cluster, &spec, namespace, service_account).await?;

        let dir = WorkDir::new(&format!("pod-{deployment}"))?;
        let api = cluster.api_server();
        let ca_pem = api.ca_pem.clone().unwrap_or_default();
        let sources = Sources::new(client, namespace);
        let mut paths = PathMap::default();
        let credentials = volumes::Credentials {
            cluster,
            service_account,
            token: token.as_deref(),
            ca_pem: &ca_pem,
            namespace,
        };
        volumes::materialize(
            &spec,
            container,
            &sources,
            &credentials,
            &dir.subdir("volumes")?,
            &mut paths,
        )
        .await?;

        let container_env = env::container_env(container, &sources, &facts).await?;
        let argv = argv(container, &container_env, &paths);
        let environment =
            self.environment(&pod_name, &dir, api, &credentials, container_env, &paths)?;
        let working_dir = working_dir(container, &paths, &dir)?;

        let mut command = process::command(executable)?;
        command
            .args(argv)
            .args(&self.args)
            .env_clear()
            .envs(environment)
            .current_dir(&working_dir);
        let process = Process::spawn(&container.name, command, &dir.subdir("logs")?)?;
        Ok(RunningPod {
            process,
            name: pod_name,
            paths,
            _dir: dir,
        })
    }

    /// The container to run: the one named, or the first.
    fn chosen<'s>(&self, spec: &'s PodSpec) -> Option<&'s Container> {
        match &self.container {
            Some(name) => spec.containers.iter().find(|c| &c.name == name),
            None => spec.containers.first(),
        }
    }

    /// The process's environment: what every container has, the API server's address
    /// (and, with a token, a kubeconfig holding it), the container's own variables with
    /// mount paths rewritten, then the runner's.
    fn environment(
        &self,
        pod_name: &str,
        dir: &WorkDir,
        api: &ApiServer,
        credentials: &volumes::Credentials<'_>,
        container_env: Vec<(String, String)>,
        paths: &PathMap,
    ) -> Result<Vec<(String, String)>> {
        let mut environment = vec![
            ("PATH".to_owned(), DEFAULT_PATH.to_owned()),
            ("HOSTNAME".to_owned(), pod_name.to_owned()),
            ("HOME".to_owned(), dir.subdir("home")?.display().to_string()),
        ];
        environment.extend(service_env(&api.url));
        if let Some(token) = credentials.token {
            let (namespace, service_account) = (credentials.namespace, credentials.service_account);
            let path = dir.path().join("kubeconfig");
            let user = format!("system:serviceaccount:{namespace}:{service_account}");
            kubeconfig::write(&path, &api.kubeconfig(&user, token, Some(namespace)))?;
            environment.push(("KUBECONFIG".to_owned(), path.display().to_string()));
        }
        for (name, value) in container_env {
            env::set(&mut environment, name, paths.rewrite(&value));
        }
        for (name, value) in &self.env {
            env::set(&mut environment, name.clone(), value.clone());
        }
        Ok(environment)
    }
}

/// The pod template of Deployment `namespace/deployment`: its metadata and spec.
async fn pod_template(
    client: &kube::Client,
    namespace: &str,
    deployment: &str,
) -> Result<(ObjectMeta, PodSpec)> {
    let found = Api::<Deployment>::namespaced(client.clone(), namespace)
        .get(deployment)
        .await
        .with_context(|| format!("read Deployment {namespace}/{deployment}"))?;
    let template = found.spec.template;
    let spec = template
        .spec
        .with_context(|| format!("Deployment {namespace}/{deployment} has no pod spec"))?;
    Ok((template.metadata.unwrap_or_default(), spec))
}

/// A token for the pod's ServiceAccount, unless the pod opts out of one.
async fn pod_token(
    cluster: &Cluster,
    spec: &PodSpec,
    namespace: &str,
    service_account: &str,
) -> Result<Option<String>> {
    Ok(match spec.automount_service_account_token {
        Some(false) => None,
        _ => Some(
            cluster
                .service_account_token(namespace, service_account)
                .await?,
        ),
    })
}

/// The container's working directory, made: a mount's local path, or a directory under
/// the pod's own `rootfs`.
fn working_dir(container: &Container, paths: &PathMap, dir: &WorkDir) -> Result<PathBuf> {
    let working_dir = match container.working_dir.as_deref() {
        Some(pod_dir) => paths.resolve(pod_dir).unwrap_or_else(|| {
            dir.path()
                .join("rootfs")
                .join(pod_dir.trim_start_matches('/'))
        }),
        None => dir.path().join("rootfs"),
    };
    std::fs::create_dir_all(&working_dir).with_context(|| format!("create {working_dir:?}"))?;
    Ok(working_dir)
}

/// The arguments after the executable: `command` without the program it names, then
/// `args`, with `$(VAR)` expanded and mount paths rewritten.
fn argv(container: &Container, env: &[(String, String)], paths: &PathMap) -> Vec<String> {
    let command = container.command.iter().flatten().skip(1);
    command
        .chain(container.args.iter().flatten())
        .map(|arg| paths.rewrite(&env::expand(arg, env)))
        .collect()
}

/// `KUBERNETES_SERVICE_HOST` and `_PORT`, as a pod sees them, for the API server at `url`.
fn service_env(url: &str) -> Vec<(String, String)> {
    let host_port = url.trim_start_matches("https://");
    match host_port.rsplit_once(':') {
        Some((host, port)) => vec![
            ("KUBERNETES_SERVICE_HOST".to_owned(), host.to_owned()),
            ("KUBERNETES_SERVICE_PORT".to_owned(), port.to_owned()),
        ],
        None => Vec::new(),
    }
}

/// A container running as a local process; killed (and its files removed) when dropped.
#[derive(Debug)]
pub struct RunningPod {
    // Declared first so that the process is killed before its files are removed.
    process: Process,
    name: String,
    paths: PathMap,
    _dir: WorkDir,
}

impl RunningPod {
    /// The pod name the process was given (`HOSTNAME`, `metadata.name`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.process.id()
    }

    /// The local path standing for `pod_path`, if it lies under a mount.
    pub fn local_path(&self, pod_path: &str) -> Option<PathBuf> {
        self.paths.resolve(pod_path)
    }

    /// The mounts: paths in the pod and the local paths behind them.
    pub fn mounts(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.paths.mounts()
    }

    /// Everything the process has written to stdout so far.
    pub fn stdout(&self) -> String {
        self.process.stdout()
    }

    /// Everything the process has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// The exit status, if the process has ended.
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        self.process.try_status()
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait(&mut self, timeout: Duration) -> Result<ExitStatus> {
        self.process.wait(timeout).await
    }

    /// Waits up to `timeout` until stdout contains `text`, failing early if the process
    /// exits without printing it.
    pub async fn wait_for_stdout(&mut self, text: &str, timeout: Duration) -> Result<()> {
        let what = format!("{text:?} on the stdout of {}", self.name);
        let process = &mut self.process;
        crate::wait::until(timeout, &what, || {
            let result = match process.try_status() {
                _ if process.stdout().contains(text) => Ok(Some(())),
                Ok(Some(status)) => Err(anyhow::anyhow!(
                    "{} exited with {status} before printing {text:?}\n{}",
                    process.name(),
                    process.log_tail()
                )),
                Ok(None) => Ok(None),
                Err(error) => Err(error),
            };
            async move { result }
        })
        .await
    }

    /// Kills the process now.
    pub fn kill(&mut self) {
        self.process.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_drops_the_image_program_expands_and_rewrites() {
        let container = Container {
            command: Some(vec!["/berth".into(), "registry".into()]),
            args: Some(vec![
                "--port=$(PORT)".into(),
                "--config=/etc/berth/c.yaml".into(),
            ]),
            ..Container::default()
        };
        let mut paths = PathMap::default();
        paths.insert("/etc/berth", "/tmp/v".into());
        let env = [("PORT".to_owned(), "5000".to_owned())];
        assert_eq!(
            argv(&container, &env, &paths),
            ["registry", "--port=5000", "--config=/tmp/v/c.yaml"]
        );
    }

    #[test]
    fn service_env_splits_the_api_server_address() {
        assert_eq!(
            service_env("https://127.0.0.1:6443"),
            [
                ("KUBERNETES_SERVICE_HOST".to_owned(), "127.0.0.1".to_owned()),
                ("KUBERNETES_SERVICE_PORT".to_owned(), "6443".to_owned()),
            ]
        );
    }
}
