//! S3 over TLS with a private CA: MinIO serving a certificate from a CA made here.
//! With `caBundle` the registry trusts it (verification stays on) and real clients push
//! and pull through it; without, readiness names the certificate; a bundle that holds no
//! certificate stops `registry serve` naming the field.

use crate::PROMPTLY;
use crate::common::minio::{Minio, bucket_name};
use crate::common::podman::Podman;
use crate::common::{Berth, serve_refused, wait_until};

fn storage(minio: &Minio, ca_bundle: Option<&std::path::Path>) -> String {
    let extra = ca_bundle
        .map(|p| format!("caBundle: '{}'", p.display()))
        .unwrap_or_default();
    Berth::config(&minio.storage_yaml(&bucket_name(), &extra))
}

#[test]
fn a_private_ca_is_trusted_with_ca_bundle_and_refused_without() {
    let minio = Minio::start_tls();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, minio.ca_pem()).unwrap();

    let berth = Berth::start_ready(&storage(&minio, Some(&ca)));
    let pusher = Podman::admin(&berth);
    let image = format!("{}/acme/app:v1", berth.host());
    let digest = pusher.publish(&image, "stored over TLS\n", &[]);
    let puller = Podman::admin(&berth);
    puller.pull(&image, &[]);
    assert_eq!(puller.inspect(&image, "{{.Digest}}"), digest);

    // The same server without the bundle: its certificate is not trusted, and readiness
    // says so rather than anything being written.
    let untrusting = Berth::start_config(&storage(&minio, None), &[]);
    let readyz = || {
        let r = reqwest::blocking::get(untrusting.url("/readyz")).unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    wait_until("readiness to fail", PROMPTLY, || readyz().0 == 503);
    let body = readyz().1.to_lowercase();
    assert!(
        body.contains("certificate"),
        "readiness names the certificate: {body}"
    );
}

#[test]
fn a_ca_bundle_without_a_certificate_stops_the_registry_naming_it() {
    let minio = Minio::shared();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, "not a certificate\n").unwrap();
    let config = dir.path().join("registry.yaml");
    std::fs::write(&config, storage(minio, Some(&bundle))).unwrap();
    let out = serve_refused(dir.path(), &["--config".as_ref(), config.as_os_str()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("spec.storage.s3.caBundle") && stderr.contains("no PEM certificate"),
        "{stderr}"
    );
}
