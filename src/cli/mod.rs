//! Command-line interface: `berth registry serve`, and more roles as they land.

use clap::{Parser, Subcommand};

use crate::logging::LogFormat;

mod operator;
mod registry;
mod token;

#[derive(Parser)]
#[command(
    name = "berth",
    version,
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
    /// Personal access tokens and signing keys (standalone mode).
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Registry { command } => registry::run(command),
        Command::Token { command } => token::run(command),
        Command::Operator(args) => operator::run(args),
        Command::Crdgen(args) => operator::crdgen(args),
    }
}
