//! `berth registry serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use berth_crds::Registry;
use berth_registry::config::Config;
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
    /// Directory holding blobs, manifests and upload sessions.
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// A `Registry` resource (YAML) to configure from; flags override it.
    #[arg(long, env = "BERTH_CONFIG")]
    config: Option<PathBuf>,
}

pub fn run(command: RegistryCommand) -> anyhow::Result<()> {
    match command {
        RegistryCommand::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = resolve(&args)?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let server = Server::bind(&config).await.with_context(|| {
            format!(
                "cannot serve on {} with data in {}",
                config.listen,
                config.data_dir.display()
            )
        })?;
        let addr = server.local_addr()?;
        tracing::info!(
            url = %format!("http://{addr}"),
            data_dir = %config.data_dir.display(),
            "berth registry listening on http://{addr}"
        );
        tracing::warn!(
            "authentication is OFF: anyone who can reach http://{addr} can push, pull and delete"
        );
        server.serve(shutdown_signal()).await?;
        tracing::info!("berth registry stopped");
        Ok(())
    })
}

/// Defaults, then the `--config` Registry, then flags.
fn resolve(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut config = Config::default();
    if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading --config {}", path.display()))?;
        let registry: Registry = serde_saphyr::from_str(&text)
            .with_context(|| format!("{} is not a Registry resource", path.display()))?;
        config
            .apply(&registry.spec)
            .with_context(|| format!("in {}", path.display()))?;
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    Ok(config)
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
