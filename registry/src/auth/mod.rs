//! Authentication: who a request is from. PATs and workload tokens sign in at `/token`
//! (served by `oci/token.rs`) for a registry JWT; registry requests carry that JWT (or
//! Basic credentials). Every request re-checks the PAT behind its JWT, so revoking a PAT
//! takes effect at once. Nothing here knows a route or renders a response.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::http::HeaderValue;
use base64::Engine as _;

pub mod identity;
pub mod jwt;
pub mod keys;
pub mod limit;
pub mod oidc;
pub mod pat;
pub mod scope;
pub mod store;

use identity::Identity;
pub use jwt::TokenError;
use jwt::{Claims, JwtError};
use keys::SigningKeys;
pub use limit::Origin;
use oidc::{OidcError, TrustedIssuers};
use pat::PatRecord;

/// Why credentials are refused. Each becomes a 401 with the challenge; none ever falls
/// back to anonymous.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error(
        "unsupported Authorization header: use Bearer (a registry token) or Basic (user and PAT)"
    )]
    Malformed,
    #[error("invalid username or token")]
    BadCredentials,
    #[error("the token has expired")]
    Expired,
    #[error("the token has been revoked")]
    Revoked,
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error(transparent)]
    Oidc(#[from] OidcError),
    #[error("too many failed sign-ins; try again in {} s", retry_after.as_secs().max(1))]
    TooManyFailures { retry_after: Duration },
}

impl AuthError {
    /// How long to wait, for a refusal that says so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            AuthError::TooManyFailures { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// The audience of a pages session (`Authenticator::issue_session`).
pub const SESSION_AUDIENCE: &str = "berth-pages-session";

/// A credential presented at sign-in, once verified.
pub struct SignedIn {
    pub identity: Identity,
    /// The PAT it was, if it was one.
    pub pat: Option<String>,
    /// When the credential itself expires (unix seconds).
    pub expires_at: Option<i64>,
}

impl SignedIn {
    /// A sign-in without credentials (anonymous pulls).
    pub fn anonymous() -> SignedIn {
        SignedIn {
            identity: Identity::anonymous(),
            pat: None,
            expires_at: None,
        }
    }
}

/// The PATs in force, by hash (sign-in) and by id (checking a registry token).
#[derive(Default)]
struct PatIndex {
    by_hash: HashMap<String, PatRecord>,
    id_to_hash: HashMap<String, String>,
}

/// Verifies credentials against the live PATs, the signing keys and the trusted issuers.
pub struct Authenticator {
    keys: ArcSwap<SigningKeys>,
    pats: ArcSwap<PatIndex>,
    issuers: TrustedIssuers,
    token_ttl: Duration,
    /// Verified registry tokens, so the hot path skips the ECDSA check; what they stand
    /// for (the PAT) is still checked on every request.
    verified: moka::sync::Cache<String, Arc<Claims>>,
    limiter: limit::SignInLimiter,
    /// Rereads the PATs from their source when a well-formed one is not known yet (it may
    /// have been created a moment ago), at most once per `REFRESH_EVERY`.
    refresh: Option<PatRefresh>,
}

type PatRefresh = (
    Box<dyn Fn() -> Option<Vec<PatRecord>> + Send + Sync>,
    std::sync::Mutex<Option<std::time::Instant>>,
);

/// The least time between two rereads of the PATs on a miss.
const REFRESH_EVERY: Duration = Duration::from_millis(100);

impl Authenticator {
    pub fn new(keys: SigningKeys, issuers: TrustedIssuers, token_ttl: Duration) -> Authenticator {
        Authenticator {
            keys: ArcSwap::from_pointee(keys),
            pats: ArcSwap::from_pointee(PatIndex::default()),
            issuers,
            token_ttl,
            verified: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(token_ttl)
                .build(),
            refresh: None,
            limiter: limit::SignInLimiter::new(limit::SignInLimit::default()),
        }
    }

    /// Limits failed sign-ins as `limit` says (the default: [`limit::SignInLimit`]'s).
    pub fn with_sign_in_limit(mut self, limit: limit::SignInLimit) -> Self {
        self.limiter = limit::SignInLimiter::new(limit);
        self
    }

    /// Lets a sign-in with an unknown PAT reread the PATs first (a token made a moment
    /// ago works at once, before the source's watch reports it).
    pub fn with_refresh(
        mut self,
        reread: impl Fn() -> Option<Vec<PatRecord>> + Send + Sync + 'static,
    ) -> Self {
        self.refresh = Some((Box::new(reread), std::sync::Mutex::new(None)));
        self
    }

