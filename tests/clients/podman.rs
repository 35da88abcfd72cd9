//! podman: build, push, pull by tag and digest, Docker schema 2, manifest lists.

use crate::common::podman::Podman;
use crate::common::{Backend, Berth, run_stdout, tool};

const SOURCE: &str = "https://git.example.com/acme/app";

fn build_push_remove_pull_by_tag_and_by_digest(backend: Backend) {
    let berth = Berth::on(backend);
    let podman = Podman::admin(&berth);
    let image = format!("{}/acme/app:v1", berth.host());
    podman.build(
        &image,
        "linux/amd64",
        "hello from podman\n",
        &[
            ("org.opencontainers.image.source", SOURCE),
            ("org.opencontainers.image.description", "a test image"),
        ],
    );
    let digest = podman.push(&image, &[]);
    assert!(digest.starts_with("sha256:"), "{digest}");

    podman.rmi_all();
    podman.pull(&image, &[]);
    assert_eq!(
        podman.inspect(
            &image,
            "{{index .Labels \"org.opencontainers.image.source\"}}"
        ),
        SOURCE
    );
    let by_digest = format!("{}/acme/app@{digest}", berth.host());
    podman.rmi_all();
    podman.pull(&by_digest, &[]);
    assert_eq!(podman.inspect(&by_digest, "{{.Digest}}"), digest);
}

fn docker_schema2_push_is_served_as_docker_schema2(backend: Backend) {
    let berth = Berth::on(backend);
    let podman = Podman::admin(&berth);
    let image = format!("{}/acme/docker-format:v1", berth.host());
    podman.build(&image, "linux/amd64", "schema 2\n", &[]);
    let digest = podman.push(&image, &["--format", "v2s2"]);
    let raw = run_stdout(
        std::process::Command::new(tool("skopeo"))
            .args([
                "inspect",
                "--raw",
                "--tls-verify=false",
                "--creds",
                &format!("admin:{}", berth.token()),
            ])
            .arg(format!("docker://{image}")),
    );
    let manifest: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        manifest["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(crate::common::sha256(raw.as_bytes()), digest);
}

fn manifest_list_with_two_platforms_pushes_and_pulls_each_platform(backend: Backend) {
    let berth = Berth::on(backend);
    let list = format!("{}/acme/multi:v1", berth.host());
    let digest = crate::push_index(&berth, "acme/multi", "v1");
    let raw = run_stdout(
        std::process::Command::new(tool("skopeo"))
            .args([
                "inspect",
                "--raw",
                "--tls-verify=false",
                "--creds",
                &format!("admin:{}", berth.token()),
            ])
            .arg(format!("docker://{list}")),
    );
    assert_eq!(crate::common::sha256(raw.as_bytes()), digest);
    let index: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let mut arches: Vec<_> = index["manifests"]
        .as_array()
        .expect("an index")
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_owned())
        .collect();
    arches.sort();
    assert_eq!(arches, ["amd64", "arm64"]);

    let podman = Podman::admin(&berth);
    for arch in ["arm64", "amd64"] {
        podman.pull(&list, &["--platform", &format!("linux/{arch}")]);
        assert_eq!(podman.inspect(&list, "{{.Architecture}}"), arch);
        podman.rmi_all();
    }
}

crate::on_every_backend!(
    build_push_remove_pull_by_tag_and_by_digest,
    docker_schema2_push_is_served_as_docker_schema2,
    manifest_list_with_two_platforms_pushes_and_pulls_each_platform
);
