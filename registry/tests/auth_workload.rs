//! Workload tokens (the `GITHUB_TOKEN` analogue) from a test OIDC issuer: a repository's
//! workload publishes a package, which is linked to that repository and gives it admin.
//! These are the router-level checks and edge cases; `tests/auth/workload.rs` runs the
//! same story through the binary with podman and skopeo, and the untrusted tokens.

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use berth_crds::registry::{ClaimMapping, OidcIssuer};
use common::{TestRegistry, basic};
use serde_json::json;

const ISSUER: &str = "https://ci.example.com";
const AUDIENCE: &str = "berth";

/// A test issuer: an ES256 key and its JWKS.
struct Issuer {
    key: rcgen::KeyPair,
    kid: String,
}

impl Issuer {
    fn new() -> Issuer {
        Issuer {
            key: rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
            kid: "test-key".into(),
        }
    }

    fn jwks(&self) -> serde_json::Value {
        let raw = self.key.public_key_raw(); // 0x04 ‖ X ‖ Y
        json!({"keys": [{"kty": "EC", "crv": "P-256", "kid": self.kid, "alg": "ES256", "use": "sig",
            "x": B64.encode(&raw[1..33]), "y": B64.encode(&raw[33..65])}]})
    }

    fn sign(&self, claims: serde_json::Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        let key =
            jsonwebtoken::EncodingKey::from_ec_pem(self.key.serialize_pem().as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    fn token_for(&self, repository: &str) -> String {
        let exp = jiff::Timestamp::now().as_second() + 600;
        self.sign(json!({"iss": ISSUER, "aud": AUDIENCE, "exp": exp, "sub": "job", "repository": repository, "actor": "bob"}))
    }
}

const ORG: &str = "apiVersion: berth.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  members: [bob]
  repositories:
    - {name: app, url: https://git.example.com/acme/app}
    - {name: other, url: https://git.example.com/acme/other}
";

async fn registry(issuer: &Issuer) -> TestRegistry {
    let jwks = issuer.jwks();
    let reg = TestRegistry::with_config(|c| {
        c.auth.oidc_issuers = vec![OidcIssuer {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks: Some(jwks),
            claims: ClaimMapping {
                user: Some("actor".into()),
                ..ClaimMapping::default()
            },
            ..OidcIssuer::default()
        }];
    });
    reg.write_policy("acme.yaml", ORG, |s| s.org("acme").is_some())
        .await;
    reg
}

#[tokio::test]
async fn a_workload_publishes_a_linked_package_that_its_repository_administers() {
    let issuer = Issuer::new();
    let reg = registry(&issuer).await;
    let app = reg.with_authorization(Some(basic("ci", &issuer.token_for("acme/app"))));
    let (digest, _) = app.push_image("acme/app", "v1", "from ci").await;

    let snap = reg.state.policy.snapshot();
    let pkg = snap
        .package("acme", "app")
        .expect("created by the workload");
    assert_eq!(
        pkg.repository.as_deref(),
        Some("https://git.example.com/acme/app")
    );
    assert_eq!(
        pkg.publisher.as_ref().unwrap().repository.as_deref(),
        Some("acme/app")
    );
    assert!(pkg.inherit_access);
    // Its repository is admin: it may delete.
    app.delete(&format!("/v2/acme/app/manifests/{digest}"))
        .await
        .assert_status(StatusCode::ACCEPTED);

    // That another repository's workload cannot see it is checked with skopeo and raw
    // HTTP in `tests/auth/workload.rs`.
    // A workload of a repository the organization does not declare creates nothing.
    let stranger = reg.with_authorization(Some(basic("ci", &issuer.token_for("acme/undeclared"))));
    let r = stranger.try_start_upload("acme/x").await;
    r.assert_error(StatusCode::FORBIDDEN, "DENIED");
}

#[tokio::test]
async fn the_token_endpoint_exchanges_a_workload_token() {
    let issuer = Issuer::new();
    let reg = registry(&issuer).await;
    let r = reg
        .with_authorization(Some(basic("ci", &issuer.token_for("acme/app"))))
        .get("/token?service=x&scope=repository:acme/app:push")
        .await;
    r.assert_status(StatusCode::OK);
    let t = r.json()["token"].as_str().unwrap().to_owned();
    let claims: serde_json::Value =
        serde_json::from_slice(&B64.decode(t.split('.').nth(1).unwrap()).unwrap()).unwrap();
    assert_eq!(claims["berth"]["subject"]["repository"], "acme/app");
    assert_eq!(claims["sub"], "repo:acme/app");
}

/// Edge cases at `/token`. An unknown issuer, another key, an expired token and another
/// audience are refused by the binary, at `/token` and `/v2/`, in `tests/auth/workload.rs`
/// (`workload_tokens_that_are_not_trusted_are_refused`).
#[tokio::test]
async fn workload_tokens_naming_no_one_unsigned_or_not_jwts_are_refused() {
    let issuer = Issuer::new();
    let reg = registry(&issuer).await;
    let now = jiff::Timestamp::now().as_second();
    let bad = [
        // Naming no one.
        issuer.sign(json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 600})),
        // alg: none.
        format!(
            "{}.{}.",
            B64.encode(r#"{"alg":"none"}"#),
            B64.encode(
                json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 600, "repository": "acme/app"})
                    .to_string()
            )
        ),
        "not.a.jwt".to_owned(),
    ];
    for token in bad {
        let r = reg
            .with_authorization(Some(basic("ci", &token)))
            .get("/token")
            .await;
        r.assert_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    }
}
