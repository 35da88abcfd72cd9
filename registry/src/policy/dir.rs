//! Standalone policy: Package and Organization YAML files in a directory, watched, so an
//! edit takes effect within moments and without a restart.
//!
//! ```text
//! POLICY_DIR/*.yaml                             spec files: the user's (and Git's)
//! POLICY_DIR/.status/<owner>/<name>/status.yaml package status: the registry's
//! ```
//!
//! Spec and status live apart, as in Kubernetes, so the registry never rewrites a file a
//! user edits (and its comments), and a user edit never loses a package's publisher. A
//! file that fails to parse is reported and its last good content stays in force.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use async_trait::async_trait;
use berth_crds::organization::Organization;
use berth_crds::package::{Package, PackageSpec, PackageStatus};
use kube::ResourceExt;
use serde_json::Value;

use super::snapshot::{PolicySettings, PolicySnapshot};
use super::source::{KeptElsewhere, PolicySource, PolicyWriteError, Setting};

const STATUS_DIR: &str = ".status";

/// The policy of a directory.
#[derive(Clone)]
pub struct DirSource {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    settings: PolicySettings,
    files: Mutex<BTreeMap<PathBuf, Parsed>>,
    snapshot: ArcSwap<PolicySnapshot>,
    problems: ArcSwap<Vec<String>>,
    synced: AtomicBool,
    watcher: Mutex<Option<notify::RecommendedWatcher>>,
}

#[derive(Clone, Default)]
struct Parsed {
    orgs: Vec<Organization>,
    packages: Vec<Package>,
    error: Option<String>,
}

