//! The signed state in an upload's `Location` (`?_state=`): the offset and start time
//! of the session, with an HMAC over them, the repository and the session id.
//!
//! Any replica holding the key can check a request's state without trusting the client
//! and without a storage round trip: a forged or borrowed id is refused, and an append
//! without `Content-Range` is checked against the offset the client was last told (a
//! client retrying a request that did land gets a 416 with the real offset, rather than
//! appending its bytes twice). The session's bytes and hash state stay in storage.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore as _;
use sha2::Sha256;

/// Domain separation, so this key's MACs mean nothing elsewhere.
const CONTEXT: &[u8] = b"berth upload state v1";
/// Keys shorter than this are refused.
pub const MIN_KEY_BYTES: usize = 16;

/// What an upload URL vouches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedState {
    pub offset: u64,
    pub started_at_ms: u64,
}

/// The HMAC key for upload states.
#[derive(Clone)]
pub struct UploadStateKey(Vec<u8>);

impl std::fmt::Debug for UploadStateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UploadStateKey(..)")
    }
}

impl UploadStateKey {
    /// A key from secret bytes (a Secret's contents); `None` if it is too short.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Option<Self> {
        let bytes = bytes.into();
        (bytes.len() >= MIN_KEY_BYTES).then_some(UploadStateKey(bytes))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        UploadStateKey(bytes)
    }

    /// The key as stored: hex.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.0)
    }

    /// A key stored with [`UploadStateKey::to_hex`].
    pub fn from_hex(text: &str) -> Option<Self> {
        hex::decode(text.trim()).ok().and_then(Self::new)
    }

    /// The token for `state` of session `id` in `repo`: `OFFSET.STARTED.MAC`.
    pub fn sign(&self, repo: &str, id: &str, state: SignedState) -> String {
        let mac = self.mac(repo, id, state).finalize().into_bytes();
        format!(
            "{}.{}.{}",
            state.offset,
            state.started_at_ms,
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// The state a token vouches for, if this key signed it for `repo` and `id`.
    pub fn verify(&self, repo: &str, id: &str, token: &str) -> Option<SignedState> {
        let mut fields = token.splitn(3, '.');
        let state = SignedState {
            offset: canonical(fields.next()?)?,
            started_at_ms: canonical(fields.next()?)?,
        };
        let tag = URL_SAFE_NO_PAD.decode(fields.next()?).ok()?;
        self.mac(repo, id, state).verify_slice(&tag).ok()?;
        Some(state)
    }

    fn mac(&self, repo: &str, id: &str, state: SignedState) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        // Length-prefixed fields, so no two inputs serialize alike.
        for field in [CONTEXT, repo.as_bytes(), id.as_bytes()] {
            mac.update(&(field.len() as u64).to_be_bytes());
            mac.update(field);
        }
        mac.update(&state.offset.to_be_bytes());
        mac.update(&state.started_at_ms.to_be_bytes());
        mac
    }
}

/// A number written as `sign` writes it. The MAC covers the values, not their text, so
/// without this `00.…` or `+0.…` would verify as well as `0.…` (found by the fuzz target
/// `upload_state`): harmless, since the state is the same, but a token should have one
/// spelling.
fn canonical(field: &str) -> Option<u64> {
    let n: u64 = field.parse().ok()?;
    (n.to_string() == field).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATE: SignedState = SignedState {
        offset: 1234,
        started_at_ms: 1_700_000_000_000,
    };

    #[test]
    fn a_token_has_one_spelling() {
        let key = UploadStateKey::generate();
        let token = key.sign("acme/app", "id-1", STATE);
        let (_, mac) = token.rsplit_once('.').unwrap();
        for other in [
            format!("01234.1700000000000.{mac}"),
            format!("+1234.1700000000000.{mac}"),
            format!("1234.+1700000000000.{mac}"),
        ] {
            assert_eq!(key.verify("acme/app", "id-1", &other), None, "{other}");
        }
        assert_eq!(key.verify("acme/app", "id-1", &token), Some(STATE));
    }

    #[test]
    fn a_token_verifies_only_for_its_repository_id_and_key() {
        let key = UploadStateKey::generate();
        let token = key.sign("acme/app", "id-1", STATE);
        assert!(token.starts_with("1234.1700000000000."), "{token}");
        assert_eq!(key.verify("acme/app", "id-1", &token), Some(STATE));
        assert_eq!(key.verify("acme/other", "id-1", &token), None);
        assert_eq!(key.verify("acme/app", "id-2", &token), None);
        assert_eq!(
            UploadStateKey::generate().verify("acme/app", "id-1", &token),
            None
        );
    }

    #[test]
    fn tampered_or_malformed_tokens_are_refused() {
        let key = UploadStateKey::generate();
        let token = key.sign("acme/app", "id", STATE);
        let forged = token.replacen("1234", "9999", 1);
        for bad in [
            forged.as_str(),
            "",
            "1.2",
            "1.2.",
            "x.2.AAAA",
            &token[..token.len() - 2],
        ] {
            assert_eq!(key.verify("acme/app", "id", bad), None, "{bad:?}");
        }
    }

    #[test]
    fn keys_round_trip_through_hex_and_refuse_short_secrets() {
        let key = UploadStateKey::generate();
        let again = UploadStateKey::from_hex(&format!("{}\n", key.to_hex())).unwrap();
        let token = key.sign("a/b", "i", STATE);
        assert_eq!(again.verify("a/b", "i", &token), Some(STATE));
        assert!(UploadStateKey::new(b"short".to_vec()).is_none());
        assert!(UploadStateKey::from_hex("not hex").is_none());
    }

    #[test]
    fn tokens_are_url_safe() {
        let token = UploadStateKey::generate().sign("a/b", "i", STATE);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)),
            "{token}"
        );
    }
}
