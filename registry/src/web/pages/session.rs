//! Who is looking at a page: the session cookie a sign-in set, and the CSRF tokens the
//! forms carry.
//!
//! The session is a token like a registry token (signed with the rotating keys, naming
//! the PAT it came from: `Authenticator::session` checks the PAT on every request, so
//! revoking it ends its sessions at once) in a cookie that is host-only on `HOST`
//! (no `Domain`, so the containers host never gets it), `HttpOnly`, `SameSite=Strict`,
//! and `Secure` when the site is served over https. A form's CSRF token is derived from
//! the session it belongs to; the sign-in form's, before there is a session, is a
//! random value in a short-lived cookie that the form must repeat.

use std::time::Duration;

use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use sha2::{Digest as _, Sha256};

use crate::auth::identity::Identity;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "berth_session";
/// The sign-in form's CSRF cookie.
pub const SIGN_IN_COOKIE: &str = "berth_sign_in";
/// How long a session lives (no longer than the PAT it came from).
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// The viewer of a page.
pub struct Viewer {
    pub identity: Identity,
    /// The session's token, when signed in.
    session: Option<String>,
}

impl Viewer {
    pub fn anonymous() -> Viewer {
        Viewer {
            identity: Identity::anonymous(),
            session: None,
        }
    }

    /// The viewer behind `parts`' session cookie; anonymous without a valid one.
    pub fn of(app: &AppState, parts: &Parts) -> Viewer {
        let session = cookie(parts, SESSION_COOKIE);
        match session.as_deref().map(|t| app.auth.session(t)) {
            Some(Ok(identity)) => Viewer { identity, session },
            _ => Viewer::anonymous(),
        }
    }

    /// The signed-in user's name (or a workload's repository), `None` when anonymous.
    pub fn name(&self) -> Option<&str> {
        self.session.as_ref()?;
        self.identity.user_name().or(self.identity.repository())
    }

    /// The CSRF token this viewer's forms carry (`None` when anonymous).
    pub fn csrf(&self) -> Option<String> {
        self.session.as_deref().map(csrf_of)
    }

    /// Whether `token`, from a form, is this viewer's.
    pub fn csrf_matches(&self, token: Option<&str>) -> bool {
        matches!((self.csrf(), token), (Some(want), Some(got)) if constant_eq(&want, got))
    }
}

/// The CSRF token of a session: a hash of it, so it needs no storage and a page's form
/// cannot be replayed under another session.
fn csrf_of(session: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"berth csrf\0")
        .chain_update(session.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

/// Compares without stopping at the first difference (`subtle`).
pub fn constant_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of cookie `name` in the request, if any.
pub fn cookie(parts: &Parts, name: &str) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// A `Set-Cookie` for `name=value` on `path`, living `max_age` (zero clears it).
pub fn set_cookie(
    app: &AppState,
    parts: &Parts,
    name: &str,
    value: &str,
    path: &str,
    max_age: Duration,
) -> HeaderValue {
    let secure = crate::hosts::site_base(&app.hosts, parts).starts_with("https://");
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite=Strict{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&text).expect("cookie values are tokens and hex")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_belongs_to_its_session() {
        assert_eq!(csrf_of("a"), csrf_of("a"));
        assert_ne!(csrf_of("a"), csrf_of("b"));
        assert_eq!(csrf_of("a").len(), 32);
        assert!(constant_eq("abc", "abc"));
        assert!(!constant_eq("abc", "abd"));
        assert!(!constant_eq("abc", "ab"));
    }
}
