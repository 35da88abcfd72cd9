//! Temporary directories that are removed even when their owner is never dropped.
//!
//! The shared control plane lives in a `static` and is never dropped, so its directory
//! (etcd's data, certificates, logs) would outlive every test run. Each directory therefore
//! records its owner's process id, and creating a new one first removes those whose owner
//! has died.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use tempfile::TempDir;

/// The file inside each directory that holds the owning process id.
const OWNER_FILE: &str = "owner.pid";

/// A temporary directory under `$TMPDIR/berth-e2e/`, removed on drop or, failing that, by
/// the next harness run after its process has died.
#[derive(Debug)]
pub struct WorkDir {
    dir: TempDir,
}

impl WorkDir {
    /// Creates `$TMPDIR/berth-e2e/PREFIX-XXXXXX`, first removing directories left behind by
    /// dead processes.
    pub fn new(prefix: &str) -> Result<Self> {
        let parent = std::env::temp_dir().join("berth-e2e");
        std::fs::create_dir_all(&parent).with_context(|| format!("create {parent:?}"))?;
        remove_orphans(&parent);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{prefix}-"))
            .tempdir_in(&parent)
            .with_context(|| format!("create a directory in {parent:?}"))?;
        std::fs::write(dir.path().join(OWNER_FILE), std::process::id().to_string())?;
        Ok(Self { dir })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `path()/name`, created as a directory.
    pub fn subdir(&self, name: &str) -> Result<PathBuf> {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).with_context(|| format!("create {path:?}"))?;
        Ok(path)
    }
}

/// Removes the directories under `parent` whose owning process no longer runs. Best effort:
/// another run may be removing the same directory at the same time.
fn remove_orphans(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(owner) = std::fs::read_to_string(path.join(OWNER_FILE)) else {
            continue;
        };
        let alive = Path::new("/proc").join(owner.trim()).exists();
        if !alive {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
