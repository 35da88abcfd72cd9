//! PATs in standalone mode: one JSON file per token under `DATA/auth/tokens/`, written by
//! `berth token create` and watched by the server, so a revocation takes effect on the
//! next request.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::identity::Scopes;
use super::pat::PatRecord;

/// The token directory of a data dir.
pub struct TokenDir {
    dir: PathBuf,
}

impl TokenDir {
    pub fn new(data_dir: &Path) -> TokenDir {
        TokenDir {
            dir: data_dir.join("auth").join("tokens"),
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Creates a token for `user`; returns its record and the token (shown once).
    pub fn create(
        &self,
        user: &str,
        scopes: Scopes,
        ttl: Option<Duration>,
    ) -> io::Result<(PatRecord, String)> {
        let (record, token) = PatRecord::new(user, scopes, ttl);
        let json = serde_json::to_vec_pretty(&record).map_err(io::Error::other)?;
        write_private(&self.dir, &format!("{}.json", record.id), &json)?;
        Ok((record, token))
    }

    /// Every stored token, oldest first. Unreadable files are skipped with a warning.
    pub fn list(&self) -> io::Result<Vec<PatRecord>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            match fs::read(&path).map(|b| serde_json::from_slice::<PatRecord>(&b)) {
                Ok(Ok(r)) => out.push(r),
                Ok(Err(e)) => {
                    tracing::warn!(file = %path.display(), error = %e, "ignoring an unreadable token file")
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {} // revoked meanwhile
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(out)
    }

    /// Deletes token `id`; `false` if there is none.
    pub fn revoke(&self, id: &str) -> io::Result<bool> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(false);
        }
        match fs::remove_file(self.dir.join(format!("{id}.json"))) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

/// Writes `name` in `dir` atomically, readable by the owner only.
pub(crate) fn write_private(dir: &Path, name: &str, data: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.tmp-{}", uuid::Uuid::new_v4()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    fs::rename(&tmp, dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_list_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenDir::new(dir.path());
        assert!(store.list().unwrap().is_empty());
        let (a, token) = store.create("alice", Scopes::ALL, None).unwrap();
        let (b, _) = store
            .create("bob", Scopes::parse("read:packages").unwrap(), None)
            .unwrap();
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed.contains(&a) && listed.contains(&b));
        // Only the hash is stored.
        let raw = fs::read_to_string(store.path().join(format!("{}.json", a.id))).unwrap();
        assert!(!raw.contains(&token));
        assert!(store.revoke(&a.id).unwrap());
        assert!(!store.revoke(&a.id).unwrap());
        assert!(!store.revoke("../../etc/passwd").unwrap());
        assert_eq!(store.list().unwrap(), vec![b]);
    }
}
