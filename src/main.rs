//! The `berth` binary: one image, every role (registry, operator, tools).

use clap::Parser;

mod cli;
mod logging;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    logging::init(args.log_format);
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
