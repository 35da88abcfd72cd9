//! The `Registry` resource: one Berth installation (hosts, storage, limits).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Berth registry: its hosts, storage and limits. In standalone mode this document is
/// the `--config` file.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "berth.dev",
    version = "v1alpha1",
    kind = "Registry",
    namespaced,
    shortname = "reg",
    status = "RegistryStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct RegistrySpec {
    /// Where package pages and the REST API are served; images are served on
    /// `containers.<host>` unless `containersHost` says otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The host for image traffic (default `containers.<host>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers_host: Option<String>,
    /// Where content is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// GHCR's limits; each defaults to GHCR's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsSpec>,
}

/// Where content is stored: exactly one backend.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// A directory (standalone) or a PersistentVolumeClaim (cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FilesystemStorageSpec>,
}

/// Filesystem storage.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilesystemStorageSpec {
    /// The data directory (standalone mode; `--data-dir` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Size and time limits.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LimitsSpec {
    /// The largest layer accepted, as a Kubernetes quantity (default `10G`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_size: Option<String>,
    /// The largest manifest accepted (default `4Mi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_size: Option<String>,
    /// How long an upload session lives after it starts, e.g. `10m` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_timeout: Option<String>,
}

/// What the operator and the registry pods report.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}
