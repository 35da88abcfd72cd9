//! skopeo: copy (registry to registry, through an OCI layout), inspect, list-tags, delete.

use std::process::Command;

use crate::common::{Backend, Berth, run, run_stdout, tool};

/// skopeo with the admin's credentials.
fn skopeo(berth: &Berth) -> Command {
    let mut c = Command::new(tool("skopeo"));
    let config = berth.docker_config("admin", berth.token());
    c.env("REGISTRY_AUTH_FILE", config.join("config.json"));
    c
}

fn copy_inspect_list_and_delete(backend: Backend) {
    let berth = Berth::on(backend);
    let h = berth.host();
    let (_podman, digest) = crate::push_image(&berth, "acme/src", "v1", "for skopeo\n");

    run(skopeo(&berth)
        .args(["copy", "--src-tls-verify=false", "--dest-tls-verify=false"])
        .arg(format!("docker://{h}/acme/src:v1"))
        .arg(format!("docker://{h}/acme/dst:v1")));
    let inspect: serde_json::Value = serde_json::from_str(&run_stdout(
        skopeo(&berth)
            .args(["inspect", "--tls-verify=false"])
            .arg(format!("docker://{h}/acme/dst:v1")),
    ))
    .unwrap();
    assert_eq!(inspect["Digest"], digest.as_str());
    assert_eq!(
        inspect["Labels"]["org.opencontainers.image.source"],
        "https://git.example.com/acme/app"
    );

    // Out to an OCI layout and back in under another name.
    let layout = tempfile::tempdir().unwrap();
    let oci = format!("oci:{}:v1", layout.path().display());
    run(skopeo(&berth)
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{h}/acme/src:v1"))
        .arg(&oci));
    run(skopeo(&berth)
        .args(["copy", "--dest-tls-verify=false", &oci])
        .arg(format!("docker://{h}/acme/from-layout:v2")));
    let tags: serde_json::Value = serde_json::from_str(&run_stdout(
        skopeo(&berth)
            .args(["list-tags", "--tls-verify=false"])
            .arg(format!("docker://{h}/acme/from-layout")),
    ))
    .unwrap();
    assert_eq!(tags["Tags"], serde_json::json!(["v2"]));

    run(skopeo(&berth)
        .args(["delete", "--tls-verify=false"])
        .arg(format!("docker://{h}/acme/dst:v1")));
    let gone = skopeo(&berth)
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{h}/acme/dst:v1"))
        .output()
        .unwrap();
    assert!(!gone.status.success(), "the deleted image still inspects");
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains("manifest unknown"),
        "{}",
        String::from_utf8_lossy(&gone.stderr)
    );
    // The source repository is untouched.
    run(skopeo(&berth)
        .args(["inspect", "--tls-verify=false"])
        .arg(format!("docker://{h}/acme/src:v1")));
}

crate::on_every_backend!(copy_inspect_list_and_delete);
