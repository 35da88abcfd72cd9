//! `berth fsck`: checks that storage holds everything the registry serves or can
//! restore, and prints what is missing or wrong. Exits non-zero on a problem.

use std::path::PathBuf;

use anyhow::Context as _;
use berth_registry::maintenance::fsck;
use clap::Args;

#[derive(Args)]
pub struct FsckArgs {
    /// The Registry resource (YAML) whose storage to check, as `registry serve --config`.
    #[arg(long, env = "BERTH_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory (filesystem storage), as `registry serve --data-dir`.
    #[arg(long, env = "BERTH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Read back and hash every blob (default: sizes of all, digests of one in 16).
    #[arg(long)]
    full: bool,
}

pub fn run(args: FsckArgs) -> anyhow::Result<()> {
    let config = super::registry::storage_config(args.config.as_deref(), args.data_dir.as_deref())?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let content = berth_registry::start::content_of(&config)?;
        content.check().await.context("storage is not usable")?;
        anyhow::Ok(fsck::check(&content, args.full).await?)
    })?;
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
