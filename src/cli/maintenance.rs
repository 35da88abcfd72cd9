//! `berth fsck`: checks that storage holds everything the registry serves or can
//! restore, and prints what is missing or wrong. Exits non-zero on a problem. `berth gc
//! --dry-run`: what garbage collection would remove.

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
}

pub fn gc(args: GcArgs) -> anyhow::Result<()> {
    if !args.dry_run {
        // Said plainly rather than half done: removing while pushes go on needs the
        // tombstone protocol, which lands with online collection.
        anyhow::bail!(
            "this berth only plans garbage collection: run `berth gc --dry-run` to see what it would remove"
        );
    }
    let plan = args.storage.with_content(async |config, content| {
        Ok(gc::plan(content, config.restore_window, jiff::Timestamp::now()).await?)
    })?;
    for (digest, len) in &plan.blobs {
        println!("would remove blob {digest} ({len} bytes)");
    }
    for (repo, digest) in &plan.links {
        println!("would remove link {repo} -> {digest}");
    }
    for key in &plan.expired_versions {
        println!("would remove deleted version {key} (past its restore window)");
    }
    println!(
        "would remove {} blobs ({} bytes), {} links, {} deleted versions; keeps {} blobs ({} bytes)",
        plan.blobs.len(),
        plan.reclaimed_bytes(),
        plan.links.len(),
        plan.expired_versions.len(),
        plan.kept_blobs,
        plan.kept_bytes
    );
    println!(
        "(blobs of pushes still in progress count as unreferenced until their manifest comes)"
    );
    Ok(())
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
