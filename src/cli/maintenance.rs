//! `berth fsck`: checks that storage holds everything the registry serves or can
//! restore, and prints what is missing or wrong. Exits non-zero on a problem. `berth gc`:
//! one garbage collection, safe while registries serve the same storage (`--dry-run`:
//! what it would remove).

use std::path::PathBuf;

use anyhow::Context as _;
use berth_registry::config::Config;
use berth_registry::content::Content;
use berth_registry::maintenance::{fsck, gc};
use clap::Args;

/// Which storage: the same flags as `registry serve`.
#[derive(Args)]
pub(super) struct StorageArgs {
    /// The Registry resource (YAML) whose storage to use, as `registry serve --config`.
    #[arg(long, env = "BERTH_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory (filesystem storage), as `registry serve --data-dir`.
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
}

impl StorageArgs {
    /// Runs `work` on the storage's content, once it answers with a layout this binary
    /// reads.
    pub(super) fn with_content<T>(
        &self,
        work: impl AsyncFnOnce(&Config, &Content) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let config =
            super::registry::storage_config(self.config.as_deref(), self.data_dir.as_deref())?;
        let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
        runtime.block_on(async {
            let content = berth_registry::start::content_of(&config)?;
            content.check().await.context("storage is not usable")?;
            work(&config, &content).await
        })
    }
}

#[derive(Args)]
pub struct FsckArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// Read back and hash every blob (default: sizes of all, digests of one in 16).
    #[arg(long)]
    full: bool,
}

#[derive(Args)]
pub struct GcArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// Print what a collection would remove, and remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Leave unreferenced blobs younger than this (default: the Registry's
    /// garbageCollection.gracePeriod, 1h). It must outlast any one request.
    #[arg(long)]
    grace: Option<humantime::Duration>,
    /// Keys to read or write at once (a scheduled run in the server uses 4, to leave
    /// room for the requests beside it).
    #[arg(long, default_value_t = gc::Options::PARALLEL)]
    parallel: usize,
    /// For tests: how long a run's won removals are its own (default 10m).
    #[arg(long, hide = true)]
    takeover: Option<humantime::Duration>,
    /// For tests: stop at these steps (planned, tombstoned, decided, removed), print
    /// "paused at STEP", and go on when a line is read from standard input.
    #[arg(long, hide = true, value_delimiter = ',')]
    pause_at: Vec<String>,
}

pub fn gc(args: GcArgs) -> anyhow::Result<()> {
    let mut pauses = Vec::new();
    for name in &args.pause_at {
        let step = gc::Step::parse(name)
            .with_context(|| format!("--pause-at {name}: not a step of a collection"))?;
        pauses.push(step);
    }
    let grace = args.grace.map(Into::into);
    let takeover = args.takeover.map_or(gc::Options::TAKEOVER, Into::into);
    let dry_run = args.dry_run;
    let parallel = args.parallel;
    args.storage.with_content(async |config, content| {
        let options = gc::Options {
            restore_window: config.restore_window,
            grace: grace.unwrap_or(config.gc.grace),
            takeover,
            parallel,
        };
        if dry_run {
            print_plan(&gc::plan_now(content, options).await?);
            return Ok(());
        }
        let report = gc::sweep(content, options, async |step, _| {
            if pauses.contains(&step) {
                pause(step).await;
            }
        })
        .await?;
        print_report(&report);
        Ok(())
    })
}

/// Prints that the run stopped at `step` and waits for a line on standard input.
async fn pause(step: gc::Step) {
    use std::io::Write as _;
    println!("paused at {}", step.name());
    let _ = std::io::stdout().flush();
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)
    })
    .await;
}

fn print_plan(plan: &gc::Plan) {
    for (digest, len) in plan.blobs() {
        println!("would remove blob {digest} ({len} bytes)");
    }
    for (repo, digest) in plan.links() {
        println!("would remove link {repo} -> {digest}");
    }
    for key in &plan.expired_versions {
        println!("would remove deleted version {key} (past its restore window)");
    }
    println!(
        "would remove {} blobs ({} bytes), {} links, {} deleted versions; keeps {} blobs ({} bytes); {} unreferenced but inside the grace period",
        plan.blobs().count(),
        plan.reclaimed_bytes(),
        plan.links().count(),
        plan.expired_versions.len(),
        plan.kept_blobs,
        plan.kept_bytes,
        plan.young
    );
}

fn print_report(report: &gc::Report) {
    for (digest, len) in &report.blobs {
        println!("removed blob {digest} ({len} bytes)");
    }
    for (repo, digest) in &report.links {
        println!("removed link {repo} -> {digest}");
    }
    for key in &report.expired_versions {
        println!("removed deleted version {key} (past its restore window)");
    }
    println!(
        "removed {} blobs ({} bytes), {} links, {} deleted versions, {} expired upload sessions; keeps {} blobs ({} bytes); {} kept by requests during the run, {} inside the grace period, {} taken over from runs that stopped",
        report.blobs.len(),
        report.reclaimed_bytes(),
        report.links.len(),
        report.expired_versions.len(),
        report.purged_uploads,
        report.kept_blobs,
        report.kept_bytes,
        report.kept_by_requests,
        report.young,
        report.taken_over
    );
}

pub fn fsck(args: FsckArgs) -> anyhow::Result<()> {
    let report = args
        .storage
        .with_content(async |_, content| Ok(fsck::check(content, args.full).await?))?;
    for problem in &report.problems {
        println!("problem: {problem}");
    }
    println!(
        "checked {} repositories: {} tags, {} manifests, {} deleted versions, {} blobs ({} hashed, {} bytes)",
        report.repositories,
        report.tags,
        report.manifests,
        report.deleted_versions,
        report.blobs,
        report.blobs_hashed,
        report.bytes_hashed
    );
    if report.is_clean() {
        println!("no problems");
        Ok(())
    } else {
        anyhow::bail!("{} problems found", report.problems.len())
    }
}
