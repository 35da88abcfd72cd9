//! crane: multi-platform copy, blobs, cross-repository mounts, tags, validation.

use std::process::Command;

use crate::common::{Backend, Berth, run, run_stdout, sha256, tool};

/// crane with the admin's credentials.
fn crane(berth: &Berth) -> Command {
    let mut c = Command::new(tool("crane"));
    c.arg("--insecure")
        .env("DOCKER_CONFIG", berth.docker_config("admin", berth.token()));
    c
}

fn copies_a_multi_platform_index_by_mounting_blobs(backend: Backend) {
    let berth = Berth::on(backend);
    let h = berth.host();
    let digest = crate::push_index(&berth, "acme/multi", "v1");
    let mounts = |b: &Berth| {
        b.counter(
            "berth_http_requests_total",
            r#"route="upload",method="POST",status="201""#,
        )
    };
    let patches = |b: &Berth| {
        b.counter(
            "berth_http_requests_total",
            r#"route="upload",method="PATCH",status="202""#,
        )
    };
    let (mounts_before, patches_before) = (mounts(&berth), patches(&berth));

    run(crane(&berth).args([
        "copy",
        &format!("{h}/acme/multi:v1"),
        &format!("{h}/acme/mirror:v1"),
    ]));

    let copied = run_stdout(crane(&berth).args(["digest", &format!("{h}/acme/mirror:v1")]));
    assert_eq!(copied.trim(), digest);
    // Each platform has a config and a layer: all four arrive by mount, none by upload.
    assert_eq!(mounts(&berth) - mounts_before, 4.0);
    assert_eq!(patches(&berth), patches_before);
    run(crane(&berth).args(["validate", "--remote", &format!("{h}/acme/mirror:v1")]));
}

fn reads_blobs_lists_tags_and_deletes(backend: Backend) {
    let berth = Berth::on(backend);
    let h = berth.host();
    let (_podman, digest) = crate::push_image(&berth, "acme/app", "v1", "for crane\n");
    let image = format!("{h}/acme/app@{digest}");

    let manifest: serde_json::Value =
        serde_json::from_str(&run_stdout(crane(&berth).args(["manifest", &image]))).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    let blob = run(crane(&berth).args(["blob", &format!("{h}/acme/app@{layer}")])).stdout;
    assert_eq!(sha256(&blob), layer);

    run(crane(&berth).args(["tag", &image, "v2"]));
    let tags = run_stdout(crane(&berth).args(["ls", &format!("{h}/acme/app")]));
    assert_eq!(tags.lines().collect::<Vec<_>>(), ["v1", "v2"]);

    run(crane(&berth).args(["delete", &image]));
    let gone = crane(&berth)
        .args(["manifest", &format!("{h}/acme/app:v1")])
        .output()
        .unwrap();
    assert!(!gone.status.success());
    assert!(String::from_utf8_lossy(&gone.stderr).contains("MANIFEST_UNKNOWN"));
}

crate::on_every_backend!(
    copies_a_multi_platform_index_by_mounting_blobs,
    reads_blobs_lists_tags_and_deletes
);
