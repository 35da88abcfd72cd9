//! The registry's token-signing keys: ECDSA P-256 PEM files in a directory
//! (`DATA/auth/keys/` standalone; a Secret's mount in a cluster). The newest file signs;
//! every file verifies, so a new key can be added and the old one kept until the tokens
//! it signed expire: rotation without downtime.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;

use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest as _, Sha256};

use super::store::write_private;

/// The keys in force.
#[derive(Default)]
pub struct SigningKeys {
    signer: Option<(String, EncodingKey)>,
    verifiers: HashMap<String, DecodingKey>,
}

impl SigningKeys {
    /// Loads every `*.pem` in `dir`; files sort by name and the last one signs.
    pub fn load(dir: &Path) -> io::Result<SigningKeys> {
        let mut files: Vec<_> = match fs::read_dir(dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "pem"))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        files.sort();
        let mut keys = SigningKeys::default();
        for path in files {
            let pem = fs::read_to_string(&path)?;
            keys.add_pem(&pem).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            })?;
        }
        Ok(keys)
    }

    /// Keys from PEM texts held in memory, in signing order (the last one signs).
    pub fn from_pems<'a>(pems: impl IntoIterator<Item = &'a str>) -> Result<SigningKeys, String> {
        let mut keys = SigningKeys::default();
        for pem in pems {
            keys.add_pem(pem)?;
        }
        Ok(keys)
    }

    fn add_pem(&mut self, pem: &str) -> Result<(), String> {
        let pair = rcgen::KeyPair::from_pem(pem).map_err(|e| e.to_string())?;
        let kid = key_id(pair.public_key_raw());
        let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
        let decoding = DecodingKey::from_ec_pem(pair.public_key_pem().as_bytes())
            .map_err(|e| e.to_string())?;
        self.verifiers.insert(kid.clone(), decoding);
        self.signer = Some((kid, encoding));
        Ok(())
    }

    /// Writes a new key into `dir`, which becomes the signer; returns its key id.
    pub fn generate(dir: &Path) -> io::Result<String> {
        // Named by creation time, and always after every key already there.
        let newest = fs::read_dir(dir)
            .into_iter()
            .flatten()
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .split('-')
                    .next()?
                    .parse::<i64>()
                    .ok()
            })
            .max()
            .unwrap_or(0);
        let (name, pem, kid) = new_key_file(newest + 1)?;
        write_private(dir, &name, pem.as_bytes())?;
        Ok(kid)
    }

    /// Loads `dir`, first generating a key if it holds none.
    pub fn load_or_generate(dir: &Path) -> io::Result<SigningKeys> {
        let keys = SigningKeys::load(dir)?;
        if keys.signer.is_some() {
            return Ok(keys);
        }
        SigningKeys::generate(dir)?;
        SigningKeys::load(dir)
    }

    pub fn signer(&self) -> Option<(&str, &EncodingKey)> {
        self.signer.as_ref().map(|(k, e)| (k.as_str(), e))
    }

    pub fn verifier(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifiers.get(kid)
    }

    pub fn len(&self) -> usize {
        self.verifiers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.verifiers.is_empty()
    }
}

/// A new key as a file: its name (creation time, at least `not_before`, then the key
/// id), its PEM, and its key id. For keys kept elsewhere (a Secret).
pub fn new_key_file(not_before: i64) -> io::Result<(String, String, String)> {
    let pair =
        rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(io::Error::other)?;
    let kid = key_id(pair.public_key_raw());
    let stamp = jiff::Timestamp::now().as_millisecond().max(not_before);
    Ok((format!("{stamp:013}-{kid}.pem"), pair.serialize_pem(), kid))
}

/// A key id: the first 16 hex digits of the SHA-256 of the public key.
fn key_id(public_der: &[u8]) -> String {
    hex::encode(&Sha256::digest(public_der)[..8])
}