    /// Rereads the PATs if allowed now; whether it did.
    fn refresh_pats(&self) -> bool {
        let Some((reread, last)) = &self.refresh else {
            return false;
        };
        let mut last = last.lock().expect("refresh lock");
        if last.is_some_and(|t| t.elapsed() < REFRESH_EVERY) {
            return false;
        }
        *last = Some(std::time::Instant::now());
        match reread() {
            Some(records) => {
                self.set_pats(records);
                true
            }
            None => false,
        }
    }

    /// Replaces the PATs in force (from their source: files or Secrets).
    pub fn set_pats(&self, records: impl IntoIterator<Item = PatRecord>) {
        let mut index = PatIndex::default();
        for r in records {
            index.id_to_hash.insert(r.id.clone(), r.hash.clone());
            index.by_hash.insert(r.hash.clone(), r);
        }
        self.pats.store(Arc::new(index));
    }

    /// Replaces the signing keys (after a rotation).
    pub fn set_keys(&self, keys: SigningKeys) {
        self.keys.store(Arc::new(keys));
        self.verified.invalidate_all();
    }

    pub fn token_ttl(&self) -> Duration {
        self.token_ttl
    }

    /// The identity behind a request's `Authorization` header, sent from `address`;
    /// none is anonymous.
    pub fn authenticate(
        &self,
        authorization: Option<&HeaderValue>,
        address: Option<IpAddr>,
    ) -> Result<Identity, AuthError> {
        let Some(value) = authorization else {
            return Ok(Identity::anonymous());
        };
        let value = value.to_str().map_err(|_| AuthError::Malformed)?;
        let (scheme, credentials) = value.split_once(' ').ok_or(AuthError::Malformed)?;
        let credentials = credentials.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            // GHCR's shortcut for scripts: `Bearer $(echo $PAT | base64)` straight on /v2/,
            // without a trip to /token. It signs in as the PAT would at /token, with the
            // same scopes and checks.
            if let Some(pat) = bearer_pat(credentials) {
                let origin = Origin {
                    account: None,
                    address,
                };
                return Ok(self.sign_in(&pat, origin)?.identity);
            }
            // A pages session is a cookie on HOST, never a credential for the registry.
            self.token_identity(credentials, false)
        } else if scheme.eq_ignore_ascii_case("basic") {
            let (user, secret) = decode_basic(credentials).ok_or(AuthError::Malformed)?;
            let origin = Origin {
                account: Some(&user),
                address,
            };
            Ok(self.sign_in(&secret, origin)?.identity)
        } else {
            Err(AuthError::Malformed)
        }
    }

    /// Verifies a secret presented at sign-in by `origin`: a PAT, or a workload token.
    /// Failures count against `origin`'s budget; once it is spent, even the right secret
    /// is refused until it refills.
    pub fn sign_in(&self, secret: &str, origin: Origin<'_>) -> Result<SignedIn, AuthError> {
        self.limiter
            .check(origin)
            .map_err(|retry_after| AuthError::TooManyFailures { retry_after })?;
        let result = self.verify_secret(secret);
        if result.is_err() {
            // This attempt was checked and is answered as such; the next is refused.
            let _ = self.limiter.failed(origin);
        }
        let who = match &result {
            Ok(s) => s.identity.audit_name(),
            Err(_) => origin.account.unwrap_or("unknown").to_owned(),
        };
        let outcome = match &result {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.to_string(),
        };
        let entry = crate::audit::Entry {
            who: &who,
            from: origin.address,
            ..Default::default()
        };
        crate::audit::record(crate::audit::Action::SignIn, &entry, &outcome);
        result
    }

    fn verify_secret(&self, secret: &str) -> Result<SignedIn, AuthError> {
        if secret.starts_with(pat::PREFIX) {
            if !pat::is_well_formed(secret) {
                return Err(AuthError::BadCredentials);
            }
            let hash = pat::hash(secret);
            if !self.pats.load().by_hash.contains_key(&hash) {
                self.refresh_pats();
            }
            let pats = self.pats.load();
            let record = pats.by_hash.get(&hash).ok_or(AuthError::BadCredentials)?;
            if record.is_expired(jiff::Timestamp::now()) {
                return Err(AuthError::Expired);
            }
            let expires_at = record
                .expires_at
                .as_deref()
                .and_then(|e| e.parse::<jiff::Timestamp>().ok())
                .map(|t| t.as_second());
            return Ok(SignedIn {
                identity: Identity::user(&record.user, record.scopes),
                pat: Some(record.id.clone()),
                expires_at,
            });
        }
        if secret.split('.').count() == 3 && !self.issuers.is_empty() {
            let w = self.issuers.verify(secret)?;
            return Ok(SignedIn {
                identity: w.identity,
                pat: None,
                expires_at: Some(w.expires_at),
            });
        }
        Err(AuthError::BadCredentials)
    }

