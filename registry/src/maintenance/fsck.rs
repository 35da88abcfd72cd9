//! `berth fsck`: is everything the registry serves, or can restore, still there?
//!
//! For every repository: each tag names a linked manifest; each linked manifest's bytes
//! are stored and parse; its config and layers are stored with the sizes it declares and
//! linked into the repository (a pull asks for them there); an index's children are
//! linked manifests; each layer link has its blob. Every deleted version still
//! restorable has its manifest and blobs. Sizes are checked for every blob; digests (the
//! bytes read back and hashed) for a sample, or for all with `full`. Read-only: it
//! reports, it repairs nothing.

use std::collections::HashSet;
use std::fmt;

use futures_util::TryStreamExt;

use super::walk::{self, ManifestLink, read_blob};
use crate::content::{Content, Result, keys};
use crate::oci::digest::{Digest, DigestHasher};
use crate::oci::manifest::Manifest;
use crate::oci::reference::{RepoName, Tag};
use crate::storage::Storage;

/// One blob in this many has its digest checked without `full`.
const SAMPLE_ONE_IN: u32 = 16;

/// What a check found wrong; each names the repository and the object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    TagUnreadable {
        repo: String,
        tag: String,
    },
    TagToUnlinked {
        repo: String,
        tag: String,
        digest: Digest,
    },
    ManifestMissing {
        repo: String,
        digest: Digest,
    },
    ManifestUnparsable {
        repo: String,
        digest: Digest,
        error: String,
    },
    BlobMissing {
        repo: String,
        manifest: Digest,
        blob: Digest,
    },
    BlobUnlinked {
        repo: String,
        manifest: Digest,
        blob: Digest,
    },
    ChildMissing {
        repo: String,
        index: Digest,
        child: Digest,
    },
    WrongSize {
        blob: Digest,
        declared: u64,
        stored: u64,
    },
    WrongDigest {
        blob: Digest,
        hashed: Digest,
    },
    DanglingLink {
        repo: String,
        blob: Digest,
    },
    RecordUnreadable {
        key: String,
        error: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TagUnreadable { repo, tag } => {
                write!(f, "{repo}:{tag}: the tag does not hold a digest")
            }
            Problem::TagToUnlinked { repo, tag, digest } => {
                write!(
                    f,
                    "{repo}:{tag}: names {digest}, which is not a manifest of {repo}"
                )
            }
            Problem::ManifestMissing { repo, digest } => {
                write!(
                    f,
                    "{repo}@{digest}: the manifest is linked but its bytes are not stored"
                )
            }
            Problem::ManifestUnparsable {
                repo,
                digest,
                error,
            } => {
                write!(f, "{repo}@{digest}: the manifest does not parse: {error}")
            }
            Problem::BlobMissing {
                repo,
                manifest,
                blob,
            } => {
                write!(
                    f,
                    "{repo}@{manifest}: needs blob {blob}, which is not stored"
                )
            }
            Problem::BlobUnlinked {
                repo,
                manifest,
                blob,
            } => {
                write!(
                    f,
                    "{repo}@{manifest}: needs blob {blob}, which is not linked into {repo}"
                )
            }
            Problem::ChildMissing { repo, index, child } => {
                write!(
                    f,
                    "{repo}@{index}: lists manifest {child}, which is not a manifest of {repo}"
                )
            }
            Problem::WrongSize {
                blob,
                declared,
                stored,
            } => {
                write!(f, "blob {blob}: {stored} bytes stored, {declared} declared")
            }
            Problem::WrongDigest { blob, hashed } => {
                write!(f, "blob {blob}: its bytes hash to {hashed}")
            }
            Problem::DanglingLink { repo, blob } => {
                write!(f, "{repo}: links blob {blob}, which is not stored")
            }
            Problem::RecordUnreadable { key, error } => {
                write!(f, "{key}: unreadable record: {error}")
            }
        }
    }
}

/// What a check looked at, and what it found.
#[derive(Debug, Default)]
pub struct Report {
    pub repositories: u64,
    pub tags: u64,
    pub manifests: u64,
    /// Deleted versions still restorable, checked like live ones.
    pub deleted_versions: u64,
    /// Distinct blobs whose size was checked.
    pub blobs: u64,
    /// Of those, the ones read back and hashed, and their bytes.
    pub blobs_hashed: u64,
    pub bytes_hashed: u64,
    pub problems: Vec<Problem>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks the whole store behind `content`; `full` hashes every blob.
pub async fn check(content: &Content, full: bool) -> Result<Report> {
    let mut fsck = Fsck {
        storage: content.storage().as_ref(),
        content,
        full,
        report: Report::default(),
        sized: HashSet::new(),
    };
    for repo in walk::names(fsck.storage).await? {
        fsck.repository(&repo).await?;
    }
    Ok(fsck.report)
}

struct Fsck<'a> {
    storage: &'a dyn Storage,
    content: &'a Content,
    full: bool,
    report: Report,
    /// Blobs already checked (a layer shared by many manifests is checked once).
    sized: HashSet<Digest>,
}

