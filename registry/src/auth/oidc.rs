//! Workload tokens: JWTs from OIDC issuers the `Registry` trusts (the `GITHUB_TOKEN`
//! analogue; a Kubernetes ServiceAccount token is one such). Each issuer names its
//! audience, its keys (a JWKS file or inline) and which claims name the user, the teams
//! and the repository.

use std::path::Path;

use berth_crds::registry::{ClaimMapping, OidcIssuer};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::identity::{Identity, Scopes, Subject};

/// A problem with an issuer's configuration.
#[derive(Debug, thiserror::Error)]
pub enum IssuerConfigError {
    #[error("OIDC issuer {issuer}: {problem}")]
    Invalid { issuer: String, problem: String },
}

/// Why a workload token is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OidcError {
    #[error("the token is not a JWT this registry can read")]
    Unreadable,
    #[error("the token's issuer {0:?} is not trusted by this registry")]
    UnknownIssuer(String),
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("the token names neither a repository nor a user")]
    NoSubject,
}

struct TrustedIssuer {
    issuer: String,
    audience: String,
    keys: JwkSet,
    claims: ClaimMapping,
    scopes: Scopes,
}

/// The issuers a registry trusts.
#[derive(Default)]
pub struct TrustedIssuers {
    issuers: Vec<TrustedIssuer>,
}

/// A verified workload token.
pub struct Workload {
    pub identity: Identity,
    /// The token's expiry (unix seconds): registry tokens for it expire no later.
    pub expires_at: i64,
}

impl TrustedIssuers {
    /// Loads the issuers of a `Registry`; `base` resolves relative `jwksFile` paths.
    pub fn from_spec(
        specs: &[OidcIssuer],
        base: &Path,
    ) -> Result<TrustedIssuers, IssuerConfigError> {
        let mut issuers = Vec::new();
        for spec in specs {
            let invalid = |problem: String| IssuerConfigError::Invalid {
                issuer: spec.issuer.clone(),
                problem,
            };
            let jwks: Value = match (&spec.jwks_file, &spec.jwks) {
                (Some(file), None) => {
                    let path = base.join(file);
                    let text = std::fs::read_to_string(&path).map_err(|e| {
                        invalid(format!("reading jwksFile {}: {e}", path.display()))
                    })?;
                    serde_json::from_str(&text)
                        .map_err(|e| invalid(format!("jwksFile is not JSON: {e}")))?
                }
                (None, Some(inline)) => inline.clone(),
                _ => return Err(invalid("set exactly one of jwksFile and jwks".into())),
            };
            let keys: JwkSet = serde_json::from_value(jwks)
                .map_err(|e| invalid(format!("not a JWKS document: {e}")))?;
            if keys.keys.is_empty() {
                return Err(invalid("the JWKS holds no keys".into()));
            }
            let scopes = if spec.scopes.is_empty() {
                Scopes::ALL
            } else {
                Scopes::parse(&spec.scopes.join(",")).map_err(|e| invalid(e.to_string()))?
            };
            issuers.push(TrustedIssuer {
                issuer: spec.issuer.clone(),
                audience: spec.audience.clone(),
                keys,
                claims: spec.claims.clone(),
                scopes,
            });
        }
        Ok(TrustedIssuers { issuers })
    }

    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// Verifies a workload token and maps its claims to an identity.
    pub fn verify(&self, token: &str) -> Result<Workload, OidcError> {
        let (issuer, claims) = self.verified_claims(token)?;
        identity_from(issuer, &claims)
    }

    /// The claims of `token` and the trusted issuer that signed it, once its signature,
    /// issuer, audience and lifetime check out.
    fn verified_claims(&self, token: &str) -> Result<(&TrustedIssuer, Value), OidcError> {
        // The issuer picks the keys, so it is read before the signature is checked; it
        // only selects which verification to run.
        let unverified: Value = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| OidcError::Unreadable)?;
        let iss = unverified
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let issuer = self
            .issuers
            .iter()
            .find(|i| i.issuer == iss)
            .ok_or_else(|| OidcError::UnknownIssuer(iss.to_owned()))?;
        let header = jsonwebtoken::decode_header(token).map_err(|_| OidcError::Unreadable)?;
        if !is_asymmetric(header.alg) {
            return Err(OidcError::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let key = issuer.key(header.kid.as_deref())?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&issuer.issuer]);
        validation.set_audience(&[&issuer.audience]);
        validation.leeway = 5;
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| OidcError::Invalid(e.to_string()))?
            .claims;
        Ok((issuer, claims))
    }
}

