//! Manifest parsing and validation: OCI image manifests and indexes, Docker schema 2
//! manifests and manifest lists, and artifacts. Pure: whether referenced blobs exist is
//! checked by the caller against storage.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::digest::Digest;
use super::media_types::{self as mt, EXTERNAL_LAYERS};

/// Why a manifest is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ManifestError {
    #[error("manifest is not valid JSON: {0}")]
    Json(String),
    #[error(
        "Docker schema 1 manifests are not supported; push with a current client, which sends schema 2 or OCI"
    )]
    Schema1,
    #[error("schemaVersion must be 2")]
    SchemaVersion,
    #[error("Content-Type {content_type:?} does not match the manifest's mediaType {media_type:?}")]
    MediaTypeMismatch {
        content_type: String,
        media_type: String,
    },
    #[error("unsupported manifest media type {0:?}")]
    UnsupportedMediaType(String),
    #[error("an image manifest needs a config descriptor")]
    MissingConfig,
    #[error("an image manifest needs a layers array")]
    MissingLayers,
    #[error("an index needs a manifests array")]
    MissingManifests,
    #[error("descriptor {0} has an empty mediaType")]
    EmptyMediaType(Digest),
    #[error("descriptor {0} carries data that does not match its digest and size")]
    DataMismatch(Digest),
}

/// A content descriptor, as it appears in manifests and in the referrers index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

impl Descriptor {
    /// Whether this layer's bytes live outside the registry.
    pub fn is_external(&self) -> bool {
        EXTERNAL_LAYERS.contains(&self.media_type.as_str())
    }
}

/// An index entry's platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

/// An image manifest or an index (Docker's names: manifest, manifest list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    Image,
    Index,
}

/// A validated manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub media_type: String,
    pub kind: ManifestKind,
    pub artifact_type: Option<String>,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    pub manifests: Vec<Descriptor>,
    pub subject: Option<Descriptor>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<serde_json::Value>,
    media_type: Option<String>,
    artifact_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    subject: Option<Descriptor>,
    annotations: Option<BTreeMap<String, String>>,
    fs_layers: Option<serde_json::Value>,
}

impl Manifest {
    /// Parses and validates `body`, sent with `content_type` (if any).
    pub fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Manifest, ManifestError> {
        let content_type = content_type.map(mt::essence).filter(|c| !c.is_empty());
        if matches!(
            content_type,
            Some(mt::DOCKER_SCHEMA1 | mt::DOCKER_SCHEMA1_SIGNED)
        ) {
            return Err(ManifestError::Schema1);
        }
        let raw: Raw =
            serde_json::from_slice(body).map_err(|e| ManifestError::Json(e.to_string()))?;
        if raw.fs_layers.is_some() || raw.schema_version == Some(1.into()) {
            return Err(ManifestError::Schema1);
        }
        if raw.schema_version != Some(2.into()) {
            return Err(ManifestError::SchemaVersion);
        }
        let media_type = resolve_media_type(content_type, &raw)?;
        let kind = match media_type.as_str() {
            mt::OCI_MANIFEST | mt::DOCKER_MANIFEST => ManifestKind::Image,
            mt::OCI_INDEX | mt::DOCKER_LIST => ManifestKind::Index,
            other => return Err(ManifestError::UnsupportedMediaType(other.to_owned())),
        };
        let (config, layers, manifests) = match kind {
            ManifestKind::Image => (
                Some(raw.config.ok_or(ManifestError::MissingConfig)?),
                raw.layers.ok_or(ManifestError::MissingLayers)?,
                Vec::new(),
            ),
            ManifestKind::Index => (
                None,
                Vec::new(),
                raw.manifests.ok_or(ManifestError::MissingManifests)?,
            ),
        };
        let manifest = Manifest {
            media_type,
            kind,
            artifact_type: raw.artifact_type,
            config,
            layers,
            manifests,
            subject: raw.subject,
            annotations: raw.annotations.unwrap_or_default(),
        };
        for d in manifest.descriptors() {
            check_descriptor(d)?;
        }
        Ok(manifest)
    }

    fn descriptors(&self) -> impl Iterator<Item = &Descriptor> {
        self.config
            .iter()
            .chain(&self.layers)
            .chain(&self.manifests)
            .chain(&self.subject)
    }

    /// Blobs that must already be in the repository: the config and every layer whose
    /// bytes are not external.
    pub fn required_blobs(&self) -> impl Iterator<Item = &Descriptor> {
        self.config
            .iter()
            .chain(self.layers.iter().filter(|l| !l.is_external()))
    }

    /// The artifact type the referrers API reports: `artifactType`, else the config's
    /// media type for an image manifest.
    pub fn effective_artifact_type(&self) -> Option<&str> {
        self.artifact_type
            .as_deref()
            .or_else(|| self.config.as_ref().map(|c| c.media_type.as_str()))
    }
}

fn resolve_media_type(content_type: Option<&str>, raw: &Raw) -> Result<String, ManifestError> {
    match (&raw.media_type, content_type) {
        (Some(body), Some(ct)) if body != ct => Err(ManifestError::MediaTypeMismatch {
            content_type: ct.to_owned(),
            media_type: body.clone(),
        }),
        (Some(body), _) => Ok(body.clone()),
        // OCI manifests may omit mediaType; then the header names it, or the shape does.
        (None, Some(ct)) if mt::is_manifest(ct) => Ok(ct.to_owned()),
        (None, _) if raw.manifests.is_some() => Ok(mt::OCI_INDEX.to_owned()),
        (None, _) if raw.config.is_some() => Ok(mt::OCI_MANIFEST.to_owned()),
        (None, ct) => Err(ManifestError::UnsupportedMediaType(
            ct.unwrap_or("(none)").to_owned(),
        )),
    }
}

fn check_descriptor(d: &Descriptor) -> Result<(), ManifestError> {
    if d.media_type.is_empty() {
        return Err(ManifestError::EmptyMediaType(d.digest.clone()));
    }
    if let Some(data) = &d.data {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|_| ManifestError::DataMismatch(d.digest.clone()))?;
        if bytes.len() as u64 != d.size || Digest::of(d.digest.algorithm(), &bytes) != d.digest {
            return Err(ManifestError::DataMismatch(d.digest.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
