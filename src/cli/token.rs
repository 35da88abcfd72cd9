//! `berth token …`: personal access tokens and signing keys of a standalone registry.
//! The running registry picks changes up on its own: a revoked token stops working on
//! the next request.

use std::path::PathBuf;

use anyhow::Context as _;
use berth_registry::auth::identity::Scopes;
use berth_registry::auth::keys::SigningKeys;
use berth_registry::auth::store::TokenDir;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (once).
    Create(CreateArgs),
    /// List tokens (never the tokens themselves).
    List(DataDir),
    /// Revoke a token by id.
    Revoke {
        #[command(flatten)]
        data: DataDir,
        /// The id `berth token list` shows.
        id: String,
    },
    /// Add a new signing key; it signs from now on, and older keys keep verifying the
    /// tokens they signed until you remove their files.
    RotateKey(DataDir),
}

/// Where tokens are kept: a standalone data dir, or a Registry in a cluster.
#[derive(Args)]
pub struct DataDir {
    /// The registry's data directory (standalone).
    #[arg(long, env = "BERTH_DATA_DIR", default_value = "berth-data")]
    data_dir: PathBuf,
    /// Keep the token as a Secret beside a Registry in a cluster instead (the current
    /// kubeconfig context, or this file).
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    kubeconfig: Option<PathBuf>,
    /// The Registry's namespace (with --kubeconfig).
    #[arg(long, requires = "kubeconfig")]
    namespace: Option<String>,
    /// The Registry's name (with --kubeconfig).
    #[arg(long, requires = "kubeconfig", default_value = "main")]
    registry: String,
}

impl DataDir {
    /// The client, namespace and Registry when tokens live in a cluster.
    async fn cluster(&self) -> anyhow::Result<Option<(kube::Client, String, String)>> {
        let Some(path) = &self.kubeconfig else {
            return Ok(None);
        };
        let options = kube::config::KubeConfigOptions::default();
        let config = if path.as_os_str().is_empty() {
            kube::Config::from_kubeconfig(&options).await
        } else {
            let kc = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &options).await
        }
        .context("loading the kubeconfig")?;
        let namespace = self
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let client = kube::Client::try_from(config).context("connecting to the cluster")?;
        Ok(Some((client, namespace, self.registry.clone())))
    }
}

#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    data: DataDir,
    /// The user the token signs in as.
    #[arg(long)]
    user: String,
    /// Comma-separated: read:packages, write:packages (implies read), delete:packages.
    #[arg(long, default_value = "read:packages")]
    scopes: String,
    /// Lifetime, e.g. 30d or 12h (default: never expires).
    #[arg(long)]
    expires: Option<humantime::Duration>,
}

pub fn run(command: TokenCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(run_async(command))
}

async fn run_async(command: TokenCommand) -> anyhow::Result<()> {
    use berth_registry::cluster::tokens;
    match command {
        TokenCommand::Create(args) => {
            let scopes = Scopes::parse(&args.scopes).context("--scopes")?;
            anyhow::ensure!(!args.user.trim().is_empty(), "--user must name a user");
            let ttl = args.expires.map(Into::into);
            let (record, token) = match args.data.cluster().await? {
                Some((client, ns, registry)) => {
                    tokens::create(client, &ns, &registry, &args.user, scopes, ttl)
                        .await
                        .with_context(|| format!("creating the token Secret in namespace {ns}"))?
                }
                None => TokenDir::new(&args.data.data_dir)
                    .create(&args.user, scopes, ttl)
                    .with_context(|| format!("writing into {}", args.data.data_dir.display()))?,
            };
            eprintln!(
                "token {} for {} ({}), expires {}; it is shown only now:",
                record.id,
                record.user,
                record.scopes,
                record.expires_at.as_deref().unwrap_or("never")
            );
            println!("{token}");
        }
        TokenCommand::List(data) => {
            let tokens = match data.cluster().await? {
                Some((client, ns, registry)) => tokens::list(client, &ns, &registry).await?,
                None => TokenDir::new(&data.data_dir).list()?,
            };
            println!(
                "{:<14} {:<20} {:<32} {:<28} EXPIRES",
                "ID", "USER", "SCOPES", "CREATED"
            );
            for t in tokens {
                let expires = t.expires_at.as_deref().unwrap_or("never");
                println!(
                    "{:<14} {:<20} {:<32} {:<28} {expires}",
                    t.id,
                    t.user,
                    t.scopes.to_string(),
                    t.created_at
                );
            }
        }
        TokenCommand::Revoke { data, id } => {
            let revoked = match data.cluster().await? {
                Some((client, ns, registry)) => tokens::revoke(client, &ns, &registry, &id).await?,
                None => TokenDir::new(&data.data_dir).revoke(&id)?,
            };
            anyhow::ensure!(revoked, "no token {id:?} (see `berth token list`)");
            eprintln!("token {id} revoked");
        }
        TokenCommand::RotateKey(data) => {
            anyhow::ensure!(
                data.kubeconfig.is_none(),
                "in a cluster, add a key to the Registry's signing-keys Secret instead"
            );
            let dir = data.data_dir.join("auth").join("keys");
            let kid = SigningKeys::generate(&dir)
                .with_context(|| format!("writing into {}", dir.display()))?;
            eprintln!(
                "new signing key {kid} in {}; it signs from now on",
                dir.display()
            );
        }
    }
    Ok(())
}
