//! `berth registry serve`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use berth_crds::Registry;
use berth_registry::config::Config;
use berth_registry::hosts::Hosts;
use berth_registry::server::Server;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Serve the registry (filesystem storage in --data-dir).
    Serve(ServeArgs),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BERTH_LISTEN")]
    listen: Option<SocketAddr>,
    /// Serve TLS with this certificate chain (PEM; reloaded when it changes).
    #[arg(long, env = "BERTH_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "BERTH_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Directory holding blobs, manifests and upload sessions.
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A `Registry` resource (YAML) to configure from; flags override it.
    #[arg(long, env = "BERTH_CONFIG")]
    config: Option<PathBuf>,
    /// Serve images on containers.HOST and pages and the API on HOST.
    #[arg(long, env = "BERTH_HOST", conflicts_with = "single_host")]
    host: Option<String>,
    /// Serve everything on one address (laptop mode; gives up subdomain isolation).
    #[arg(long, env = "BERTH_SINGLE_HOST")]
    single_host: bool,
    /// Directory of Package and Organization YAML files (default DATA_DIR/policy).
    #[arg(long, env = "BERTH_POLICY_DIR", conflicts_with = "kubernetes")]
    policy_dir: Option<PathBuf>,
    /// Run as a registry pod: the policy and PATs come from the Kubernetes API.
    #[arg(long, env = "BERTH_KUBERNETES")]
    kubernetes: bool,
    /// The namespace of the Registry (in a pod: from the downward API).
    #[arg(long, env = "BERTH_NAMESPACE", requires = "kubernetes")]
    namespace: Option<String>,
    /// The Registry's name.
    #[arg(long, env = "BERTH_REGISTRY", requires = "kubernetes")]
    registry: Option<String>,
    /// The signing keys (in a pod: the mounted signing-keys Secret; standalone:
    /// DATA_DIR/auth/keys).
    #[arg(long, env = "BERTH_KEYS_DIR", requires = "kubernetes")]
    keys_dir: Option<PathBuf>,
    /// A file holding the key that signs upload states (every replica needs the same
    /// one); without it the key is made once and kept in storage.
    #[arg(long, env = "BERTH_UPLOAD_STATE_KEY_FILE")]
    upload_state_key_file: Option<PathBuf>,
    /// Do not count downloads (the benchmark's baseline; the API then shows the counts
    /// stored before).
    #[arg(long, env = "BERTH_NO_DOWNLOAD_COUNTS")]
    no_download_counts: bool,
    /// For tests: the first scheduled collection that removes a blob logs "garbage
    /// collection paused after removing" and stops there for good (a test then kills
    /// the process mid-sweep).
    #[arg(long, env = "BERTH_GC_PAUSE_AFTER_REMOVING", hide = true)]
    gc_pause_after_removing: bool,
}

pub fn run(command: RegistryCommand) -> anyhow::Result<()> {
    match command {
        RegistryCommand::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = resolve(&args)?;
    let args = &args;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let storage = match &config.s3 {
            Some(s3) => format!("S3 bucket {}", s3.bucket),
            None => config.data_dir.display().to_string(),
        };
        let server = if args.kubernetes {
            let opts = berth_registry::cluster::ClusterOptions {
                namespace: args
                    .namespace
                    .clone()
                    .context("--kubernetes needs --namespace (BERTH_NAMESPACE)")?,
                registry: args
                    .registry
                    .clone()
                    .context("--kubernetes needs --registry (BERTH_REGISTRY)")?,
                keys_dir: args
                    .keys_dir
                    .clone()
                    .context("--kubernetes needs --keys-dir (the signing-keys Secret)")?,
            };
            Server::bind_cluster(&config, &opts).await
        } else {
            Server::bind(&config).await
        };
        let server = server
            .with_context(|| format!("cannot serve on {} with data in {storage}", config.listen))?;
        let addr = server.local_addr()?;
        let scheme = if config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        if let Some(token) = server.bootstrap_token() {
            // Printed once, on stdout, so it can be captured; it is stored only hashed.
            println!(
                "Bootstrap admin token (user {}; shown once, keep it safe):\n{token}",
                berth_registry::start::BOOTSTRAP_ADMIN
            );
        }
        tracing::info!(
            url = %format!("{scheme}://{addr}"),
            storage = %storage,
            policy_dir = %config.policy_dir().display(),
            "berth registry listening on {scheme}://{addr}"
        );
        server.serve(shutdown_signal()).await?;
        tracing::info!("berth registry stopped");
        Ok(())
    })
}

