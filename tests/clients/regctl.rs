//! regctl: copy, inspect, files, and `image check-base` following a base image's tag.

use std::process::Command;

use crate::common::podman::Podman;
use crate::common::{Backend, Berth, run, run_stdout, tool};

fn regctl(berth: &Berth, config_dir: &std::path::Path) -> Command {
    let mut c = Command::new(tool("regctl"));
    c.env("HOME", config_dir).arg("--host").arg(format!(
        "reg={},tls=disabled,user=admin,pass={}",
        berth.host(),
        berth.token()
    ));
    c
}

fn copy_inspect_get_file_and_check_base(backend: Backend) {
    let berth = Berth::on(backend);
    let h = berth.host();
    let home = tempfile::tempdir().unwrap();
    let (podman, _) = crate::push_image(&berth, "acme/base", "v1", "the base\n");

    // A child image built on the pushed base, pulled back from the registry.
    let ctx = podman.path().join("child");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("extra.txt"), "child layer\n").unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        format!("FROM {h}/acme/base:v1\nCOPY extra.txt /extra.txt\n"),
    )
    .unwrap();
    let child = format!("{h}/acme/child:v1");
    run(podman
        .cmd()
        .args(["build", "--tls-verify=false", "--pull=always", "-t", &child])
        .arg(&ctx));
    podman.push(&child, &[]);

    run(regctl(&berth, home.path()).args(["image", "copy", &child, &format!("{h}/acme/copy:v1")]));
    let digest = |r: &str| run_stdout(regctl(&berth, home.path()).args(["image", "digest", r]));
    assert_eq!(digest(&child), digest(&format!("{h}/acme/copy:v1")));
    let file = run_stdout(regctl(&berth, home.path()).args([
        "image",
        "get-file",
        &format!("{h}/acme/copy:v1"),
        "extra.txt",
    ]));
    assert_eq!(file, "child layer\n");

    let check = |podman_base: &str| {
        regctl(&berth, home.path())
            .args(["image", "check-base", &child, "--base", podman_base])
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(
        check(&format!("{h}/acme/base:v1")),
        "the child is on the current base"
    );

    // Retag the base to new content: the child's base has now changed.
    let newer = Podman::admin(&berth);
    let base = format!("{h}/acme/base:v1");
    newer.build(&base, "linux/amd64", "a newer base\n", &[]);
    newer.push(&base, &[]);
    assert!(!check(&base), "check-base did not notice the base moved");
}

crate::on_every_backend!(copy_inspect_get_file_and_check_base);
