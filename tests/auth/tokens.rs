//! Credentials that must be refused: an expired PAT, and registry tokens that were
//! tampered with (changed claims, `alg: none`, another key, another registry's key).

use std::time::Duration;

use serde_json::json;

use crate::common::podman::Podman;
use crate::common::{Berth, tool, wait_until};
use crate::support::{
    Http, Response, basic, bearer, jwt_parts, new_key, output_text, pat, publish, registry_token,
    segment, sign_es256,
};

#[test]
fn an_expired_pat_is_refused() {
    let berth = Berth::start();
    let pat = berth.create_token("dave", "read:packages", Some("1s"));
    let sign_in = || {
        Http::get(&berth, "/token?scope=repository:dave/app:pull")
            .auth(&basic("dave", &pat))
            .send()
    };
    // The registry learns of the PAT a moment after it is stored, and expiry is
    // checked to the second: wait for the refusal that says why.
    wait_until(
        "the PAT to be refused as expired",
        Duration::from_secs(5),
        || sign_in().text().contains("expired"),
    );
    let refused = sign_in();
    refused.assert_error(401, "UNAUTHORIZED");
    assert!(refused.text().contains("expired"), "{}", refused.text());
    Http::get(&berth, "/v2/")
        .auth(&basic("dave", &pat))
        .send()
        .assert_error(401, "UNAUTHORIZED");

    let podman = Podman::new();
    let out = podman
        .cmd()
        .args([
            "login",
            "--tls-verify=false",
            "-u",
            "dave",
            "-p",
            &pat,
            &berth.host(),
        ])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(
        !out.status.success(),
        "podman logged in with an expired PAT"
    );
    // podman words a 401 at /token as "invalid username/password".
    assert!(text.contains("invalid username/password"), "{text}");
}

/// `GET /v2/` and a private manifest with `authorization`.
fn probe(berth: &Berth, authorization: &str) -> [Response; 2] {
    ["/v2/", "/v2/acme/secret/manifests/v1"].map(|path| {
        Http::get(berth, path)
            .auth(authorization)
            .header("accept", "application/vnd.oci.image.manifest.v1+json")
            .send()
    })
}

/// The binary with raw HTTP and skopeo; the router-level edge cases are in
/// `registry/tests/auth_tokens.rs` (`tampered_registry_tokens_are_refused_at_the_base_endpoint`).
#[test]
fn tampered_registry_tokens_are_refused_on_reads_renewal_and_by_skopeo() {
    let berth = Berth::start();
    let _ = publish(&berth, "acme/secret:v1", "for the admin only\n");
    let mallory = pat(&berth, "mallory", "read:packages");
    let token = registry_token(&berth, &basic("mallory", &mallory), "acme/secret");

    // Mallory's own token is fine, and shows her nothing; the admin's shows the manifest.
    let [base, manifest] = probe(&berth, &bearer(&token));
    assert_eq!(base.status, 200, "{}", base.text());
    manifest.assert_error(404, "NAME_UNKNOWN");
    let admin_token = registry_token(&berth, &basic("admin", berth.token()), "acme/secret");
    assert_eq!(probe(&berth, &bearer(&admin_token))[1].status, 200);

    // Claiming to be the admin: the same claims as the admin's token, as far as identity
    // goes, with mallory's signature, with none, and with another key under the same id.
    let (header, mut claims) = jwt_parts(&token);
    let (_, admin_claims) = jwt_parts(&admin_token);
    claims["sub"] = admin_claims["sub"].clone();
    claims["berth"]["subject"] = admin_claims["berth"]["subject"].clone();
    claims["berth"]["scopes"] = json!({"read": true, "write": true, "delete": true});
    let signature = token.rsplit('.').next().unwrap();
    let kid = header["kid"].as_str().expect("a key id").to_owned();
    let none = json!({"alg": "none", "typ": "JWT", "kid": kid});
    let forged = [
        (
            "changed claims",
            format!("{}.{}.{signature}", segment(&header), segment(&claims)),
        ),
        (
            "alg none",
            format!("{}.{}.", segment(&none), segment(&claims)),
        ),
        (
            "alg none, signature kept",
            format!("{}.{}.{signature}", segment(&none), segment(&claims)),
        ),
        ("another key", sign_es256(&new_key(), &kid, &claims)),
    ];
    // And a genuine token of another registry (its own key) for its own admin.
    let other = Berth::start();
    let foreign = registry_token(&other, &basic("admin", other.token()), "acme/secret");
    let foreign = [("another registry's token", foreign)];

    for (what, jwt) in forged.iter().chain(&foreign) {
        for r in probe(&berth, &bearer(jwt)) {
            r.assert_error(401, "UNAUTHORIZED");
            assert!(
                r.header("www-authenticate")
                    .is_some_and(|c| c.starts_with("Bearer ")),
                "{what}: {r:?}"
            );
        }
        // Nor can it be exchanged at /token for a fresh one.
        let renewed = Http::get(&berth, "/token?scope=repository:acme/secret:pull")
            .auth(&bearer(jwt))
            .send();
        assert_eq!(renewed.status, 401, "{what}: {}", renewed.text());
    }

    // skopeo with a forged token as a bearer token gets no further.
    let out = std::process::Command::new(tool("skopeo"))
        .args([
            "inspect",
            "--tls-verify=false",
            "--registry-token",
            &forged[0].1,
        ])
        .arg(format!("docker://{}/acme/secret:v1", berth.host()))
        .output()
        .unwrap();
    assert!(!out.status.success(), "skopeo read with a forged token");
}

#[test]
fn post_token_with_bad_basic_credentials_is_401() {
    let berth = Berth::start();
    let r = crate::support::Http::new(&berth, "POST", "/token")
        .auth(&crate::support::basic("admin", "bpat_nope"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"service=x&scope=repository:acme/app:pull")
        .send();
    r.assert_error(401, "UNAUTHORIZED");
}