/// Defaults, then the `--config` Registry, then flags.
fn resolve(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = storage_config(args.config.as_deref(), args.data_dir.as_deref())?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(berth_registry::config::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    if let Some(dir) = &args.policy_dir {
        config.policy_dir = Some(dir.clone());
    }
    if let Some(host) = &args.host {
        config.hosts = Some(Hosts::split(host, None));
    }
    if args.single_host {
        config.hosts = Some(Hosts::Single);
    }
    if let Some(file) = &args.upload_state_key_file {
        config.upload_state_key_file = Some(file.clone());
    }
    config.gc.pause_after_removing = args.gc_pause_after_removing;
    if args.no_download_counts {
        config.count_downloads = false;
    }
    Ok(config)
}

/// Defaults, then the `config` Registry, then the data dir: where `registry serve` and
/// the maintenance commands find storage.
pub fn storage_config(config: Option<&Path>, data_dir: Option<&Path>) -> anyhow::Result<Config> {
    let mut out = Config::default();
    if let Some(path) = config {
        if let Some(dir) = path.parent() {
            out.config_dir = dir.to_owned();
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading --config {}", path.display()))?;
        let registry: Registry = serde_saphyr::from_str(&text)
            .with_context(|| format!("{} is not a Registry resource", path.display()))?;
        out.apply(&registry.spec)
            .with_context(|| format!("in {}", path.display()))?;
    }
    if let Some(dir) = data_dir {
        // With S3 storage, the data dir still holds this process's own state: signing
        // keys, PATs and (by default) the policy directory.
        out.data_dir = dir.to_owned();
    }
    Ok(out)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    //! The operator writes the registry pods' command line (`desired_deployment`); these
    //! tests parse it with this parser, so the two cannot drift apart unnoticed.

    use berth_operator::registry::build::{
        CONFIG_DIR, DATA_DIR, KEYS_DIR, UPLOAD_KEY_DIR, config_map, desired_deployment, fixture,
        secrets,
    };
    use clap::{CommandFactory, Parser};
    use k8s_openapi::api::core::v1::Container;

    use super::super::{Cli, Command};
    use super::*;
    use crate::logging::LogFormat;

    /// The registry container the operator builds for its fixture Registry.
    fn pod_container() -> Container {
        let d = desired_deployment(&fixture::registry(), "abc123");
        d.spec.template.spec.unwrap().containers.remove(0)
    }

    /// `berth ARGS…` parsed as `registry serve`: the log format and the serve options.
    fn parse_serve(args: impl IntoIterator<Item = String>) -> (LogFormat, ServeArgs) {
        let argv = std::iter::once("berth".to_owned()).chain(args);
        let Cli {
            log_format,
            command,
        } = Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{e}"));
        let Command::Registry {
            command: RegistryCommand::Serve(serve),
        } = command
        else {
            panic!("the pod's args are not `registry serve`");
        };
        (log_format, serve)
    }

    #[test]
    fn the_operators_pod_args_parse_as_registry_serve() {
        let (log_format, serve) = parse_serve(pod_container().args.unwrap());
        assert!(matches!(log_format, LogFormat::Json));
        assert!(serve.kubernetes);
        let file = |dir: &str, name: &str| Some(PathBuf::from(format!("{dir}/{name}")));
        assert_eq!(serve.config, file(CONFIG_DIR, config_map::CONFIG_FILE));
        assert_eq!(serve.data_dir, Some(PathBuf::from(DATA_DIR)));
        assert_eq!(serve.keys_dir, Some(PathBuf::from(KEYS_DIR)));
        assert_eq!(
            serve.upload_state_key_file,
            file(UPLOAD_KEY_DIR, secrets::UPLOAD_KEY_FILE)
        );
        assert!(serve.policy_dir.is_none() && !serve.single_host);
    }

    /// Every `BERTH_*` variable the operator sets is one this parser reads; given as the
    /// flags they stand for (clap reads the environment of this process, not the pod's),
    /// they land where a pod needs them.
    #[test]
    fn the_operators_pod_env_names_serve_options() {
        let container = pod_container();
        let cli = Cli::command();
        let serve = cli
            .find_subcommand("registry")
            .and_then(|c| c.find_subcommand("serve"))
            .expect("`registry serve` exists");
        let mut args = container.args.clone().unwrap();
        for var in container.env.unwrap() {
            let arg = serve
                .get_arguments()
                .find(|a| a.get_env().is_some_and(|e| e == var.name.as_str()))
                .unwrap_or_else(|| panic!("no `registry serve` option reads {}", var.name));
            // The downward API's value, as the fixture's pods would see it.
            let value = match (&var.value, &var.value_from) {
                (Some(value), _) => value.clone(),
                (None, Some(from)) => {
                    let field = &from.field_ref.as_ref().unwrap().field_path;
                    assert_eq!(field, "metadata.namespace", "{}", var.name);
                    "berth".to_owned()
                }
                (None, None) => panic!("{} has no value", var.name),
            };
            args.push(format!("--{}", arg.get_long().unwrap()));
            args.push(value);
        }
        let (_, serve) = parse_serve(args);
        assert_eq!(serve.listen, Some("0.0.0.0:5000".parse().unwrap()));
        assert_eq!(serve.registry.as_deref(), Some("main"));
        assert_eq!(serve.namespace.as_deref(), Some("berth"));
    }
}
