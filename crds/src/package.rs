//! The `Package` resource: one container package and its access policy. In Git, a
//! `Package` *is* the package's access policy; the registry creates one on first push.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::access::{AccessGrant, RepositoryGrant, Visibility};

/// The annotation on a `Package` the registry created on a first push. Deleting such a
/// package through the API or the pages removes the resource (and restoring brings it
/// back); a `Package` without it was applied by someone (GitOps) and stays, its status
/// saying the package is deleted.
pub const CREATED_BY_ANNOTATION: &str = "berth.dev/created-by";
/// The value of [`CREATED_BY_ANNOTATION`] the registry writes.
pub const CREATED_BY_REGISTRY: &str = "registry";

impl Package {
    /// Whether the registry created this `Package` on a first push and no one else has
    /// taken its spec over since: in a cluster, a field manager other than the
    /// registry's that owns part of `spec` (a `kubectl apply`, a GitOps controller) makes
    /// it the user's. The pages' manager is the registry's own: changing a setting there
    /// does not make the package the user's.
    pub fn created_by_registry(&self) -> bool {
        let annotated = self
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(CREATED_BY_ANNOTATION))
            .is_some_and(|v| v == CREATED_BY_REGISTRY);
        let taken_over = self.metadata.managed_fields.iter().flatten().any(|m| {
            !matches!(
                m.manager.as_deref(),
                Some(crate::names::REGISTRY_MANAGER | crate::names::PAGES_MANAGER)
            ) && m
                .fields_v1
                .as_ref()
                .is_some_and(|f| f.0.get("f:spec").is_some())
        });
        annotated && !taken_over
    }

    /// The top-level `spec` fields (`visibility`, `access`, …) that a field manager other
    /// than the registry's and the pages' owns, each with that manager's name: fields a
    /// `kubectl apply` or a GitOps tool keeps.
    pub fn spec_fields_kept_elsewhere(&self) -> std::collections::BTreeMap<String, String> {
        let mut out = std::collections::BTreeMap::new();
        for m in self.metadata.managed_fields.iter().flatten() {
            let manager = m.manager.as_deref().unwrap_or("an unnamed field manager");
            if matches!(
                manager,
                crate::names::REGISTRY_MANAGER | crate::names::PAGES_MANAGER
            ) || m.subresource.as_deref() == Some("status")
            {
                continue;
            }
            let spec = m.fields_v1.as_ref().and_then(|f| f.0.get("f:spec"));
            for key in spec
                .and_then(|s| s.as_object())
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                if let Some(field) = key.strip_prefix("f:") {
                    out.entry(field.to_owned())
                        .or_insert_with(|| manager.to_owned());
                }
            }
        }
        out
    }
}

/// A container package `OWNER/NAME` and who may do what with it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[kube(
    group = "berth.dev",
    version = "v1alpha1",
    kind = "Package",
    namespaced,
    shortname = "pkg",
    status = "PackageStatus",
    printcolumn = r#"{"name":"Owner","type":"string","jsonPath":".spec.owner"}"#,
    printcolumn = r#"{"name":"Name","type":"string","jsonPath":".spec.name"}"#,
    printcolumn = r#"{"name":"Visibility","type":"string","jsonPath":".spec.visibility"}"#,
    printcolumn = r#"{"name":"Repository","type":"string","jsonPath":".spec.repository"}"#,
    printcolumn = r#"{"name":"Tags","type":"integer","jsonPath":".status.tagCount"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct PackageSpec {
    /// The owner namespace: a user name or an `Organization`.
    #[schemars(regex(pattern = r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("owner cannot change: create another Package"))]
    pub owner: String,
    /// The package name within the owner; may be nested (`app/release`).
    #[schemars(regex(
        pattern = r"^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$"
    ))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("name cannot change: create another Package"))]
    pub name: String,
    #[serde(default)]
    pub visibility: Visibility,
    /// The linked source repository's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Whether the linked repository's access list applies to this package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherit_access: Option<bool>,
    /// Users and teams with a role on this package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<AccessGrant>,
    /// Repositories whose workloads have a role on this package.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions_access: Vec<RepositoryGrant>,
    /// What happens to the content when this resource is deleted.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
}

