//! Driving garbage collection from tests: `berth gc` as its own process, paused at its
//! steps (`--pause-at`), and the plain OCI requests the races are made of.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::{Berth, minio, sha256, wait_until};

/// The grace period of these runs: blobs are candidates a second after their upload.
pub const GRACE: &str = "1s";

/// A running `berth gc` with its standard input and output piped.
pub struct Gc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Gc {
    pub fn wait_paused(&mut self, step: &str) {
        let want = format!("paused at {step}");
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("gc did not reach {step}: {:?}", self.seen));
            self.seen.push(line.clone());
            if line == want {
                return;
            }
        }
    }

    pub fn resume(&mut self) {
        let stdin = self.stdin.as_mut().expect("gc's stdin");
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `berth gc --grace 1s ARGS` on `berth`'s storage.
pub fn berth_gc(berth: &Berth, args: &[&str]) -> Gc {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_berth"));
    cmd.args(["gc", "--grace", GRACE])
        .args(args)
        .arg("--data-dir")
        .arg(&berth.data_dir);
    if let Some(file) = &berth.config_file {
        cmd.arg("--config").arg(file);
    }
    let mut child = cmd
        .env("AWS_ACCESS_KEY_ID", minio::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", minio::SECRET_KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("running berth gc");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("[gc] {line}");
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let stdin = child.stdin.take();
    Gc {
        child,
        stdin,
        lines,
        seen: Vec::new(),
    }
}

/// Waits for `gc` to end successfully; returns what it printed.
pub fn finish(mut gc: Gc) -> String {
    drop(gc.stdin.take());
    let status = gc.child.wait().unwrap();
    let mut out = gc.seen.join("\n");
    while let Ok(line) = gc.lines.recv_timeout(Duration::from_secs(5)) {
        out.push('\n');
        out.push_str(&line);
    }
    assert!(status.success(), "berth gc failed: {out}");
    out
}

/// Runs collections with a takeover time of 1 s until they have taken over and finished
/// at least `removals` removals won by a run that died.
pub fn finish_taken_over(berth: &Berth, removals: usize) {
    let mut taken = 0;
    wait_until(
        "a collection to finish the dead run's work",
        Duration::from_secs(60),
        || {
            let out = finish(berth_gc(berth, &["--takeover", "1s"]));
            // The report's last part: "N taken over".
            taken += out
                .rsplit(", ")
                .next()
                .and_then(|t| t.split(' ').next()?.parse::<usize>().ok())
                .unwrap_or(0);
            taken >= removals
        },
    );
}

pub fn dry_run(berth: &Berth, grace: &str) -> String {
    let out: Output = berth.gc(&["--dry-run", "--grace", grace]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Waits until a collection would remove `digest` (it is older than the grace period).
pub fn wait_candidate(berth: &Berth, digest: &str) {
    let line = format!("would remove blob {digest}");
    wait_until(
        "the blob to be past the grace period",
        Duration::from_secs(30),
        || dry_run(berth, GRACE).contains(&line),
    );
}

pub fn fsck_clean(berth: &Berth) {
    let out = berth.fsck(&["--full"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("no problems"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Uploads `bytes` as one blob into `repo` (POST with the digest); returns its digest.
pub fn upload(berth: &Berth, repo: &str, bytes: &'static [u8]) -> String {
    upload_to(&berth.url(""), berth.token(), repo, bytes)
}

pub fn upload_to(base: &str, token: &str, repo: &str, bytes: &'static [u8]) -> String {
    let digest = sha256(bytes);
    let r = reqwest::blocking::Client::new()
        .post(format!("{base}/v2/{repo}/blobs/uploads/?digest={digest}"))
        .basic_auth("admin", Some(token))
        .body(bytes)
        .timeout(Duration::from_secs(60))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());
    digest
}

pub fn head(berth: &Berth, repo: &str, digest: &str) -> u16 {
    berth
        .admin_blocking_client()
        .head(berth.url(&format!("/v2/{repo}/blobs/{digest}")))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// Pushes an image manifest with `layer` and a fresh config (`seed` in it) as
/// `repo:tag`; its digest, or the error body.
pub fn put_image(
    berth: &Berth,
    repo: &str,
    tag: &str,
    (layer, layer_size): (&str, usize),
    seed: &str,
) -> Result<String, String> {
    let config: &'static [u8] = Box::leak(
        format!("{{\"seed\":\"{seed}\"}}")
            .into_bytes()
            .into_boxed_slice(),
    );
    let config_digest = upload(berth, repo, config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer, "size": layer_size}],
    });
    put_manifest(berth, repo, tag, &manifest)
}

/// PUTs `manifest` (its `mediaType` is the request's type) as `repo:reference`; its
/// digest, or the error body.
pub fn put_manifest(
    berth: &Berth,
    repo: &str,
    reference: &str,
    manifest: &serde_json::Value,
) -> Result<String, String> {
    let r = berth
        .admin_blocking_client()
        .put(berth.url(&format!("/v2/{repo}/manifests/{reference}")))
        .header(
            "content-type",
            manifest["mediaType"]
                .as_str()
                .unwrap_or("application/vnd.oci.image.manifest.v1+json"),
        )
        .body(manifest.to_string())
        .send()
        .unwrap();
    let status = r.status();
    let digest = r
        .headers()
        .get("docker-content-digest")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = r.text().unwrap();
    match (status.as_u16(), digest) {
        (201, Some(d)) => Ok(d),
        _ => Err(format!("{status}: {body}")),
    }
}

/// The REST API's address of the admin's container package `package` (then `path`).
fn package_api(berth: &Berth, package: &str, path: &str) -> String {
    berth.url(&format!("/api/v3/user/packages/container/{package}{path}"))
}

/// The id of the admin's version `digest` of `package`, as the REST API lists it.
pub fn version_id(berth: &Berth, package: &str, digest: &str) -> u64 {
    let versions: serde_json::Value = berth
        .admin_blocking_client()
        .get(package_api(berth, package, "/versions"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    versions
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == digest)
        .unwrap_or_else(|| panic!("version {digest} of {package} in {versions}"))["id"]
        .as_u64()
        .unwrap()
}

/// Deletes version `id` of the admin's `package` through the REST API (a soft delete).
pub fn delete_version(berth: &Berth, package: &str, id: u64) {
    let r = berth
        .admin_blocking_client()
        .delete(package_api(berth, package, &format!("/versions/{id}")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204, "{}", r.text().unwrap());
}

/// Restores version `id` of the admin's `package`; the REST API's status.
pub fn restore_version(berth: &Berth, package: &str, id: u64) -> u16 {
    berth
        .admin_blocking_client()
        .post(package_api(
            berth,
            package,
            &format!("/versions/{id}/restore"),
        ))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

/// Every blob of manifest `digest` in `repo` reads back whole, with its digest.
pub fn pulls(berth: &Berth, repo: &str, digest: &str) {
    let client = berth.admin_blocking_client();
    let r = client
        .get(berth.url(&format!("/v2/{repo}/manifests/{digest}")))
        .header(
            "accept",
            "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json",
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "manifest {digest}");
    let manifest: serde_json::Value = r.json().unwrap();
    let blobs = std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().unwrap());
    for blob in blobs {
        let d = blob["digest"].as_str().unwrap();
        let bytes = client
            .get(berth.url(&format!("/v2/{repo}/blobs/{d}")))
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        assert_eq!(sha256(&bytes), d, "blob {d} of {repo}@{digest} pulls whole");
    }
}
