//! Command-line interface: `berth registry serve`, and more roles as they land.

use clap::{Parser, Subcommand};

use crate::logging::LogFormat;

mod maintenance;
mod operator;
mod registry;
mod token;
mod webhook;

/// `berth --version`: the release and the git revision it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("BERTH_GIT_REVISION"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "berth",
    version = VERSION,
    about = "GitHub's Container registry, self-hosted"
)]
pub struct Cli {
    /// Log format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "BERTH_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The registry server.
    Registry {
        #[command(subcommand)]
        command: registry::RegistryCommand,
    },
    /// The Kubernetes operator.
    Operator(operator::OperatorArgs),
    /// Write the CRDs (Registry, Package, Organization) as YAML.
    Crdgen(operator::CrdgenArgs),
    /// Check that storage holds everything the registry serves or can restore.
    Fsck(maintenance::FsckArgs),
    /// Garbage collection: `--dry-run` prints what nothing live or restorable reaches.
    Gc(maintenance::GcArgs),
    /// Personal access tokens and signing keys (standalone mode).
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Webhook deliveries: what was sent, what waits, and redelivery.
    Webhook {
        #[command(subcommand)]
        command: webhook::WebhookCommand,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Registry { command } => registry::run(command),
        Command::Token { command } => token::run(command),
        Command::Operator(args) => operator::run(args),
        Command::Crdgen(args) => operator::crdgen(args),
        Command::Fsck(args) => maintenance::fsck(args),
        Command::Gc(args) => maintenance::gc(args),
        Command::Webhook { command } => webhook::run(command),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_version_names_the_release_and_the_git_revision() {
        let version = Cli::command().render_version();
        assert!(
            version.starts_with(&format!("berth {} (git ", env!("CARGO_PKG_VERSION"))),
            "{version}"
        );
        let revision = env!("BERTH_GIT_REVISION");
        assert!(
            revision == "unknown" || revision.chars().all(|c| c.is_ascii_hexdigit()),
            "{revision}"
        );
        assert_ne!(revision, "", "{version}");
    }
}
