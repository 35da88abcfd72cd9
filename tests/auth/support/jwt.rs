//! JWTs: forging registry tokens, and a test OIDC issuer that signs workload tokens.

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

/// A JWT with this header and claims, signed ES256 by `key`.
pub fn sign_es256(key: &rcgen::KeyPair, kid: &str, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    let key =
        jsonwebtoken::EncodingKey::from_ec_pem(key.serialize_pem().as_bytes()).expect("an EC key");
    jsonwebtoken::encode(&header, claims, &key).expect("signing")
}

/// The header and claims of a JWT, unverified.
pub fn jwt_parts(token: &str) -> (Value, Value) {
    let part = |i: usize| -> Value {
        let seg = token.split('.').nth(i).expect("three segments");
        serde_json::from_slice(&B64.decode(seg).expect("base64url")).expect("JSON")
    };
    (part(0), part(1))
}

/// A base64url JSON segment.
pub fn segment(v: &Value) -> String {
    B64.encode(serde_json::to_vec(v).unwrap())
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn new_key() -> rcgen::KeyPair {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("an ES256 key")
}

/// A test OIDC issuer (the CI system's token service): an ES256 key, its JWKS, and a
/// `Registry` config that trusts it.
pub struct Issuer {
    key: rcgen::KeyPair,
    pub url: String,
    pub audience: String,
    dir: tempfile::TempDir,
}

impl Issuer {
    pub const KID: &str = "ci-key-1";

    pub fn new() -> Issuer {
        let key = new_key();
        let raw = key.public_key_raw();
        assert_eq!((raw.len(), raw[0]), (65, 4), "an uncompressed P-256 point");
        let jwks = json!({"keys": [{
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": Self::KID,
            "x": B64.encode(&raw[1..33]), "y": B64.encode(&raw[33..]),
        }]});
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("jwks.json"), jwks.to_string()).unwrap();
        let issuer = Issuer {
            key,
            url: "https://ci.example.test".into(),
            audience: "berth".into(),
            dir,
        };
        // The refusal tests present many bad tokens on purpose; the sign-in limit has
        // its own test (`brute_force`), so it is off here.
        let config = format!(
            "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {{name: test}}\nspec:\n  auth:\n    signInLimit: {{perAccount: 0, perAddress: 0}}\n    oidcIssuers:\n      - issuer: {}\n        audience: {}\n        jwksFile: jwks.json\n        claims: {{repository: repository, user: actor}}\n",
            issuer.url, issuer.audience
        );
        std::fs::write(issuer.config(), config).unwrap();
        issuer
    }

    /// The `--config` file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("registry.yaml")
    }

    /// `claims` signed by this issuer's key.
    pub fn sign(&self, claims: &Value) -> String {
        sign_es256(&self.key, Self::KID, claims)
    }

    /// A current token of the workload of `repository`, acting for `ci-bot`.
    pub fn workload(&self, repository: &str) -> String {
        self.sign(&self.claims(repository))
    }

    /// The claims of a current token of `repository`'s workload.
    pub fn claims(&self, repository: &str) -> Value {
        let now = now();
        json!({
            "iss": self.url, "aud": self.audience, "sub": format!("repo:{repository}"),
            "iat": now, "nbf": now - 5, "exp": now + 600,
            "repository": repository, "actor": "ci-bot",
        })
    }
}
