//! The `Organization` resource: an owner namespace with owners, members, teams, a
//! package-creation policy, and repositories whose access packages may inherit.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::access::{AccessGrant, Visibility};

/// An organization; its `metadata.name` is its namespace (`acme` in `acme/app`).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "berth.dev",
    version = "v1alpha1",
    kind = "Organization",
    namespaced,
    shortname = "org",
    status = "OrganizationStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationSpec {
    /// Admins of every package the organization owns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<Team>,
    /// Which visibilities members may create packages with (owners always may).
    #[serde(default)]
    pub package_creation: PackageCreation,
    /// Whether packages linked at creation inherit their repository's access.
    #[serde(default = "yes")]
    pub inherit_access_by_default: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repositories: Vec<Repository>,
    /// Receivers of GitHub's `package` and `registry_package` events for the
    /// organization's packages, as an organization webhook on GitHub.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<Webhook>,
}

/// An organization webhook: where events are sent and the secret that signs them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    /// The receiver, `http://` or `https://`. Loopback, link-local and private
    /// addresses are refused unless the Registry allows them
    /// (`spec.webhooks.allowPrivateTargets`).
    #[schemars(regex(pattern = r"^https?://[^\s/]+"))]
    pub url: String,
    /// Standalone: a file holding the secret, relative to the policy directory. Each
    /// delivery carries `X-Hub-Signature-256`, the HMAC-SHA256 of its body with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<String>,
    /// Cluster: the key of a Secret in the Organization's namespace holding the secret.
    /// The registry pods read it for each delivery, so a rotated secret signs the next
    /// one; until the Secret exists the Organization is not Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeyRef>,
    /// The events sent: `package` and `registry_package` by default (GitHub's), and
    /// Berth's `berth_package_version` when listed.
    #[serde(default = "all_events")]
    pub events: Vec<WebhookEvent>,
    /// An inactive webhook keeps its configuration and receives nothing.
    #[serde(default = "yes")]
    pub active: bool,
}

/// A key of a Secret in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    pub name: String,
    /// The key holding the value; `secret` unless named.
    #[serde(default = "secret_key")]
    pub key: String,
}

fn secret_key() -> String {
    "secret".to_owned()
}

/// A webhook event Berth sends.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookEvent {
    /// `package`: published (a new version) and updated.
    Package,
    /// `registry_package`: the same events under the older name, which many
    /// receivers still listen for.
    RegistryPackage,
    /// `berth_package_version`: a version deleted or restored. Berth's own event
    /// (GitHub sends none); not sent unless listed.
    BerthPackageVersion,
    /// `berth_package`: a whole package deleted or restored. Berth's own event; not
    /// sent unless listed.
    BerthPackage,
}

impl WebhookEvent {
    /// The `X-GitHub-Event` header's value.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::Package => "package",
            WebhookEvent::RegistryPackage => "registry_package",
            WebhookEvent::BerthPackageVersion => "berth_package_version",
            WebhookEvent::BerthPackage => "berth_package",
        }
    }
}

fn all_events() -> Vec<WebhookEvent> {
    vec![WebhookEvent::Package, WebhookEvent::RegistryPackage]
}

fn yes() -> bool {
    true
}

/// A team: members of the organization that grants can name together.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub name: String,
    #[serde(default)]
    pub members: Vec<String>,
}

/// The visibilities members may create packages with; GHCR's default allows all three.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageCreation {
    #[serde(default = "yes")]
    pub private: bool,
    #[serde(default = "yes")]
    pub internal: bool,
    #[serde(default = "yes")]
    pub public: bool,
}

impl Default for PackageCreation {
    fn default() -> Self {
        PackageCreation {
            private: true,
            internal: true,
            public: true,
        }
    }
}

impl PackageCreation {
    pub fn allows(&self, visibility: Visibility) -> bool {
        match visibility {
            Visibility::Private => self.private,
            Visibility::Internal => self.internal,
            Visibility::Public => self.public,
        }
    }
}

/// A source repository of the organization.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Repository {
    /// The repository's name within the organization (`app` for `acme/app`).
    pub name: String,
    /// Its URL, as images name it in `org.opencontainers.image.source`.
    pub url: String,
    /// Who has which role on the repository (and so on packages that inherit it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<AccessGrant>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// How each webhook's deliveries are going, written by the registry pods that make
    /// them: the last success and the last failure with its reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["url"]))]
    pub webhooks: Vec<WebhookStatus>,
}

/// One webhook's delivery state.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookStatus {
    pub url: String,
    /// The `X-GitHub-Hook-ID` its deliveries carry.
    pub hook_id: u64,
    /// When a delivery last succeeded (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<DeliveryFailure>,
}

/// A delivery that failed (it is retried with backoff for a day).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryFailure {
    /// When (RFC 3339).
    pub time: String,
    /// Its `X-GitHub-Delivery`, as `berth webhook deliveries` lists it.
    pub delivery: String,
    pub event: String,
    /// Why: the receiver's status, or what kept the request from being answered.
    pub message: String,
}
