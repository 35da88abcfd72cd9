//! `berth webhook deliveries` lists what webhooks delivered (or gave up on) and what is
//! still waiting; `berth webhook redeliver ID` queues a delivery again, as GitHub's
//! "Redeliver" does, for the running registry to send.

use berth_registry::webhooks::{history, outbox};
use clap::{Args, Subcommand};

use super::maintenance::StorageArgs;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Deliveries made, newest first, then the ones still waiting.
    Deliveries(DeliveriesArgs),
    /// Send a recorded delivery again (same body, same X-GitHub-Delivery).
    Redeliver(RedeliverArgs),
}

#[derive(Args)]
pub struct DeliveriesArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// Print JSON lines (every field, with the body) instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RedeliverArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// The delivery's id (its X-GitHub-Delivery), as `berth webhook deliveries` lists it.
    delivery: String,
}

pub fn run(command: WebhookCommand) -> anyhow::Result<()> {
    match command {
        WebhookCommand::Deliveries(args) => args.storage.with_content(async |_, content| {
            let storage = &**content.storage();
            let done = history::deliveries(storage).await?;
            let waiting = outbox::all(storage).await?;
            if args.json {
                for d in &done {
                    println!("{}", serde_json::to_string(d)?);
                }
                for p in &waiting {
                    println!("{}", serde_json::to_string(p)?);
                }
                return Ok(());
            }
            println!("DELIVERY                              STATUS   ATTEMPTS EVENT             PACKAGE  URL");
            for d in &done {
                let status = match (d.outcome.status, &d.outcome.error) {
                    (Some(s), _) if d.succeeded() => s.to_string(),
                    (Some(s), _) => format!("{s} failed"),
                    (None, _) => "failed".to_owned(),
                };
                println!(
                    "{:<37} {:<8} {:<8} {:<17} {}  {}",
                    d.delivery, status, d.outcome.attempts, d.event, d.package, d.url
                );
            }
            for p in &waiting {
                let why = p.last_error.as_deref().unwrap_or("not tried yet");
                println!(
                    "{:<37} {:<8} {:<8} {:<17} {}  {}  ({why})",
                    p.delivery, "waiting", p.attempts, p.event, p.package, p.url
                );
            }
            Ok(())
        }),
        WebhookCommand::Redeliver(args) => args.storage.with_content(async |_, content| {
            let p = history::redeliver(&**content.storage(), &args.delivery).await?;
            println!(
                "queued {} ({} to {}); the registry sends it within seconds",
                p.delivery, p.event, p.url
            );
            Ok(())
        }),
    }
}
