//! Personal access tokens: random, with a recognisable prefix and a checksum so secret
//! scanners can spot them, stored only as a SHA-256 hash. (The token carries 178 bits of
//! randomness, so a fast hash is enough: there is nothing to brute-force.)

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::identity::Scopes;

/// Every PAT starts with this.
pub const PREFIX: &str = "bpat_";
const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 30;
const CHECKSUM_LEN: usize = 6;

/// A new token: the prefix, 30 random base62 characters, and a 6-character base62
/// CRC-32 of those characters.
pub fn generate() -> String {
    let mut rng = rand::rng();
    let random: String = (0..RANDOM_LEN)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{PREFIX}{random}{}", checksum(&random))
}

fn checksum(random: &str) -> String {
    let mut n = crc32fast::hash(random.as_bytes());
    let mut out = [b'0'; CHECKSUM_LEN];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(out.to_vec()).expect("ascii")
}

/// Whether `s` has a PAT's shape and a valid checksum (no lookup: this is what a secret
/// scanner can check offline).
pub fn is_well_formed(s: &str) -> bool {
    let Some(body) = s.strip_prefix(PREFIX) else {
        return false;
    };
    if body.len() != RANDOM_LEN + CHECKSUM_LEN || !body.bytes().all(|b| ALPHABET.contains(&b)) {
        return false;
    }
    let (random, sum) = body.split_at(RANDOM_LEN);
    checksum(random) == sum
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A PAT as stored: everything but the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatRecord {
    /// A short public id, for listing and revoking.
    pub id: String,
    pub user: String,
    pub scopes: Scopes,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339; none means it never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// SHA-256 of the token, hex.
    pub hash: String,
}

impl PatRecord {
    /// A record for a new token of `user`, valid for `ttl` if given.
    pub fn new(
        user: &str,
        scopes: Scopes,
        ttl: Option<std::time::Duration>,
    ) -> (PatRecord, String) {
        let token = generate();
        let now = jiff::Timestamp::now();
        let expires_at = ttl.map(|d| {
            let span = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX);
            now.saturating_add(span)
                .expect("saturating add of a duration")
                .to_string()
        });
        let id: String = {
            let mut rng = rand::rng();
            (0..12)
                .map(|_| ALPHABET[rng.random_range(0..36)] as char)
                .collect::<String>()
                .to_lowercase()
        };
        let record = PatRecord {
            id,
            user: user.to_owned(),
            scopes,
            created_at: now.to_string(),
            expires_at,
            hash: hash(&token),
        };
        (record, token)
    }

    /// Whether the token has expired at `now`. An unreadable expiry counts as expired.
    pub fn is_expired(&self, now: jiff::Timestamp) -> bool {
        self.expires_at
            .as_deref()
            .is_some_and(|e| e.parse::<jiff::Timestamp>().map_or(true, |e| e <= now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_prefix_length_and_checksum() {
        let t = generate();
        assert!(t.starts_with(PREFIX));
        assert_eq!(t.len(), PREFIX.len() + 36);
        assert!(is_well_formed(&t));
        // One changed character breaks the checksum.
        let mut broken = t.clone().into_bytes();
        let i = PREFIX.len() + 3;
        broken[i] = if broken[i] == b'a' { b'b' } else { b'a' };
        assert!(!is_well_formed(&String::from_utf8(broken).unwrap()));
        assert!(!is_well_formed("bpat_short"));
        assert!(!is_well_formed("ghp_0123456789012345678901234567890123456"));
        assert_ne!(generate(), t);
    }

    #[test]
    fn records_expire() {
        let (r, token) = PatRecord::new(
            "alice",
            Scopes::ALL,
            Some(std::time::Duration::from_secs(60)),
        );
        assert_eq!(r.hash, hash(&token));
        let now = jiff::Timestamp::now();
        assert!(!r.is_expired(now));
        assert!(r.is_expired(now + jiff::SignedDuration::from_secs(61)));
        let (forever, _) = PatRecord::new("alice", Scopes::ALL, None);
        assert!(!forever.is_expired(now + jiff::SignedDuration::from_hours(1_000_000)));
    }
}