impl DirSource {
    /// Reads `dir` (creating it if missing) and starts watching it.
    pub fn open(dir: &Path, settings: PolicySettings) -> io::Result<DirSource> {
        fs::create_dir_all(dir.join(STATUS_DIR))?;
        let source = DirSource {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                settings,
                files: Mutex::new(BTreeMap::new()),
                snapshot: ArcSwap::from_pointee(PolicySnapshot::default()),
                problems: ArcSwap::from_pointee(Vec::new()),
                synced: AtomicBool::new(false),
                watcher: Mutex::new(None),
            }),
        };
        source.reload();
        let weak = Arc::downgrade(&source.inner);
        let watcher = crate::watch::watch_dir(dir, move || {
            if let Some(inner) = weak.upgrade() {
                DirSource { inner }.reload();
            }
        })
        .map_err(io::Error::other)?;
        *source.inner.watcher.lock().expect("watcher lock") = Some(watcher);
        Ok(source)
    }

    /// Rereads every file; a file that fails keeps its last good content.
    pub fn reload(&self) {
        let inner = &self.inner;
        let mut files = inner.files.lock().expect("policy files lock");
        let mut next = BTreeMap::new();
        for path in spec_files(&inner.dir) {
            let parsed = match fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| parse(&path, &t))
            {
                Ok(p) => p,
                Err(error) => Parsed {
                    error: Some(error),
                    ..files.get(&path).cloned().unwrap_or_default()
                },
            };
            next.insert(path, parsed);
        }
        *files = next;
        self.publish(&files);
        inner.synced.store(true, Ordering::Release);
    }

    /// Builds and swaps in the snapshot of `files` plus the stored statuses.
    fn publish(&self, files: &BTreeMap<PathBuf, Parsed>) {
        let inner = &self.inner;
        let statuses = read_statuses(&inner.dir.join(STATUS_DIR));
        let orgs: Vec<&Organization> = files.values().flat_map(|p| &p.orgs).collect();
        let packages: Vec<Package> = files
            .values()
            .flat_map(|p| &p.packages)
            .map(|p| {
                let mut p = p.clone();
                p.status = statuses
                    .get(&(p.spec.owner.clone(), p.spec.name.clone()))
                    .cloned();
                p
            })
            .collect();
        let snapshot = PolicySnapshot::build(orgs, &packages, &inner.settings);
        let mut problems: Vec<String> = files
            .iter()
            .filter_map(|(path, p)| p.error.as_ref().map(|e| format!("{}: {e}", path.display())))
            .collect();
        problems.extend(snapshot.problems().iter().cloned());
        if **inner.problems.load() != problems {
            for p in &problems {
                tracing::warn!(problem = %p, "policy problem; the last good policy stays in force");
            }
        }
        tracing::debug!(
            packages = packages.len(),
            "policy loaded from {}",
            inner.dir.display()
        );
        inner.snapshot.store(Arc::new(snapshot));
        inner.problems.store(Arc::new(problems));
    }

    fn status_path(&self, owner: &str, name: &str) -> PathBuf {
        self.inner
            .dir
            .join(STATUS_DIR)
            .join(owner)
            .join(name)
            .join("status.yaml")
    }

    fn write_package(&self, package: &Package) -> io::Result<()> {
        let inner = &self.inner;
        let mut files = inner.files.lock().expect("policy files lock");
        let (owner, name) = (&package.spec.owner, &package.spec.name);
        if let Some(status) = &package.status {
            write_yaml(&self.status_path(owner, name), status)?;
        }
        // Recorded already (a restore retried after a crash): the file stands. On disk,
        // not only in this process's view, which may lag another process's removal.
        if defining(&files, owner, name).is_some_and(|(path, _)| path.exists()) {
            self.publish(&files);
            return Ok(());
        }
        // A spec file of its own, never over an existing one.
        let base = package.name_any();
        let path = (1..)
            .map(|n| match n {
                1 => inner.dir.join(format!("{base}.yaml")),
                n => inner.dir.join(format!("{base}-{n}.yaml")),
            })
            .find(|p| !p.exists())
            .expect("a free file name");
        let mut spec_only = package.clone();
        spec_only.status = None;
        write_yaml(&path, &spec_only)?;
        files.insert(
            path,
            Parsed {
                packages: vec![spec_only],
                ..Parsed::default()
            },
        );
        self.publish(&files);
        Ok(())
    }

    /// Changes `OWNER/NAME`'s stored status with `change`.
    fn write_status(
        &self,
        owner: &str,
        name: &str,
        change: impl FnOnce(&mut PackageStatus),
    ) -> io::Result<()> {
        let files = self.inner.files.lock().expect("policy files lock");
        let path = self.status_path(owner, name);
        let mut status = read_status(&path).unwrap_or_default();
        change(&mut status);
        write_yaml(&path, &status)?;
        self.publish(&files);
        Ok(())
    }

    /// The Package that defines `OWNER/NAME`, with its stored status.
    fn read_package(&self, owner: &str, name: &str) -> Option<Package> {
        let files = self.inner.files.lock().expect("policy files lock");
        let (_, package) = defining(&files, owner, name)?;
        let mut package = package.clone();
        package.status = read_status(&self.status_path(owner, name));
        Some(package)
    }

    /// The spec of `OWNER/NAME`, and where its settings are kept when the pages may not
    /// change them: a file the registry did not write is the user's (and maybe Git's),
    /// and its comments and layout are theirs, so the pages never rewrite it.
    fn read_settings(&self, owner: &str, name: &str) -> Option<(PackageSpec, KeptElsewhere)> {
        let files = self.inner.files.lock().expect("policy files lock");
        let (path, package) = defining(&files, owner, name)?;
        let kept = match self.users_file(&files, path, package) {
            Some(file) => Setting::ALL.iter().map(|s| (*s, file.clone())).collect(),
            None => KeptElsewhere::new(),
        };
        Some((package.spec.clone(), kept))
    }

    /// `path` relative to the policy directory when it is the user's file rather than
    /// one the registry wrote for `package` alone.
    fn users_file(
        &self,
        files: &BTreeMap<PathBuf, Parsed>,
        path: &Path,
        package: &Package,
    ) -> Option<String> {
        let alone = files
            .get(path)
            .is_some_and(|p| p.packages.len() == 1 && p.orgs.is_empty());
        if alone && package.created_by_registry() {
            return None;
        }
        let shown = path.strip_prefix(&self.inner.dir).unwrap_or(path);
        Some(format!("the policy file {}", shown.display()))
    }

    /// Rewrites the registry's file of `OWNER/NAME` with `spec`'s settings.
    fn write_settings(&self, owner: &str, name: &str, spec: &PackageSpec) -> io::Result<()> {
        let mut files = self.inner.files.lock().expect("policy files lock");
        let (path, package) = defining(&files, owner, name)
            .ok_or_else(|| io::Error::other(format!("no policy file defines {owner}/{name}")))?;
        if let Some(file) = self.users_file(&files, path, package) {
            return Err(io::Error::other(format!(
                "its settings are kept in {file}; change them there"
            )));
        }
        let (path, mut package) = (path.to_owned(), package.clone());
        for setting in Setting::ALL {
            setting.copy(spec, &mut package.spec);
        }
        package.status = None;
        write_yaml(&path, &package)?;
        files.insert(
            path,
            Parsed {
                packages: vec![package],
                ..Parsed::default()
            },
        );
        self.publish(&files);
        Ok(())
    }

    /// Removes the file that defines `OWNER/NAME` (one the registry wrote: it holds that
    /// package alone) and its status.
    fn remove(&self, owner: &str, name: &str) -> io::Result<()> {
        let mut files = self.inner.files.lock().expect("policy files lock");
        if let Some((path, _)) = defining(&files, owner, name) {
            let path = path.to_owned();
            let parsed = &files[&path];
            if parsed.packages.len() != 1 || !parsed.orgs.is_empty() {
                return Err(io::Error::other(format!(
                    "{} defines other packages or organizations too; remove {owner}/{name} from it by hand",
                    path.display()
                )));
            }
            ignore_missing(fs::remove_file(&path))?;
            files.remove(&path);
        }
        ignore_missing(fs::remove_file(self.status_path(owner, name)))?;
        self.publish(&files);
        Ok(())
    }
}

