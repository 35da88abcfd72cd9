//! `berth fsck` on storage that real clients pushed to: clean, and (on the filesystem,
//! where a test can reach under the registry) a lost blob named with a non-zero exit.

use crate::common::{Backend, Berth};
use crate::{push_image, push_index};

crate::on_every_backend!(fsck_finds_what_podman_pushed_whole);

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
