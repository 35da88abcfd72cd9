//! The two writes every component makes to Berth's resources the same way: a status by
//! server-side apply, and a finalizer change by a merge patch guarded by the
//! `resourceVersion`. One place, so the operator and the registry pods write alike.

use std::fmt::Debug;

use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Server-side applies `status` as the status of the object `name` under `manager` (one
/// of [`names`](crate::names)' field managers), forcing: the fields it sets are that
/// manager's alone. A field the manager set before and `status` omits is removed, so
/// `status` carries every field the manager owns.
pub async fn apply_status<K, S>(
    api: &Api<K>,
    name: &str,
    manager: &str,
    status: &S,
) -> Result<K, kube::Error>
where
    K: Resource + Clone + Debug + DeserializeOwned,
    K::DynamicType: Default,
    S: Serialize + ?Sized,
{
    let params = PatchParams::apply(manager).force();
    api.patch_status(name, &params, &Patch::Apply(&status_patch::<K, S>(status)))
        .await
}

/// The body of a status apply: `status` under the type's `apiVersion` and `kind`.
fn status_patch<K, S>(status: &S) -> serde_json::Value
where
    K: Resource,
    K::DynamicType: Default,
    S: Serialize + ?Sized,
{
    let dt = K::DynamicType::default();
    json!({
        "apiVersion": K::api_version(&dt),
        "kind": K::kind(&dt),
        "status": status,
    })
}

/// Adds `finalizer` to `obj` (once), by [`write_finalizers`].
pub async fn add_finalizer<K>(api: &Api<K>, obj: &K, finalizer: &str) -> Result<K, kube::Error>
where
    K: Resource + Clone + Debug + DeserializeOwned,
{
    let mut finalizers = without(obj, finalizer);
    finalizers.push(finalizer.to_owned());
    write_finalizers(api, obj, &finalizers).await
}

/// Removes `finalizer` from `obj`, by [`write_finalizers`].
pub async fn remove_finalizer<K>(api: &Api<K>, obj: &K, finalizer: &str) -> Result<K, kube::Error>
where
    K: Resource + Clone + Debug + DeserializeOwned,
{
    write_finalizers(api, obj, &without(obj, finalizer)).await
}

/// Replaces `obj`'s finalizers with `finalizers` by a merge patch guarded by the
/// `resourceVersion` `obj` was read at: if another controller changed the list meanwhile,
/// the write fails with a conflict (and is retried on the fresh object) instead of
/// dropping that controller's finalizer.
pub async fn write_finalizers<K>(
    api: &Api<K>,
    obj: &K,
    finalizers: &[String],
) -> Result<K, kube::Error>
where
    K: Resource + Clone + Debug + DeserializeOwned,
{
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": obj.resource_version()}});
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
}

/// `obj`'s finalizers except `finalizer`, in their order.
fn without<K: Resource>(obj: &K, finalizer: &str) -> Vec<String> {
    obj.finalizers()
        .iter()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Package;
    use crate::package::PackageSpec;

    #[test]
    fn without_keeps_the_other_finalizers_in_order() {
        let mut pkg = Package::new("acme.app", PackageSpec::new("acme", "app"));
        pkg.metadata.finalizers = Some(vec![
            "a/x".into(),
            crate::names::PACKAGE_FINALIZER.into(),
            "b/y".into(),
        ]);
        assert_eq!(
            without(&pkg, crate::names::PACKAGE_FINALIZER),
            ["a/x", "b/y"]
        );
        assert_eq!(without(&pkg, "c/z").len(), 3);
    }

    #[test]
    fn the_status_patch_names_the_resource_it_applies_to() {
        let patch = status_patch::<Package, _>(&json!({"url": "x"}));
        assert_eq!(
            patch,
            json!({"apiVersion": "berth.dev/v1alpha1", "kind": "Package", "status": {"url": "x"}})
        );
    }
}
