//! Package metadata from an image: the config labels of a single-platform image, the
//! annotations of an index or manifest. Values past GHCR's limits are cut, never refused.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::oci::manifest::{Manifest, ManifestKind};

pub const SOURCE: &str = "org.opencontainers.image.source";
pub const DESCRIPTION: &str = "org.opencontainers.image.description";
pub const LICENSES: &str = "org.opencontainers.image.licenses";
/// Characters kept of a description.
pub const MAX_DESCRIPTION: usize = 512;
/// Characters kept of a license expression.
pub const MAX_LICENSES: usize = 256;

/// What a push says about its package.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licenses: Option<String>,
}

impl Metadata {
    /// From `manifest`'s annotations, and for an image manifest its config's labels
    /// (`config` is the config blob). Annotations win over labels.
    pub fn of(manifest: &Manifest, config: Option<&[u8]>) -> Metadata {
        let labels = match (manifest.kind, config) {
            (ManifestKind::Image, Some(bytes)) => config_labels(bytes),
            _ => serde_json::Map::new(),
        };
        let get = |key: &str| {
            manifest
                .annotations
                .get(key)
                .cloned()
                .or_else(|| labels.get(key).and_then(Value::as_str).map(str::to_owned))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Metadata {
            source: get(SOURCE),
            description: get(DESCRIPTION).map(|d| cut(&d, MAX_DESCRIPTION)),
            licenses: get(LICENSES).map(|l| cut(&l, MAX_LICENSES)),
        }
    }

    /// `self`, with `newer`'s values where it has them.
    pub fn updated_by(&self, newer: &Metadata) -> Metadata {
        Metadata {
            source: newer.source.clone().or_else(|| self.source.clone()),
            description: newer
                .description
                .clone()
                .or_else(|| self.description.clone()),
            licenses: newer.licenses.clone().or_else(|| self.licenses.clone()),
        }
    }
}

/// `config.Labels` of an image config (OCI and Docker share the shape).
pub fn config_labels(bytes: &[u8]) -> serde_json::Map<String, Value> {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v.get("config")?.get("Labels")?.as_object().cloned())
        .unwrap_or_default()
}

/// The first `max` characters (not bytes) of `s`.
fn cut(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::media_types;

    fn manifest(kind: ManifestKind, annotations: &[(&str, &str)]) -> Manifest {
        Manifest {
            media_type: media_types::OCI_MANIFEST.into(),
            kind,
            artifact_type: None,
            config: None,
            layers: vec![],
            manifests: vec![],
            subject: None,
            annotations: annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn labels_of_single_images_and_annotations_of_indexes() {
        let config = serde_json::json!({"config": {"Labels": {
            SOURCE: "https://git.example.com/acme/app", DESCRIPTION: "from a label", LICENSES: "MIT"
        }}});
        let config = serde_json::to_vec(&config).unwrap();
        let m = Metadata::of(&manifest(ManifestKind::Image, &[]), Some(&config));
        assert_eq!(
            m.source.as_deref(),
            Some("https://git.example.com/acme/app")
        );
        assert_eq!(m.licenses.as_deref(), Some("MIT"));
        let annotated = manifest(ManifestKind::Image, &[(DESCRIPTION, "from an annotation")]);
        assert_eq!(
            Metadata::of(&annotated, Some(&config))
                .description
                .as_deref(),
            Some("from an annotation")
        );
        let index = manifest(
            ManifestKind::Index,
            &[(SOURCE, "https://git.example.com/acme/multi")],
        );
        assert_eq!(
            Metadata::of(&index, None).source.as_deref(),
            Some("https://git.example.com/acme/multi")
        );
        assert_eq!(
            Metadata::of(&manifest(ManifestKind::Image, &[]), Some(b"not json")),
            Metadata::default()
        );
    }

    #[test]
    fn long_values_are_cut_at_the_limit_in_characters() {
        let long = "é".repeat(600);
        let m = Metadata::of(
            &manifest(
                ManifestKind::Index,
                &[(DESCRIPTION, &long), (LICENSES, &long)],
            ),
            None,
        );
        assert_eq!(m.description.unwrap().chars().count(), MAX_DESCRIPTION);
        assert_eq!(m.licenses.unwrap().chars().count(), MAX_LICENSES);
    }

    #[test]
    fn newer_values_win() {
        let old = Metadata {
            source: Some("a".into()),
            description: Some("old".into()),
            licenses: None,
        };
        let new = Metadata {
            source: None,
            description: Some("new".into()),
            licenses: Some("MIT".into()),
        };
        assert_eq!(
            old.updated_by(&new),
            Metadata {
                source: Some("a".into()),
                description: Some("new".into()),
                licenses: Some("MIT".into())
            }
        );
    }
}
