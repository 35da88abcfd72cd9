//! A standalone registry whose organization `acme` has one webhook, and what its outbox
//! holds.

use std::net::SocketAddr;
use std::path::Path;

use serde_json::Value;

use crate::common::{Berth, minio};

pub const SECRET: &str = "a secret shared with the receiver";

/// Writes `acme`'s Organization with webhooks to `urls` (the secret in a file beside it)
/// and a Registry config allowing private targets when `allow_private`; returns the
/// arguments for `registry serve`.
pub fn prepare(dir: &Path, urls: &[String], allow_private: bool) -> Vec<String> {
    prepare_with_events(dir, urls, allow_private, "")
}

/// [`prepare`] with the hooks' `events` (flow YAML, e.g. `[berth_package_version]`; empty:
/// the default).
pub fn prepare_with_events(
    dir: &Path,
    urls: &[String],
    allow_private: bool,
    events: &str,
) -> Vec<String> {
    let policy = dir.join("policy");
    std::fs::create_dir_all(&policy).unwrap();
    std::fs::write(policy.join("hook-secret"), format!("{SECRET}\n")).unwrap();
    let hooks: String = urls
        .iter()
        .map(|u| {
            let events = if events.is_empty() {
                String::new()
            } else {
                format!("      events: {events}\n")
            };
            format!("    - url: {u}\n      secretFile: hook-secret\n{events}")
        })
        .collect();
    std::fs::write(
        policy.join("acme.yaml"),
        format!(
            "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {{name: acme}}\n\
             spec:\n  owners: [admin]\n  webhooks:\n{hooks}"
        ),
    )
    .unwrap();
    let config = dir.join("registry.yaml");
    std::fs::write(
        &config,
        format!(
            "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {{name: test}}\n\
             spec:\n  webhooks: {{allowPrivateTargets: {allow_private}}}\n"
        ),
    )
    .unwrap();
    vec!["--config".into(), config.display().to_string()]
}

/// A registry on `dir` prepared by [`prepare`] for a receiver at `receiver`.
pub fn registry(dir: &Path, receiver: SocketAddr) -> Berth {
    let args = prepare(dir, &[format!("http://{receiver}/hook")], true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Berth::start_in(dir, &args)
}

/// The deliveries waiting in `data_dir`'s outbox.
pub fn pending(data_dir: &Path) -> Vec<Value> {
    let dir = data_dir.join("_berth/webhooks/pending");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    names.sort();
    names
        .iter()
        .filter_map(|p| serde_json::from_slice(&std::fs::read(p).ok()?).ok())
        .collect()
}

/// `berth webhook ARGS` on `berth`'s storage: its `--config` (S3, with the test MinIO's
/// credentials) or its data directory.
pub fn webhook_cmd(berth: &Berth, args: &[&str]) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.arg("webhook").args(args);
    match &berth.config_file {
        Some(file) => cmd.arg("--config").arg(file),
        None => cmd.arg("--data-dir").arg(&berth.data_dir),
    };
    cmd.env("AWS_ACCESS_KEY_ID", minio::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", minio::SECRET_KEY)
        .output()
        .expect("running berth webhook")
}

/// How many deliveries `berth webhook deliveries` lists as waiting.
pub fn waiting(berth: &Berth) -> usize {
    let out = webhook_cmd(berth, &["deliveries"]);
    assert!(out.status.success(), "berth webhook deliveries: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" waiting "))
        .count()
}

/// Deletes, then restores, the version with `digest` among `versions` (a REST API
/// versions URL), as the bootstrap admin; returns its id.
pub fn delete_and_restore(berth: &Berth, versions: &str, digest: &str) -> u64 {
    let api = berth.admin_blocking_client();
    let listed: Vec<Value> = api.get(berth.url(versions)).send().unwrap().json().unwrap();
    let id = listed
        .iter()
        .find(|v| v["name"] == digest)
        .unwrap_or_else(|| panic!("a version {digest}: {listed:?}"))["id"]
        .as_u64()
        .unwrap();
    let one = format!("{versions}/{id}");
    assert_eq!(api.delete(berth.url(&one)).send().unwrap().status(), 204);
    let restore = format!("{one}/restore");
    assert_eq!(api.post(berth.url(&restore)).send().unwrap().status(), 204);
    id
}
