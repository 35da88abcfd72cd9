//! Berth's custom resources (group `berth.dev`, version `v1alpha1`) and the names every
//! component shares. The same YAML documents configure standalone mode.

pub mod access;
pub mod crdgen;
pub mod deploy;
pub mod names;
pub mod organization;
pub mod package;
pub mod patch;
pub mod quantity;
pub mod registry;

pub use access::{AccessGrant, RepositoryGrant, Role, Visibility};
pub use organization::{Organization, OrganizationSpec, Webhook, WebhookEvent};
pub use package::{Package, PackageSpec};
pub use registry::{Registry, RegistrySpec};

/// The API group of every Berth resource.
pub const GROUP: &str = "berth.dev";
/// The served version.
pub const VERSION: &str = "v1alpha1";
