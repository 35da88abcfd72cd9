//! The registry's own tokens: ES256 JWTs with a key id, naming an identity and its
//! scopes. They carry no permissions; those are evaluated on every request.

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use super::identity::{Identity, Scopes, Subject};
use super::keys::SigningKeys;

/// The `iss` of every registry token.
pub const ISSUER: &str = "berth";

/// A registry token's claims.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub berth: BerthClaims,
}

/// The identity a token stands for.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct BerthClaims {
    pub subject: Subject,
    pub scopes: Scopes,
    /// The PAT it was issued for: checked on every request, so revoking the PAT revokes
    /// its tokens at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pat: Option<String>,
}

impl Claims {
    pub fn identity(&self) -> Identity {
        Identity {
            subject: self.berth.subject.clone(),
            scopes: self.berth.scopes,
        }
    }
}

/// Why a token is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("token is not a registry token: {0}")]
    Invalid(String),
    #[error("token was signed with an unknown key")]
    UnknownKey,
}

/// Why the registry could not sign a token: its own failure, never the caller's.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("the registry has no key to sign tokens with")]
    NoKey,
    #[error("signing the registry token failed: {0}")]
    Signing(String),
}

/// Signs a token for `id` that lives `ttl_secs`, no longer than `not_after` (unix secs).
pub fn issue(
    keys: &SigningKeys,
    id: &Identity,
    pat: Option<&str>,
    audience: &str,
    ttl_secs: i64,
    not_after: Option<i64>,
) -> Result<(String, Claims), TokenError> {
    let (kid, key) = keys.signer().ok_or(TokenError::NoKey)?;
    let now = jiff::Timestamp::now().as_second();
    let exp = not_after.map_or(now + ttl_secs, |n| n.min(now + ttl_secs));
    let sub = match &id.subject {
        Subject::Anonymous => "anonymous".to_owned(),
        Subject::User { name, .. } => name.clone(),
        Subject::Workload { repository, .. } => format!("repo:{repository}"),
    };
    let claims = Claims {
        iss: ISSUER.to_owned(),
        sub,
        aud: audience.to_owned(),
        iat: now,
        nbf: now - 5,
        exp,
        berth: BerthClaims {
            subject: id.subject.clone(),
            scopes: id.scopes,
            pat: pat.map(str::to_owned),
        },
    };
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    let token = jsonwebtoken::encode(&header, &claims, key)
        .map_err(|e| TokenError::Signing(e.to_string()))?;
    Ok((token, claims))
}

/// Verifies a registry token: ES256 only, a known key id, our issuer, not expired.
pub fn verify(keys: &SigningKeys, token: &str) -> Result<Claims, JwtError> {
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| JwtError::Invalid(e.to_string()))?;
    if header.alg != Algorithm::ES256 {
        return Err(JwtError::Invalid(format!(
            "algorithm {:?} is not accepted",
            header.alg
        )));
    }
    let kid = header
        .kid
        .ok_or_else(|| JwtError::Invalid("no key id".into()))?;
    let key = keys.verifier(&kid).ok_or(JwtError::UnknownKey)?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.validate_aud = false;
    validation.leeway = 5;
    jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map(|d| d.claims)
        .map_err(|e| JwtError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    use super::*;

    fn keys() -> (tempfile::TempDir, SigningKeys) {
        let dir = tempfile::tempdir().unwrap();
        let keys = SigningKeys::load_or_generate(dir.path()).unwrap();
        (dir, keys)
    }

    #[test]
    fn issued_tokens_verify_and_carry_identity_and_scopes() {
        let (_d, keys) = keys();
        let id = Identity::user("alice", Scopes::parse("read:packages").unwrap());
        let (token, _) = issue(&keys, &id, Some("pat1"), "svc", 300, None).unwrap();
        let claims = verify(&keys, &token).unwrap();
        assert_eq!(claims.identity(), id);
        assert_eq!(claims.berth.pat.as_deref(), Some("pat1"));
    }

    #[test]
    fn tampered_unsigned_expired_and_foreign_tokens_are_refused() {
        let (_d, keys) = keys();
        let id = Identity::user("alice", Scopes::parse("read:packages").unwrap());
        let (token, claims) = issue(&keys, &id, None, "svc", 300, None).unwrap();
        let parts: Vec<&str> = token.split('.').collect();

        // Changed claims, original signature.
        let mut forged = claims.clone();
        forged.berth.subject = Subject::User {
            name: "root".into(),
            teams: vec![],
        };
        let body = B64.encode(serde_json::to_vec(&forged).unwrap());
        let tampered = format!("{}.{body}.{}", parts[0], parts[2]);
        assert!(verify(&keys, &tampered).is_err());

        // alg: none, no signature.
        let none_header = B64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(verify(&keys, &format!("{none_header}.{}.", parts[1])).is_err());

        // Signed with another registry's key.
        let (_d2, other) = self::keys();
        let (foreign, _) = issue(&other, &id, None, "svc", 300, None).unwrap();
        assert!(verify(&keys, &foreign).is_err());

        // Expired.
        let (old, _) = issue(&keys, &id, None, "svc", -60, None).unwrap();
        assert!(verify(&keys, &old).is_err());

        assert!(verify(&keys, "not.a.jwt").is_err());
        assert!(verify(&keys, "").is_err());
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_and_signs_with_the_new_key() {
        let dir = tempfile::tempdir().unwrap();
        let first = SigningKeys::load_or_generate(dir.path()).unwrap();
        let id = Identity::user("alice", Scopes::ALL);
        let (old, _) = issue(&first, &id, None, "svc", 300, None).unwrap();
        let new_kid = SigningKeys::generate(dir.path()).unwrap();
        let rotated = SigningKeys::load(dir.path()).unwrap();
        assert_eq!(rotated.len(), 2);
        assert!(verify(&rotated, &old).is_ok());
        let (new, _) = issue(&rotated, &id, None, "svc", 300, None).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&new).unwrap().kid.as_deref(),
            Some(new_kid.as_str())
        );
    }

    #[test]
    fn a_registry_without_a_signing_key_cannot_issue() {
        let id = Identity::anonymous();
        assert_eq!(
            issue(&SigningKeys::default(), &id, None, "svc", 300, None).err(),
            Some(TokenError::NoKey)
        );
    }

    #[test]
    fn tokens_never_outlive_their_credential() {
        let (_d, keys) = keys();
        let now = jiff::Timestamp::now().as_second();
        let (_, claims) = issue(
            &keys,
            &Identity::anonymous(),
            None,
            "svc",
            300,
            Some(now + 30),
        )
        .unwrap();
        assert!(claims.exp <= now + 30);
    }
}