    /// Credentials in an `Authorization` header at sign-in from `address`: Basic with a
    /// PAT or workload token as the password, or a registry token being renewed.
    pub fn sign_in_header(
        &self,
        value: &HeaderValue,
        address: Option<IpAddr>,
    ) -> Result<SignedIn, AuthError> {
        let text = value.to_str().unwrap_or_default();
        match text.split_once(' ') {
            Some((scheme, b64)) if scheme.eq_ignore_ascii_case("basic") => {
                let (user, secret) = decode_basic(b64.trim()).ok_or(AuthError::Malformed)?;
                self.sign_in(
                    &secret,
                    Origin {
                        account: Some(&user),
                        address,
                    },
                )
            }
            _ => self
                .authenticate(Some(value), address)
                .map(|identity| SignedIn {
                    identity,
                    pat: None,
                    expires_at: None,
                }),
        }
    }

    /// A registry token for a signed-in caller.
    pub fn issue(&self, who: &SignedIn, audience: &str) -> Result<(String, Claims), TokenError> {
        let ttl = i64::try_from(self.token_ttl.as_secs()).unwrap_or(i64::MAX);
        jwt::issue(
            &self.keys.load(),
            &who.identity,
            who.pat.as_deref(),
            audience,
            ttl,
            who.expires_at,
        )
    }

    /// A pages session for a signed-in caller: a token like a registry token (signed
    /// with the same rotating keys, naming the PAT it came from) for `SESSION_AUDIENCE`,
    /// living `ttl` and no longer than the credential.
    pub fn issue_session(&self, who: &SignedIn, ttl: Duration) -> Result<String, TokenError> {
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
        let (token, _) = jwt::issue(
            &self.keys.load(),
            &who.identity,
            who.pat.as_deref(),
            SESSION_AUDIENCE,
            ttl,
            who.expires_at,
        )?;
        Ok(token)
    }

    /// Who a pages session stands for, checked on every request: a revoked or expired
    /// PAT ends its sessions at once, and a registry token is no session.
    pub fn session(&self, token: &str) -> Result<Identity, AuthError> {
        self.token_identity(token, true)
    }

    /// Who a token this registry signed stands for: a session (`session`) or a registry
    /// token (not), each refused as the other; its PAT is checked on every use.
    fn token_identity(&self, token: &str, session: bool) -> Result<Identity, AuthError> {
        let claims = self.verify_registry_token(token)?;
        if (claims.aud == SESSION_AUDIENCE) != session {
            return Err(AuthError::Malformed);
        }
        if let Some(pat) = &claims.berth.pat {
            self.check_pat_id(pat)?;
        }
        Ok(claims.identity())
    }

    fn verify_registry_token(&self, token: &str) -> Result<Arc<Claims>, AuthError> {
        if let Some(claims) = self.verified.get(token) {
            if claims.exp > jiff::Timestamp::now().as_second() {
                return Ok(claims);
            }
            self.verified.invalidate(token);
            return Err(AuthError::Expired);
        }
        let claims = Arc::new(jwt::verify(&self.keys.load(), token)?);
        self.verified.insert(token.to_owned(), claims.clone());
        Ok(claims)
    }

    /// The PAT behind a registry token must still exist and be current.
    fn check_pat_id(&self, id: &str) -> Result<(), AuthError> {
        let pats = self.pats.load();
        let record = pats
            .id_to_hash
            .get(id)
            .and_then(|h| pats.by_hash.get(h))
            .ok_or(AuthError::Revoked)?;
        if record.is_expired(jiff::Timestamp::now()) {
            return Err(AuthError::Expired);
        }
        Ok(())
    }
}

/// `user:secret` from a Basic credential.
/// The PAT in a Bearer credential that is one base64-encoded, as GHCR takes it (with
/// the newline `echo` adds); `None` for anything else (a registry token). A PAT as it
/// is is not a Bearer credential, as on GHCR.
fn bearer_pat(credentials: &str) -> Option<String> {
    // A registry token (a JWT) has dots, which base64 never does.
    if credentials.contains('.') {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let text = text.trim_end_matches(['\n', '\r']);
    text.starts_with(pat::PREFIX).then(|| text.to_owned())
}

fn decode_basic(b64: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, secret) = text.split_once(':')?;
    Some((user.to_owned(), secret.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_pat_is_read_base64_with_echo_s_newline() {
        let pat = "bpat_0123456789abcdef";
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert_eq!(bearer_pat(pat), None, "not as it is");
        assert_eq!(bearer_pat(&b64(pat)).as_deref(), Some(pat));
        assert_eq!(bearer_pat(&b64(&format!("{pat}\n"))).as_deref(), Some(pat));
        assert_eq!(
            bearer_pat("eyJhbGciOiJFUzI1NiJ9.e30.sig"),
            None,
            "a registry token"
        );
        assert_eq!(bearer_pat(&b64("not a pat")), None);
        assert_eq!(bearer_pat("%%%"), None);
    }
}
