//! TLS in `registry serve --tls-cert --tls-key`: podman signs in, pushes and pulls to a
//! name (localhost) with the test CA trusted and verification on; the token realm says
//! https; a new certificate written over the files is served within seconds, without a
//! restart; HTTP/2 by ALPN; plain HTTP to the TLS port gets no answer but a closed connection; a bad pair
//! stops the registry naming both files.

use std::path::Path;
use std::time::Duration;

use berth_e2e::certs::Certs;

use crate::common::podman::Podman;
use crate::common::{Berth, run, serve_refused, wait_until};

/// Writes a fresh CA's serving certificate (localhost, 127.0.0.1) into `dir`; returns
/// the CA's PEM.
fn write_pair(dir: &Path) -> String {
    let certs = Certs::generate().expect("test certificates");
    // Written beside and renamed over, as cert-manager and certbot replace them.
    for (name, pem) in [
        ("tls.crt", &certs.serving_cert_pem),
        ("tls.key", &certs.serving_key_pem),
    ] {
        std::fs::write(dir.join(format!("{name}.new")), pem).unwrap();
        std::fs::rename(dir.join(format!("{name}.new")), dir.join(name)).unwrap();
    }
    certs.ca_pem
}

/// A client trusting only `ca`.
fn client(ca: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
        .build()
        .unwrap()
}

#[test]
fn podman_over_tls_with_the_ca_trusted_and_a_certificate_rotated_live() {
    let tls = tempfile::tempdir().unwrap();
    let ca = write_pair(tls.path());
    let (cert, key) = (tls.path().join("tls.crt"), tls.path().join("tls.key"));
    let berth = Berth::start_with(
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        |_| {},
    );
    let host = format!("localhost:{}", berth.addr.port());
    let https = |path: &str| format!("https://{host}{path}");
    wait_until("the TLS listener", Duration::from_secs(10), || {
        client(&ca).get(https("/readyz")).send().is_ok()
    });
    let r = client(&ca).get(https("/v2/")).send().unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(
        challenge.contains(&format!("realm=\"https://{host}/token\"")),
        "{challenge}"
    );

    // HTTP/2 by ALPN, as curl negotiates it.
    let ca_file = tls.path().join("ca.pem");
    std::fs::write(&ca_file, &ca).unwrap();
    let version = crate::common::run_stdout(
        std::process::Command::new(crate::common::tool("curl"))
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_version}",
                "--http2",
                "--cacert",
            ])
            .arg(&ca_file)
            .arg(https("/readyz")),
    );
    assert_eq!(version, "2", "ALPN chose HTTP/{version}");

    // podman, verifying against the test CA (its --cert-dir), never --tls-verify=false.
    let certs_dir = tempfile::tempdir().unwrap();
    std::fs::write(certs_dir.path().join("ca.crt"), &ca).unwrap();
    let cert_dir = certs_dir.path().to_str().unwrap();
    let podman = Podman::new();
    let login = |p: &Podman| {
        use std::io::Write as _;
        let mut child = p
            .cmd()
            .args([
                "login",
                "--cert-dir",
                cert_dir,
                "-u",
                "admin",
                "--password-stdin",
                &host,
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(berth.token().as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success(), "podman login over TLS");
    };
    login(&podman);
    let image = format!("{host}/acme/app:v1");
    podman.build(&image, "linux/amd64", "served over TLS\n", &[]);
    run(podman.cmd().args(["push", "--cert-dir", cert_dir, &image]));
    let puller = Podman::new();
    login(&puller);
    run(puller.cmd().args(["pull", "--cert-dir", cert_dir, &image]));

    // Plain HTTP to the TLS port: refused cleanly, and TLS still served after it.
    let plain = reqwest::blocking::get(format!("http://{host}/v2/"));
    assert!(
        plain
            .as_ref()
            .map_or(true, |r| r.status().is_client_error()),
        "plain HTTP got {:?}",
        plain.map(|r| r.status())
    );

    // A new certificate from another CA, written over the files: served within seconds.
    let new_ca = write_pair(tls.path());
    wait_until(
        "the new certificate to be served",
        Duration::from_secs(10),
        || client(&new_ca).get(https("/readyz")).send().is_ok(),
    );
    assert!(
        client(&ca).get(https("/readyz")).send().is_err(),
        "the old one is gone"
    );
}

#[test]
fn a_bad_pair_stops_the_registry_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, "not a certificate\n").unwrap();
    std::fs::write(&key, "not a key\n").unwrap();
    let out = serve_refused(
        dir.path(),
        &[
            "--tls-cert".as_ref(),
            cert.as_os_str(),
            "--tls-key".as_ref(),
            key.as_os_str(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(cert.to_str().unwrap()) && stderr.contains(key.to_str().unwrap()),
        "{stderr}"
    );
}
