//! The token service's and the auth layer's parsers: registry tokens (JWTs), the
//! `Authorization` header, the `scope` parameter and the signed upload `_state`.

use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderValue;

use crate::auth::identity::Scopes;
use crate::auth::jwt;
use crate::auth::keys::{SigningKeys, new_key_file};
use crate::auth::limit::SignInLimit;
use crate::auth::oidc::TrustedIssuers;
use crate::auth::scope::parse_scopes;
use crate::auth::{AuthError, Authenticator};
use crate::content::upload_state::{SignedState, UploadStateKey};

use super::text;

/// One key for the whole run, made at the first input.
static KEYS: LazyLock<(String, String)> = LazyLock::new(|| {
    let (_, pem, kid) = new_key_file(0).expect("a P-256 key");
    (pem, kid)
});

fn keys() -> SigningKeys {
    SigningKeys::from_pems([KEYS.0.as_str()]).expect("the fuzz key loads")
}

static SIGNING: LazyLock<SigningKeys> = LazyLock::new(keys);

/// A token verifies only if our key signed it. With a first byte of 0 the rest is a
/// token as a client sends it (which nobody can forge, so it must be refused);
/// otherwise the rest is `HEADER\nCLAIMS` JSON that the run signs with the key, so the
/// claims' own checks (issuer, expiry, shape) are what refuses or accepts it.
pub fn jwt(data: &[u8]) {
    let keys = &*SIGNING;
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode == 0 {
        let token = text(rest);
        assert!(
            jwt::verify(keys, &token).is_err(),
            "a forged token verified"
        );
        return;
    }
    let (header, claims) = match rest.iter().position(|&b| b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&br#"{"alg":"ES256","kid":"KID"}"#[..], rest),
    };
    let header = text(header).replace("KID", &KEYS.1);
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let (_, key) = keys.signer().expect("a signer");
    let Ok(signature) =
        jsonwebtoken::crypto::sign(message.as_bytes(), key, jsonwebtoken::Algorithm::ES256)
    else {
        return;
    };
    if let Ok(c) = jwt::verify(keys, &format!("{message}.{signature}")) {
        assert_eq!(c.iss, jwt::ISSUER);
        assert!(
            c.exp + 5 >= jiff::Timestamp::now().as_second(),
            "expired: {c:?}"
        );
    }
}

/// An authenticator that knows no PAT and trusts no issuer, without a sign-in limit
/// (which would make one input's outcome depend on the ones before it).
static AUTHENTICATOR: LazyLock<Authenticator> = LazyLock::new(|| {
    Authenticator::new(keys(), TrustedIssuers::default(), Duration::from_secs(300))
        .with_sign_in_limit(SignInLimit {
            per_account: 0,
            per_address: 0,
            period: Duration::from_secs(60),
        })
});

/// No `Authorization` header signs a stranger in: every value is refused (or, when it
/// is no header value at all, never reaches the check).
pub fn authorization(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    match AUTHENTICATOR.authenticate(Some(&value), None) {
        Err(AuthError::Malformed | AuthError::BadCredentials | AuthError::Jwt(_)) => {}
        Ok(identity) => panic!("{value:?} signed in as {identity:?}"),
        Err(e) => panic!("{value:?} was refused as no stranger should be: {e}"),
    }
    assert!(
        AUTHENTICATOR.sign_in_header(&value, None).is_err(),
        "{value:?} signed in"
    );
}

/// Scope lists parse into what they name, and never into an empty grant.
pub fn scope(data: &[u8]) {
    let s = text(data);
    if let Ok(scopes) = parse_scopes(&s) {
        for scope in scopes {
            assert!(!scope.name.is_empty() && s.contains(&scope.name));
            assert!(!scope.actions.is_empty());
        }
    }
    if let Ok(scopes) = Scopes::parse(&s) {
        assert_ne!(scopes, Scopes::NONE);
        assert!(!scopes.delete || scopes.read);
    }
}

/// An upload state verifies only as signed: a token the run did not make is refused
/// unless it is, byte for byte, the one the key makes for the state it names. The first
/// sixteen bytes are a state that the run signs and must verify.
pub fn upload_state(data: &[u8]) {
    let key = &*STATE_KEY;
    let (repo, id) = ("acme/app", "session");
    if let Some((head, _)) = data.split_first_chunk::<16>() {
        let state = SignedState {
            offset: u64::from_le_bytes(head[..8].try_into().expect("8 bytes")),
            started_at_ms: u64::from_le_bytes(head[8..].try_into().expect("8 bytes")),
        };
        assert_eq!(
            key.verify(repo, id, &key.sign(repo, id, state)),
            Some(state)
        );
    }
    let token = text(data);
    if let Some(state) = key.verify(repo, id, &token) {
        assert_eq!(
            token,
            key.sign(repo, id, state),
            "a different token verified"
        );
    }
}

static STATE_KEY: LazyLock<UploadStateKey> =
    LazyLock::new(|| UploadStateKey::new(*b"berth fuzz upload state key").expect("long enough"));
