//! oras: artifacts, `attach` (a manifest with a subject) and `discover` (referrers).

use std::process::Command;

use crate::common::{Backend, Berth, run, run_stdout, tool};

/// oras in `dir`, with the admin's credentials.
fn oras(berth: &Berth, dir: &std::path::Path) -> Command {
    let mut c = Command::new(tool("oras"));
    c.current_dir(dir)
        .env("DOCKER_CONFIG", berth.docker_config("admin", berth.token()));
    c
}

fn push_attach_discover_and_pull_artifacts(backend: Backend) {
    let berth = Berth::on(backend);
    let h = berth.host();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("sbom.json"), r#"{"packages":[]}"#).unwrap();
    std::fs::write(d.join("sig.txt"), "signed").unwrap();
    let subject = format!("{h}/acme/art:v1");

    run(oras(&berth, d).args([
        "push",
        "--plain-http",
        "--artifact-type",
        "application/vnd.example.thing",
        &subject,
        "sbom.json:application/json",
    ]));
    for (kind, file) in [
        ("sig", "sig.txt:text/plain"),
        ("sbom", "sbom.json:application/json"),
    ] {
        run(oras(&berth, d).args([
            "attach",
            "--plain-http",
            "--artifact-type",
            &format!("application/vnd.example.{kind}"),
            &subject,
            file,
        ]));
    }

    let all: serde_json::Value = serde_json::from_str(&run_stdout(oras(&berth, d).args([
        "discover",
        "--plain-http",
        "--format",
        "json",
        &subject,
    ])))
    .unwrap();
    let mut types: Vec<_> = all["referrers"]
        .as_array()
        .expect("referrers")
        .iter()
        .map(|r| r["artifactType"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "application/vnd.example.sbom",
            "application/vnd.example.sig"
        ]
    );

    let sigs: serde_json::Value = serde_json::from_str(&run_stdout(oras(&berth, d).args([
        "discover",
        "--plain-http",
        "--format",
        "json",
        "--artifact-type",
        "application/vnd.example.sig",
        &subject,
    ])))
    .unwrap();
    assert_eq!(sigs["referrers"].as_array().unwrap().len(), 1);

    let out = tempfile::tempdir().unwrap();
    run(oras(&berth, d)
        .args(["pull", "--plain-http", "-o"])
        .arg(out.path())
        .arg(&subject));
    assert_eq!(
        std::fs::read_to_string(out.path().join("sbom.json")).unwrap(),
        r#"{"packages":[]}"#
    );
}

crate::on_every_backend!(push_attach_discover_and_pull_artifacts);
