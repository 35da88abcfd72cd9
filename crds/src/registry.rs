//! The `Registry` resource: one Berth installation (hosts, storage, limits).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::deploy::{
    GarbageCollectionSpec, IngressSpec, PodSpec, RegistryStatus, RegistryUrls,
};

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
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub host: Option<String>,
    /// The host for image traffic (default `containers.<host>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    ))]
    pub containers_host: Option<String>,
    /// Where content is stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// GHCR's limits; each defaults to GHCR's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<LimitsSpec>,
    /// Who may sign in, and how.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthSpec>,
    /// Registry pods (default 1; more need storage every pod can reach).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub replicas: Option<i32>,
    /// The registry image (default: the operator's own image and version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<PodSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub garbage_collection: Option<GarbageCollectionSpec>,
    /// How long a deleted package or version can be restored, e.g. `30days` (the
    /// default, as on GHCR) or `10m`. Garbage collection keeps what it needs until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_window: Option<String>,
    /// Standalone mode: serve TLS with this certificate and key (PEM files, reloaded
    /// when they change). In a cluster TLS ends at the operator's ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSpec>,
    /// How webhook deliveries (configured on Organizations) are made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<WebhooksSpec>,
}

/// Webhook delivery settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhooksSpec {
    /// Deliver to loopback, link-local (cloud metadata at 169.254.169.254) and private
    /// addresses too. Off by default: a webhook URL must not reach inside the network the
    /// registry runs in.
    #[serde(default)]
    pub allow_private_targets: bool,
}

/// A certificate chain and its private key, as PEM files.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsSpec {
    pub cert_file: String,
    pub key_file: String,
}

/// Authentication settings.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// Users who are admin of every package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub site_admins: Vec<String>,
    /// How long a registry token lives, e.g. `5m` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl: Option<String>,
    /// Whether public packages can be pulled without signing in (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous_pulls: Option<bool>,
    /// Issuers of workload tokens (the `GITHUB_TOKEN` analogue) this registry trusts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub oidc_issuers: Vec<OidcIssuer>,
    /// How many failed sign-ins an account or a client address may make before it is
    /// refused for a while (429 with Retry-After). Per replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_limit: Option<SignInLimitSpec>,
}

/// Failed sign-ins allowed per account and per client address in `period`; the budget
/// refills evenly over the period. 0 turns a limit off.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignInLimitSpec {
    /// Per account (the user a Basic credential names); default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_account: Option<u32>,
    /// Per client address; default 100, so a NAT or CI fleet is not locked out by one user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_address: Option<u32>,
    /// The period, e.g. `1m` (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
}

/// A trusted OIDC issuer of workload tokens.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcIssuer {
    /// The `iss` claim tokens must carry.
    pub issuer: String,
    /// The `aud` the tokens must be issued for.
    pub audience: String,
    /// A JWKS document on disk holding the issuer's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_file: Option<String>,
    /// The issuer's keys inline, as a JWKS document (`{"keys": [...]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub jwks: Option<serde_json::Value>,
    /// Which claims name the user, the teams and the repository.
    #[serde(default)]
    pub claims: ClaimMapping,
    /// The package scopes a workload token carries (default all three).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

/// Claim names in a workload token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimMapping {
    /// The user the workload acts for (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A list of `ORG/TEAM` names (default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<String>,
    /// The repository, `OWNER/REPO` (default `repository`).
    #[serde(default = "repository_claim")]
    pub repository: String,
}

/// A JSON object of any shape (the API server keeps its fields as given).
fn any_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

fn repository_claim() -> String {
    "repository".to_owned()
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            user: None,
            teams: None,
            repository: repository_claim(),
        }
    }
}

/// Where content is stored: exactly one backend.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "rule": "!(has(self.filesystem) && has(self.s3))",
    "message": "set exactly one storage backend: filesystem or s3"
}]))]
pub struct StorageSpec {
    /// A directory (standalone) or a PersistentVolumeClaim (cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FilesystemStorageSpec>,
    /// An S3 bucket (AWS, MinIO, any S3-compatible store): what stateless replicas share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3StorageSpec>,
    /// How long a replica may serve a tag (or a repository's link to a blob) after
    /// another replica changed it, e.g. `2s`; the replica that made the change serves
    /// it at once. Default `2s` on S3, `0s` (no cache) on filesystem storage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_staleness: Option<String>,
}

/// S3 storage.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3StorageSpec {
    /// The bucket.
    pub bucket: String,
    /// The region (default `us-east-1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// An S3-compatible endpoint such as `https://minio.example.com` (default: AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), which MinIO needs (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_style: Option<bool>,
    /// A key prefix inside the bucket, so several registries can share one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Cluster mode: a Secret with `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`,
    /// given to the registry pods as environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
    /// Standalone mode: an AWS shared credentials file (default: the environment, then
    /// `~/.aws/credentials`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<String>,
    /// Blob GETs answer `307` to a presigned URL, so image bytes bypass the registry.
    /// The endpoint must be reachable by clients (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<bool>,
    /// Create the bucket when it is missing (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_bucket: Option<bool>,
    /// Standalone mode: a PEM file of CA certificates trusted for the endpoint besides
    /// the system's (an S3 server with a private CA), so verification stays on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<String>,
    /// Cluster mode: the same PEM from a key of a Secret or ConfigMap in the Registry's
    /// namespace, mounted into the registry pods by the operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle_from: Option<KeyRef>,
}

/// A key of a Secret or of a ConfigMap (name exactly one).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
    /// The key holding the PEM, e.g. `ca.crt`.
    pub key: String,
}

/// Filesystem storage.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FilesystemStorageSpec {
    /// The data directory (standalone mode; `--data-dir` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The PersistentVolumeClaim's size (cluster; default `20Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    /// The claim's StorageClass (the cluster default if unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// The claim's access modes (default `[ReadWriteOnce]`; more than one replica needs
    /// `ReadWriteMany`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
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
