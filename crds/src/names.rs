//! Names every component shares: field managers, finalizers, labels and annotations.
//! One place, so the operator and the registry pods can never disagree.

/// The operator's server-side-apply field manager.
pub const OPERATOR_MANAGER: &str = "berth-operator";
/// The registry pods' field manager (Packages they create, status they write).
pub const REGISTRY_MANAGER: &str = "berth-registry";
/// The field manager of the settings changed on the package pages: its own, so a GitOps
/// tool's fields are told apart and never taken over.
pub const PAGES_MANAGER: &str = "berth-pages";

/// On a `Package` with `deletionPolicy: Delete`: its content is deleted before the
/// resource goes.
pub const PACKAGE_FINALIZER: &str = "berth.dev/package-content";

pub const LABEL_NAME: &str = "app.kubernetes.io/name";
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The Registry an object belongs to (on PAT Secrets too).
pub const LABEL_REGISTRY: &str = "berth.dev/registry";
/// Marks a Secret holding a personal access token's record (its hash, never the token).
pub const LABEL_TOKEN: &str = "berth.dev/token";

/// On the registry pods: the checksum of their configuration, so a change rolls them.
pub const ANNOTATION_CONFIG_CHECKSUM: &str = "berth.dev/config-checksum";

/// The `app.kubernetes.io/name` of everything Berth makes.
pub const APP: &str = "berth";

/// The Lease that says which of a Registry's pods collects garbage.
pub fn gc_lease(registry: &str) -> String {
    format!("{registry}-gc")
}
