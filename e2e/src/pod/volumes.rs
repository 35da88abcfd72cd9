//! A container's volumes, written into local directories.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Container, KeyToPath, PodSpec, Volume};

use super::env::{Kind, Sources};
use super::paths::PathMap;
use crate::cluster::Cluster;

/// Where Kubernetes mounts a pod's ServiceAccount credentials.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// What a volume may need besides ConfigMaps and Secrets.
pub struct Credentials<'a> {
    /// The cluster to request projected tokens from.
    pub cluster: &'a Cluster,
    /// The pod's ServiceAccount.
    pub service_account: &'a str,
    /// A token for the pod's ServiceAccount, if it gets one.
    pub token: Option<&'a str>,
    /// The API server's CA.
    pub ca_pem: &'a str,
    /// The pod's namespace.
    pub namespace: &'a str,
}

/// Writes every volume the container mounts under `root` and records each mount in `paths`.
pub async fn materialize(
    spec: &PodSpec,
    container: &Container,
    sources: &Sources,
    credentials: &Credentials<'_>,
    root: &Path,
    paths: &mut PathMap,
) -> Result<()> {
    let mut written: HashMap<&str, PathBuf> = HashMap::new();
    for mount in container.volume_mounts.iter().flatten() {
        let name = mount.name.as_str();
        let local = match written.get(name) {
            Some(local) => local.clone(),
            None => {
                let volume = spec
                    .volumes
                    .iter()
                    .flatten()
                    .find(|volume| volume.name == name)
                    .with_context(|| format!("volumeMount {name} names no volume of the pod"))?;
                // A claim outlives the pod: the same directory for every pod that mounts
                // it, as long as the cluster lives.
                let local = match &volume.persistent_volume_claim {
                    Some(claim) => claim_dir(credentials, &claim.claim_name)?,
                    None => root.join(name),
                };
                write_volume(volume, sources, credentials, &local).await?;
                written.insert(name, local.clone());
                local
            }
        };
        let local = match mount.sub_path.as_deref() {
            Some(sub) if !sub.is_empty() => local.join(sub),
            _ => local,
        };
        paths.insert(&mount.mount_path, local);
    }
    // What the ServiceAccount admission plugin and the kubelet add to every pod that
    // does not opt out.
    if let Some(token) = credentials.token
        && !paths.contains(SERVICE_ACCOUNT_DIR)
    {
        let local = root.join("kube-api-access");
        write_files(
            &local,
            [
                ("token", token.as_bytes()),
                ("ca.crt", credentials.ca_pem.as_bytes()),
                ("namespace", credentials.namespace.as_bytes()),
            ],
            None,
        )?;
        paths.insert(SERVICE_ACCOUNT_DIR, local);
    }
    Ok(())
}

/// The directory standing in for a PersistentVolumeClaim of the pod's namespace.
fn claim_dir(credentials: &Credentials<'_>, claim: &str) -> Result<PathBuf> {
    let dir = credentials
        .cluster
        .work_dir()
        .join("claims")
        .join(credentials.namespace)
        .join(claim);
    std::fs::create_dir_all(&dir).with_context(|| format!("create {dir:?}"))?;
    Ok(dir)
}

async fn write_volume(
    volume: &Volume,
    sources: &Sources,
    credentials: &Credentials<'_>,
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("create {dir:?}"))?;
    let name = &volume.name;
    if let Some(source) = &volume.config_map {
        let keys = Keys {
            kind: Kind::ConfigMap,
            name: &source.name,
            items: source.items.as_deref(),
            optional: source.optional,
        };
        return keys.write(sources, dir, source.default_mode, name).await;
    }
    if let Some(source) = &volume.secret {
        let keys = Keys {
            kind: Kind::Secret,
            name: source.secret_name.as_deref().unwrap_or_default(),
            items: source.items.as_deref(),
            optional: source.optional,
        };
        return keys.write(sources, dir, source.default_mode, name).await;
    }
    if volume.empty_dir.is_some() || volume.persistent_volume_claim.is_some() {
        return Ok(());
    }
    let Some(projected) = &volume.projected else {
        bail!(
            "volume {name}: only configMap, secret, projected, emptyDir and persistentVolumeClaim volumes are supported"
        );
    };
    let mode = projected.default_mode;
    for source in projected.sources.iter().flatten() {
        let keys = if let Some(map) = &source.config_map {
            Keys {
                kind: Kind::ConfigMap,
                name: &map.name,
                items: map.items.as_deref(),
                optional: map.optional,
            }
        } else if let Some(secret) = &source.secret {
            Keys {
                kind: Kind::Secret,
                name: &secret.name,
                items: secret.items.as_deref(),
                optional: secret.optional,
            }
        } else if let Some(projection) = &source.service_account_token {
            // A token of its own, as the kubelet requests one per projection.
            let token = credentials
                .cluster
                .token_for(
                    credentials.namespace,
                    credentials.service_account,
                    projection.audience.iter().cloned().collect(),
                    projection.expiration_seconds.unwrap_or(3600),
                )
                .await?;
            write_files(dir, [(projection.path.as_str(), token.as_bytes())], mode)?;
            continue;
        } else {
            bail!(
                "volume {name}: only configMap, secret and serviceAccountToken projections are supported"
            );
        };
        keys.write(sources, dir, mode, name).await?;
    }
    Ok(())
}

/// A ConfigMap or Secret whose keys a volume holds: the listed `items`, or every key.
struct Keys<'a> {
    kind: Kind,
    name: &'a str,
    items: Option<&'a [KeyToPath]>,
    optional: Option<bool>,
}

impl Keys<'_> {
    /// Writes the keys as files under `dir`, for volume `volume`.
    async fn write(
        &self,
        sources: &Sources,
        dir: &Path,
        default_mode: Option<i32>,
        volume: &str,
    ) -> Result<()> {
        let what = format!("{:?} {} (volume {volume})", self.kind, self.name);
        let Some(data) = sources.data(self.kind, self.name).await? else {
            if self.optional == Some(true) {
                return Ok(());
            }
            bail!("{what} does not exist");
        };
        let Some(items) = self.items else {
            let files = data
                .iter()
                .map(|(key, value)| (key.as_str(), value.as_slice()));
            return write_files(dir, files, default_mode);
        };
        for item in items {
            let Some(value) = data.get(&item.key) else {
                if self.optional == Some(true) {
                    continue;
                }
                bail!("{what} has no key {:?}", item.key);
            };
            write_files(
                dir,
                [(item.path.as_str(), value.as_slice())],
                item.mode.or(default_mode),
            )?;
        }
        Ok(())
    }
}

/// Writes `files` (relative paths and contents) under `dir` with the given mode (0644 by
/// default, as Kubernetes does).
fn write_files<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    mode: Option<i32>,
) -> Result<()> {
    let mode = mode.map_or(0o644, |mode| mode as u32 & 0o7777);
    for (relative, contents) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("create {parent:?}"))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("write {path:?}"))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("set the mode of {path:?}"))?;
    }
    Ok(())
}
