//! The maintenance commands on storage that real clients pushed to: `berth fsck` clean,
//! and (on the filesystem, where a test can reach under the registry) a lost blob named
//! with a non-zero exit; `berth gc --dry-run` naming a stray blob and removing nothing
//! (the collection itself is `gc.rs`).

use std::time::Duration;

use crate::common::{Backend, Berth, sha256};
use crate::{push_image, push_index};

crate::on_every_backend!(
    fsck_finds_what_podman_pushed_whole,
    gc_dry_run_names_a_stray_blob_and_removes_nothing
);

fn gc_dry_run_names_a_stray_blob_and_removes_nothing(backend: Backend) {
    let berth = Berth::on(backend);
    push_image(&berth, "acme/app", "v1", "kept by gc\n");
    let stray = b"uploaded, never used by a manifest";
    let digest = sha256(stray);
    let client = reqwest::blocking::Client::builder()
        .default_headers(berth.admin_headers())
        .build()
        .unwrap();
    let url = berth.url(&format!("/v2/acme/app/blobs/uploads/?digest={digest}"));
    let r = client.post(url).body(stray.to_vec()).send().unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().unwrap());

    // With no grace period it is a candidate once its second is over (S3 times are
    // to the second).
    let line = format!("would remove blob {digest} ({} bytes)", stray.len());
    let mut stdout = String::new();
    crate::common::wait_until(
        "the stray blob to be planned",
        Duration::from_secs(30),
        || {
            let out = berth.gc(&["--dry-run", "--grace", "0s"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            stdout.contains(&line)
        },
    );
    assert!(
        stdout.contains(&format!("would remove link acme/app -> {digest}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("would remove 1 blobs"),
        "only the stray one: {stdout}"
    );
    let head = client
        .head(berth.url(&format!("/v2/acme/app/blobs/{digest}")))
        .send()
        .unwrap();
    assert_eq!(head.status(), 200, "a dry run removes nothing");

    let young = String::from_utf8_lossy(&berth.gc(&["--dry-run"]).stdout).into_owned();
    assert!(
        young.contains("would remove 0 blobs")
            && young.contains("1 unreferenced but inside the grace period"),
        "the default grace period (1h) spares it: {young}"
    );
}

fn fsck_finds_what_podman_pushed_whole(backend: Backend) {
    let berth = Berth::on(backend);
    let (_podman, digest) = push_image(&berth, "acme/app", "v1", "checked by fsck\n");
    push_index(&berth, "acme/app", "multi");

    let out = berth.fsck(&["--full"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The image, and the index with its two platforms' images.
    assert!(
        stdout.contains("checked 1 repositories: 2 tags, 4 manifests"),
        "{stdout}"
    );
    assert!(stdout.contains("no problems"), "{stdout}");

    if backend == Backend::Filesystem {
        let manifest = std::fs::read(blob_file(&berth, &digest)).unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
        std::fs::remove_file(blob_file(&berth, &layer)).unwrap();
        let out = berth.fsck(&[]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "a lost layer fails fsck: {stdout}");
        assert!(
            stdout.contains(&format!(
                "problem: acme/app@{digest}: needs blob {layer}, which is not stored"
            )),
            "{stdout}"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("2 problems found"),
            "and its link dangles"
        );
    }
}

fn blob_file(berth: &Berth, digest: &str) -> std::path::PathBuf {
    let hex = digest.strip_prefix("sha256:").unwrap();
    berth
        .data_dir
        .join("blobs/sha256")
        .join(&hex[..2])
        .join(hex)
}
