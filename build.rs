//! Embeds the git revision the binary is built from, for `berth --version`. An image
//! build without `.git` passes it as `BERTH_GIT_REVISION`; otherwise "unknown".

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=BERTH_GIT_REVISION");
    // A commit or a checkout moves HEAD's log.
    for path in [".git/HEAD", ".git/logs/HEAD"] {
        if std::path::Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let revision = std::env::var("BERTH_GIT_REVISION").ok().or_else(|| {
        let out = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    });
    println!(
        "cargo:rustc-env=BERTH_GIT_REVISION={}",
        revision.unwrap_or_else(|| "unknown".into())
    );
}
