//! GHCR's curl shortcut: `Authorization: Bearer $(echo $PAT | base64)` straight on /v2/,
//! with the PAT's own scopes and checks, as scripts written for GHCR send it.

use std::process::Command;

use crate::common::{Berth, run_stdout, tool};
use crate::support::tool_with_read_only_carol;

/// `curl` with the shortcut's header for `pat`, as a shell would build it (`echo` adds a
/// newline before base64); returns the status and the body.
fn curl(berth: &Berth, method: &str, path: &str, pat: &str) -> (u16, String) {
    let header = run_stdout(
        Command::new("sh")
            .arg("-c")
            .arg(r#"printf 'Authorization: Bearer %s' "$(echo "$PAT" | base64 -w0)""#)
            .env("PAT", pat),
    );
    let out = run_stdout(
        Command::new(tool("curl"))
            .args(["-s", "-X", method, "-H", &header])
            .args(["-H", "Accept: application/vnd.oci.image.manifest.v1+json"])
            .args(["-w", "\n%{http_code}"])
            .arg(berth.url(path)),
    );
    let (body, status) = out.rsplit_once('\n').expect("curl wrote the status");
    (status.parse().expect("a status code"), body.to_owned())
}

#[test]
fn a_base64_pat_as_bearer_pulls_and_keeps_its_scopes() {
    let berth = Berth::start();
    let (digest, read_pat) = tool_with_read_only_carol(&berth);

    let (status, body) = curl(&berth, "GET", "/v2/acme/tool/manifests/v1", &read_pat);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        crate::common::sha256(body.as_bytes()),
        digest,
        "the pushed manifest"
    );
    let (status, body) = curl(&berth, "GET", "/v2/acme/tool/tags/list", &read_pat);
    assert_eq!((status, body.contains("\"v1\"")), (200, true), "{body}");

    // The same header cannot push with a read-only PAT, as the PAT itself cannot.
    let (status, body) = curl(&berth, "POST", "/v2/acme/tool/blobs/uploads/", &read_pat);
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("DENIED") && body.contains("write:packages"),
        "{body}"
    );

    // A PAT that is not one, or revoked, is refused like at /token, never anonymous.
    let (status, body) = curl(
        &berth,
        "GET",
        "/v2/acme/tool/manifests/v1",
        "bpat_not-a-real-token",
    );
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("UNAUTHORIZED"), "{body}");
}