impl PackageSpec {
    /// A new private package, as the registry creates on first push.
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        PackageSpec {
            owner: owner.into(),
            name: name.into(),
            visibility: Visibility::Private,
            repository: None,
            inherit_access: None,
            access: Vec::new(),
            actions_access: Vec::new(),
            deletion_policy: DeletionPolicy::Retain,
            retention: None,
        }
    }
}

/// What deleting a `Package` does to its content.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum DeletionPolicy {
    /// Keep the content (reachable by site admins until a Package names it again).
    #[default]
    Retain,
    /// Delete the content with the resource.
    Delete,
}

/// Which versions are deleted automatically, at each garbage collection (the Registry's
/// `garbageCollection.interval`). Deletions are the API's soft deletes, restorable for
/// the restore window, and follow its rules (never the last tagged version, nor a
/// platform of a tagged index).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retention {
    /// Untagged versions (reachable from no tag, as a platform of a tagged index or a
    /// referrer of a tagged image is) last pushed more than this many days ago are
    /// deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untagged_older_than_days: Option<u32>,
    /// The newest this many versions are always kept, whatever the other rules say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_latest: Option<u32>,
    /// Rules for tags: a tagged version is deleted when every tag it has may go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<TagRetention>,
    /// Only report what would be deleted (in `status.retention` and the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}

/// Which tags may go. A tag matching a `keep` pattern stays; another stays while it is
/// among the newest `keepLatest` of those or younger than `olderThanDays`; with neither
/// set, no tag goes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagRetention {
    /// Regular expressions (RE2 syntax, matched against the whole tag): such tags are
    /// always kept, e.g. `v[0-9]+\.[0-9]+\.[0-9]+` or `latest`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep: Vec<String>,
    /// Of the other tags, the newest this many stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_latest: Option<u32>,
    /// Of the other tags, those last pushed less than this many days ago stay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than_days: Option<u32>,
}

/// What the last retention run did (or, in a dry run, would have done).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionStatus {
    /// When it ran (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_run: Option<String>,
    pub dry_run: bool,
    /// The versions it deleted (or would delete), by digest, at most 100.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<String>,
    /// How many it deleted (or would delete) in all.
    #[serde(default)]
    pub deleted_count: u64,
}

/// Who first published a package: a user, or a repository's workload.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Publisher {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

/// What the registry reports; written by the registry, never by users.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageStatus {
    /// The first publisher, who is an admin of the package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<Publisher>,
    /// When the package was first published (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// A repository linked by a push after creation (from
    /// `org.opencontainers.image.source`), when `spec.repository` is unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Where the package is pulled from (`containers.HOST/OWNER/NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_count: Option<u64>,
    /// Bytes of content, counting each blob once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The last push (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push: Option<String>,
    /// Downloads of all its versions (manifest GETs), as last flushed by a replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_count: Option<u64>,
    /// When the package was deleted through the API or the pages (RFC 3339): it is
    /// hidden and restorable until it is restored or pushed to again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// The last run of `spec.retention`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<RetentionStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

    use super::*;

    fn managed(manager: &str, fields: serde_json::Value) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some(manager.into()),
            fields_v1: Some(FieldsV1(fields)),
            ..ManagedFieldsEntry::default()
        }
    }

    #[test]
    fn a_package_is_the_registrys_until_someone_else_owns_part_of_its_spec() {
        let mut p = Package::new("acme.app", PackageSpec::new("acme", "app"));
        assert!(!p.created_by_registry(), "no annotation: applied by a user");
        p.metadata.annotations =
            Some([(CREATED_BY_ANNOTATION.into(), CREATED_BY_REGISTRY.into())].into());
        p.metadata.managed_fields = Some(vec![
            managed(
                crate::names::REGISTRY_MANAGER,
                serde_json::json!({"f:spec": {}}),
            ),
            managed(
                crate::names::OPERATOR_MANAGER,
                serde_json::json!({"f:status": {}}),
            ),
        ]);
        assert!(p.created_by_registry());
        p.metadata.managed_fields.as_mut().unwrap().push(managed(
            "kubectl",
            serde_json::json!({"f:spec": {"f:visibility": {}}}),
        ));
        assert!(!p.created_by_registry(), "kubectl took the spec over");
    }
}
