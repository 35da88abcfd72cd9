//! Berth's custom resources (group `berth.dev`, version `v1alpha1`) and the names every
//! component shares. The same YAML documents configure standalone mode.

pub mod quantity;
pub mod registry;

pub use registry::{Registry, RegistrySpec};

/// The API group of every Berth resource.
pub const GROUP: &str = "berth.dev";
/// The served version.
pub const VERSION: &str = "v1alpha1";
