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

#[derive(Args)]
pub struct DataDir {
    /// The registry's data directory.
    #[arg(long, env = "BERTH_DATA_DIR", default_value = "berth-data")]
    data_dir: PathBuf,
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
    match command {
        TokenCommand::Create(args) => {
            let scopes = Scopes::parse(&args.scopes).context("--scopes")?;
            anyhow::ensure!(!args.user.trim().is_empty(), "--user must name a user");
            let (record, token) = TokenDir::new(&args.data.data_dir)
                .create(&args.user, scopes, args.expires.map(Into::into))
                .with_context(|| format!("writing into {}", args.data.data_dir.display()))?;
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
            let tokens = TokenDir::new(&data.data_dir).list()?;
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
            let revoked = TokenDir::new(&data.data_dir).revoke(&id)?;
            anyhow::ensure!(
                revoked,
                "no token {id:?} in {} (see `berth token list`)",
                data.data_dir.display()
            );
            eprintln!("token {id} revoked");
        }
        TokenCommand::RotateKey(data) => {
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