impl TrustedIssuer {
    /// The key named `kid`; without a key id, the issuer's only key.
    fn key(&self, kid: Option<&str>) -> Result<DecodingKey, OidcError> {
        let jwk = match kid {
            Some(kid) => self.keys.find(kid),
            None if self.keys.keys.len() == 1 => self.keys.keys.first(),
            None => None,
        }
        .ok_or_else(|| OidcError::Invalid("signed with a key the issuer does not list".into()))?;
        DecodingKey::from_jwk(jwk).map_err(|e| OidcError::Invalid(e.to_string()))
    }
}

/// Asymmetric algorithms only: an HMAC "signed" with a public key proves nothing.
fn is_asymmetric(alg: Algorithm) -> bool {
    matches!(
        alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::EdDSA
    )
}

/// The workload that verified `claims` of `issuer` stand for, as the issuer's claim
/// mapping names its repository, user and teams.
fn identity_from(issuer: &TrustedIssuer, claims: &Value) -> Result<Workload, OidcError> {
    let expires_at = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let user = issuer.claims.user.as_deref().and_then(text);
    let repository = text(&issuer.claims.repository);
    let teams = issuer
        .claims
        .teams
        .as_ref()
        .and_then(|n| claims.get(n))
        .map(string_list)
        .unwrap_or_default();
    let subject = match (repository, user) {
        (Some(repository), user) => Subject::Workload {
            repository,
            user,
            teams,
        },
        (None, Some(name)) => Subject::User { name, teams },
        (None, None) => return Err(OidcError::NoSubject),
    };
    Ok(Workload {
        identity: Identity {
            subject,
            scopes: issuer.scopes,
        },
        expires_at,
    })
}

/// A claim that lists names: a JSON array of strings, or one comma-separated string.
fn string_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn issuer(user: Option<&str>, teams: Option<&str>) -> TrustedIssuer {
        TrustedIssuer {
            issuer: "https://ci.example.com".into(),
            audience: "berth".into(),
            keys: JwkSet { keys: Vec::new() },
            claims: ClaimMapping {
                user: user.map(str::to_owned),
                teams: teams.map(str::to_owned),
                ..ClaimMapping::default()
            },
            scopes: Scopes::parse("read:packages").unwrap(),
        }
    }

    #[test]
    fn a_repository_claim_makes_a_workload_acting_for_its_user() {
        let claims = json!({"repository": "acme/app", "actor": "alice", "exp": 42,
            "groups": ["acme/dev", "acme/ops"]});
        let w = identity_from(&issuer(Some("actor"), Some("groups")), &claims).unwrap();
        assert_eq!(
            w.identity.subject,
            Subject::Workload {
                repository: "acme/app".into(),
                user: Some("alice".into()),
                teams: vec!["acme/dev".into(), "acme/ops".into()],
            }
        );
        assert_eq!(w.identity.scopes, Scopes::parse("read:packages").unwrap());
        assert_eq!(w.expires_at, 42);
    }

    #[test]
    fn without_a_repository_the_user_claim_names_a_user() {
        let claims = json!({"repository": "", "actor": "alice", "groups": "acme/dev, acme/ops"});
        let w = identity_from(&issuer(Some("actor"), Some("groups")), &claims).unwrap();
        assert_eq!(
            w.identity.subject,
            Subject::User {
                name: "alice".into(),
                teams: vec!["acme/dev".into(), "acme/ops".into()],
            }
        );
        // A user claim the issuer does not map is not read.
        assert_eq!(
            identity_from(&issuer(None, None), &claims).err(),
            Some(OidcError::NoSubject)
        );
        assert_eq!(
            identity_from(&issuer(Some("actor"), None), &json!({"actor": 7})).err(),
            Some(OidcError::NoSubject)
        );
    }
}