#[async_trait]
impl PolicySource for DirSource {
    fn snapshot(&self) -> Arc<PolicySnapshot> {
        self.inner.snapshot.load_full()
    }

    fn is_synced(&self) -> bool {
        self.inner.synced.load(Ordering::Acquire)
    }

    fn problems(&self) -> Vec<String> {
        self.inner.problems.load().to_vec()
    }

    async fn create_package(&self, package: Package) -> Result<(), PolicyWriteError> {
        let this = self.clone();
        let label = format!("{}/{}", package.spec.owner, package.spec.name);
        blocking(label, move || this.write_package(&package)).await
    }

    async fn link_package(
        &self,
        owner: &str,
        name: &str,
        repository: &str,
    ) -> Result<(), PolicyWriteError> {
        let this = self.clone();
        let (o, n, r) = (owner.to_owned(), name.to_owned(), repository.to_owned());
        blocking(format!("{owner}/{name}"), move || {
            this.write_status(&o, &n, |s| s.repository = Some(r))
        })
        .await
    }

    async fn package_resource(
        &self,
        owner: &str,
        name: &str,
    ) -> Result<Option<Package>, PolicyWriteError> {
        Ok(self.read_package(owner, name))
    }

    async fn settings(
        &self,
        owner: &str,
        name: &str,
    ) -> Result<Option<(PackageSpec, KeptElsewhere)>, PolicyWriteError> {
        Ok(self.read_settings(owner, name))
    }

    async fn change_settings(
        &self,
        owner: &str,
        name: &str,
        spec: &PackageSpec,
    ) -> Result<(), PolicyWriteError> {
        let this = self.clone();
        let (o, n, spec) = (owner.to_owned(), name.to_owned(), spec.clone());
        blocking(format!("{owner}/{name}"), move || {
            this.write_settings(&o, &n, &spec)
        })
        .await
    }

    async fn remove_package(&self, owner: &str, name: &str) -> Result<(), PolicyWriteError> {
        let this = self.clone();
        let (o, n) = (owner.to_owned(), name.to_owned());
        blocking(format!("{owner}/{name}"), move || this.remove(&o, &n)).await
    }