impl Fsck<'_> {
    async fn repository(&mut self, repo: &RepoName) -> Result<()> {
        self.report.repositories += 1;
        let name = repo.as_str().to_owned();
        let manifests: HashSet<Digest> = self
            .content
            .manifest_digests(repo)
            .await?
            .into_iter()
            .collect();
        let layers = walk::layer_links(self.storage, repo).await?;

        for tag in self.storage.list(&keys::tags(repo)).await? {
            self.report.tags += 1;
            let digest = match Tag::parse(&tag) {
                Ok(t) => self.storage.get(&keys::tag(repo, &t)).await?,
                Err(_) => None,
            }
            .and_then(|raw| {
                std::str::from_utf8(&raw)
                    .ok()?
                    .trim()
                    .parse::<Digest>()
                    .ok()
            });
            match digest {
                None => self.problem(Problem::TagUnreadable {
                    repo: name.clone(),
                    tag,
                }),
                Some(d) if !manifests.contains(&d) => self.problem(Problem::TagToUnlinked {
                    repo: name.clone(),
                    tag,
                    digest: d,
                }),
                Some(_) => {}
            }
        }

        for digest in &manifests {
            self.report.manifests += 1;
            let key = keys::manifest_link(repo, digest);
            let link = self.storage.get(&key).await?.unwrap_or_default();
            let media_type = match serde_json::from_slice::<ManifestLink>(&link) {
                Ok(l) => l.media_type,
                Err(e) => {
                    self.problem(Problem::RecordUnreadable {
                        key,
                        error: e.to_string(),
                    });
                    continue;
                }
            };
            let Some(bytes) = read_blob(self.storage, digest).await? else {
                self.problem(Problem::ManifestMissing {
                    repo: name.clone(),
                    digest: digest.clone(),
                });
                continue;
            };
            self.manifest(
                repo,
                digest,
                Some(&media_type),
                &bytes,
                Some((&manifests, &layers)),
            )
            .await?;
        }

        for blob in &layers {
            if self.storage.blob_len(blob).await?.is_none() {
                self.problem(Problem::DanglingLink {
                    repo: name.clone(),
                    blob: blob.clone(),
                });
            }
        }

        self.deleted_versions(repo).await
    }

    /// The checks of one manifest's references; `linked` (the repository's manifests and
    /// layer links) for a live one, whose references must be linked too.
    async fn manifest(
        &mut self,
        repo: &RepoName,
        digest: &Digest,
        media_type: Option<&str>,
        bytes: &[u8],
        linked: Option<(&HashSet<Digest>, &HashSet<Digest>)>,
    ) -> Result<()> {
        let name = repo.as_str().to_owned();
        let manifest = match Manifest::parse(media_type, bytes) {
            Ok(m) => m,
            Err(e) => {
                self.problem(Problem::ManifestUnparsable {
                    repo: name,
                    digest: digest.clone(),
                    error: e.to_string(),
                });
                return Ok(());
            }
        };
        for blob in manifest.required_blobs() {
            if !self.blob(&blob.digest, blob.size).await? {
                self.problem(Problem::BlobMissing {
                    repo: name.clone(),
                    manifest: digest.clone(),
                    blob: blob.digest.clone(),
                });
            } else if let Some((_, layers)) = linked
                && !layers.contains(&blob.digest)
            {
                self.problem(Problem::BlobUnlinked {
                    repo: name.clone(),
                    manifest: digest.clone(),
                    blob: blob.digest.clone(),
                });
            }
        }
        for child in &manifest.manifests {
            let present = match linked {
                Some((manifests, _)) => manifests.contains(&child.digest),
                // A deleted index's children may be deleted with it: their bytes suffice.
                None => self.blob(&child.digest, child.size).await?,
            };
            if !present {
                self.problem(Problem::ChildMissing {
                    repo: name.clone(),
                    index: digest.clone(),
                    child: child.digest.clone(),
                });
            }
        }
        Ok(())
    }

    /// Whether `digest` is stored; a wrong size or (when sampled) digest is a problem.
    async fn blob(&mut self, digest: &Digest, declared: u64) -> Result<bool> {
        let Some(stored) = self.storage.blob_len(digest).await? else {
            return Ok(false);
        };
        if !self.sized.insert(digest.clone()) {
            return Ok(true);
        }
        self.report.blobs += 1;
        if stored != declared {
            self.problem(Problem::WrongSize {
                blob: digest.clone(),
                declared,
                stored,
            });
            return Ok(true);
        }
        if self.full || rand::random_ratio(1, SAMPLE_ONE_IN) {
            let hashed = self.hash(digest, stored).await?;
            if let Some(hashed) = hashed.filter(|h| h != digest) {
                self.problem(Problem::WrongDigest {
                    blob: digest.clone(),
                    hashed,
                });
            }
        }
        Ok(true)
    }

    async fn hash(&mut self, digest: &Digest, len: u64) -> Result<Option<Digest>> {
        let Some(mut stream) = self.storage.blob_read(digest, 0..len).await? else {
            return Ok(None);
        };
        let mut hasher = DigestHasher::new(digest.algorithm());
        while let Some(chunk) = stream
            .try_next()
            .await
            .map_err(crate::storage::StorageError::Io)?
        {
            hasher.update(&chunk);
            self.report.bytes_hashed += chunk.len() as u64;
        }
        self.report.blobs_hashed += 1;
        Ok(Some(hasher.finish()))
    }

    /// Every deleted version at `repo`'s name: restorable until garbage collection
    /// removes its record, so its bytes must still be there.
    async fn deleted_versions(&mut self, repo: &RepoName) -> Result<()> {
        for (key, version) in walk::deleted_versions(self.storage, repo).await? {
            let version = match version {
                Ok(v) => v,
                Err(error) => {
                    self.problem(Problem::RecordUnreadable { key, error });
                    continue;
                }
            };
            self.report.deleted_versions += 1;
            match read_blob(self.storage, &version.digest).await? {
                None => self.problem(Problem::ManifestMissing {
                    repo: repo.as_str().to_owned(),
                    digest: version.digest,
                }),
                Some(bytes) => {
                    let media_type = version.media_type.as_deref();
                    self.manifest(repo, &version.digest, media_type, &bytes, None)
                        .await?
                }
            }
        }
        Ok(())
    }

    fn problem(&mut self, p: Problem) {
        self.report.problems.push(p);
    }
}
