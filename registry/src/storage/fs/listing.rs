//! Directory listings kept with the directory's modification time, so that listing a
//! large directory again (the 10,000 version records of a package, once per page) costs
//! one `stat` while nothing changed. Exact across processes on a local filesystem: any
//! entry created, renamed in or removed changes the directory's mtime.
//!
//! The kernel stamps mtimes from a coarse clock, so two changes within one tick can
//! leave the same mtime. A listing is therefore kept only when it was taken well after
//! the directory's last change (git's "racily clean" rule): any later change then
//! stamps a strictly newer mtime.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Far beyond any mtime granularity of a local filesystem.
const RACY: Duration = Duration::from_millis(100);
/// Entries (names) held at most, over all cached directories.
const NAMES: u64 = 1_000_000;

#[derive(Clone)]
struct Listed {
    mtime: SystemTime,
    names: Arc<Vec<String>>,
}

/// The cache; cheap to clone (shared).
#[derive(Clone)]
pub(super) struct Listings {
    cache: moka::sync::Cache<PathBuf, Listed>,
}

impl std::fmt::Debug for Listings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listings")
            .field("directories", &self.cache.entry_count())
            .finish()
    }
}

impl Default for Listings {
    fn default() -> Self {
        Listings {
            cache: moka::sync::Cache::builder()
                .max_capacity(NAMES)
                .weigher(|_, l: &Listed| u32::try_from(l.names.len()).unwrap_or(u32::MAX).max(1))
                .build(),
        }
    }
}

impl Listings {
    /// The names in `dir` (empty if it does not exist); blocking.
    pub(super) fn list(&self, dir: &Path) -> io::Result<Arc<Vec<String>>> {
        let mtime = match super::not_found_as_none(fs::metadata(dir))? {
            Some(m) if m.is_dir() => m.modified()?,
            // Missing, or an object: nothing is under it.
            _ => return Ok(Arc::default()),
        };
        if let Some(l) = self.cache.get(dir)
            && l.mtime == mtime
        {
            return Ok(l.names);
        }
        let listed_at = SystemTime::now();
        let names = Arc::new(read(dir)?);
        if listed_at.duration_since(mtime).is_ok_and(|age| age > RACY) {
            self.cache.insert(
                dir.to_owned(),
                Listed {
                    mtime,
                    names: names.clone(),
                },
            );
        }
        Ok(names)
    }
}

/// The names in `dir`, read now (empty if it does not exist).
pub(super) fn read(dir: &Path) -> io::Result<Vec<String>> {
    let Some(entries) = super::not_found_as_none(fs::read_dir(dir))? else {
        return Ok(Vec::new());
    };
    entries
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_listing_is_answered_until_the_directory_changes() {
        let dir = tempfile::tempdir().unwrap();
        let listings = Listings::default();
        fs::write(dir.path().join("a"), b"").unwrap();
        // Old enough to be kept.
        let old = SystemTime::now() - Duration::from_secs(10);
        fs::File::open(dir.path())
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_eq!(*listings.list(dir.path()).unwrap(), ["a"]);
        assert!(listings.cache.get(dir.path()).is_some(), "kept");
        fs::write(dir.path().join("b"), b"").unwrap();
        let mut names = (*listings.list(dir.path()).unwrap()).clone();
        names.sort();
        assert_eq!(names, ["a", "b"], "a new entry changes the mtime");
        assert!(
            listings
                .cache
                .get(dir.path())
                .is_some_and(|l| l.names.len() == 1),
            "a listing taken right after a change is not kept"
        );
        fs::remove_file(dir.path().join("a")).unwrap();
        assert_eq!(*listings.list(dir.path()).unwrap(), ["b"]);
        assert!(listings.list(&dir.path().join("none")).unwrap().is_empty());
    }
}