    async fn mark_deleted(
        &self,
        owner: &str,
        name: &str,
        at: Option<&str>,
    ) -> Result<(), PolicyWriteError> {
        let this = self.clone();
        let (o, n, at) = (owner.to_owned(), name.to_owned(), at.map(str::to_owned));
        blocking(format!("{owner}/{name}"), move || {
            this.write_status(&o, &n, |s| s.deleted_at = at)
        })
        .await
    }
}

/// The file that defines package `OWNER/NAME`, and the package in it.
fn defining<'a>(
    files: &'a BTreeMap<PathBuf, Parsed>,
    owner: &str,
    name: &str,
) -> Option<(&'a Path, &'a Package)> {
    files.iter().find_map(|(path, parsed)| {
        parsed
            .packages
            .iter()
            .find(|p| p.spec.owner == owner && p.spec.name == name)
            .map(|p| (path.as_path(), p))
    })
}

fn read_status(path: &Path) -> Option<PackageStatus> {
    fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_saphyr::from_str(&t).ok())
}

fn ignore_missing(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

async fn blocking(
    package: String,
    f: impl FnOnce() -> io::Result<()> + Send + 'static,
) -> Result<(), PolicyWriteError> {
    let result = tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other);
    result.and_then(|r| r).map_err(|e| PolicyWriteError {
        package,
        message: e.to_string(),
    })
}

/// The `*.yaml`/`*.yml` files under `dir`, skipping hidden entries (`.status`, editors'
/// swap files).
fn spec_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let hidden = e.file_name().to_string_lossy().starts_with('.');
            if hidden {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The Packages and Organizations in one file (several documents may share it).
fn parse(path: &Path, text: &str) -> Result<Parsed, String> {
    parse_documents(path, text).map(|(orgs, packages)| Parsed {
        orgs,
        packages,
        error: None,
    })
}

/// The documents of one policy file, as `parse` reads them; also a fuzz target's way in.
pub fn parse_documents(
    path: &Path,
    text: &str,
) -> Result<(Vec<Organization>, Vec<Package>), String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).map_err(|e| e.to_string())?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut parsed = Parsed::default();
    for (i, mut doc) in docs.into_iter().enumerate() {
        if doc.is_null() {
            continue;
        }
        let api = doc
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if api != "berth.dev/v1alpha1" {
            return Err(format!(
                "document {}: apiVersion must be berth.dev/v1alpha1, not {api:?}",
                i + 1
            ));
        }
        // A document without metadata.name is named after its file.
        if doc.pointer("/metadata/name").is_none_or(Value::is_null) {
            let name = if i == 0 {
                stem.clone()
            } else {
                format!("{stem}-{}", i + 1)
            };
            doc["metadata"] = serde_json::json!({"name": name});
        }
        let kind = doc
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let at = |e: serde_json::Error| format!("document {} ({kind}): {e}", i + 1);
        match kind.as_str() {
            "Package" => parsed
                .packages
                .push(serde_json::from_value(doc).map_err(at)?),
            "Organization" => parsed.orgs.push(serde_json::from_value(doc).map_err(at)?),
            other => {
                return Err(format!(
                    "document {}: kind {other:?} does not belong here (Package or Organization)",
                    i + 1
                ));
            }
        }
    }
    Ok((parsed.orgs, parsed.packages))
}

fn read_statuses(root: &Path) -> HashMap<(String, String), PackageStatus> {
    let mut out = HashMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if e.file_name() == "status.yaml" {
                let rel = path
                    .parent()
                    .and_then(|p| p.strip_prefix(root).ok())
                    .map(|p| p.to_string_lossy().into_owned());
                let Some((owner, name)) = rel.as_deref().and_then(|r| r.split_once('/')) else {
                    continue;
                };
                if let Some(status) = read_status(&path) {
                    out.insert((owner.to_owned(), name.to_owned()), status);
                }
            }
        }
    }
    out
}

fn write_yaml(path: &Path, value: &impl serde::Serialize) -> io::Result<()> {
    let text = serde_saphyr::to_string(value).map_err(io::Error::other)?;
    let dir = path.parent().expect("files have a directory");
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".tmp-{}", uuid::Uuid::new_v4()));
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests;
