//! Where the harness finds its external tools.
//!
//! etcd, kube-apiserver, kubectl and helm are built at pinned versions into `.tools/bin`
//! by `scripts/tools.sh cluster` (or into `$BERTH_TOOLS_DIR/bin`). A missing tool is an
//! error that names that command, so a test fails with the fix instead of skipping.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// The command that installs every tool the harness needs, run from the workspace root.
pub const INSTALL_COMMAND: &str = "scripts/tools.sh cluster";

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate lives inside the workspace")
}

/// The directory that `scripts/tools.sh` installs into.
fn tools_bin() -> PathBuf {
    match std::env::var_os("BERTH_TOOLS_DIR") {
        Some(dir) => PathBuf::from(dir).join("bin"),
        None => workspace_root().join(".tools/bin"),
    }
}

/// A pinned tool from `.tools/bin`, or an error naming the install command.
fn built(name: &str) -> Result<PathBuf> {
    let path = tools_bin().join(name);
    if !path.is_file() {
        bail!(
            "{name} is missing from {}: run `{INSTALL_COMMAND}` from the workspace root",
            tools_bin().display()
        );
    }
    Ok(path)
}

/// etcd 3.5.
pub fn etcd() -> Result<PathBuf> {
    built("etcd")
}

/// kube-apiserver.
pub fn kube_apiserver() -> Result<PathBuf> {
    built("kube-apiserver")
}

/// kubectl, built from the same Kubernetes version as kube-apiserver.
pub fn kubectl() -> Result<PathBuf> {
    built("kubectl")
}

/// helm v3.
pub fn helm() -> Result<PathBuf> {
    built("helm")
}

/// util-linux's setpriv, from the system.
pub fn setpriv() -> Result<PathBuf> {
    for dir in ["/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
        let path = Path::new(dir).join("setpriv");
        if path.is_file() {
            return Ok(path);
        }
    }
    bail!("setpriv (util-linux) is missing: run `{INSTALL_COMMAND}` from the workspace root")
}
