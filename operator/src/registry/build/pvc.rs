//! The PersistentVolumeClaim of filesystem storage.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::{ValidRegistry, meta, object_name};
use crate::registry::validate::StoragePlan;

/// The claim, when storage is a filesystem. It is not owned by the Registry: deleting a
/// Registry must never delete the images (remove the claim by hand to do that).
pub fn desired_pvc(r: &ValidRegistry) -> Option<PersistentVolumeClaim> {
    let StoragePlan::Filesystem {
        size,
        storage_class,
        access_modes,
    } = &r.storage
    else {
        return None;
    };
    let mut metadata = meta(r, object_name::data(r));
    metadata.owner_references = None;
    Some(PersistentVolumeClaim {
        metadata,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(access_modes.clone()),
            storage_class_name: storage_class.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_owned(),
                    Quantity(size.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn the_claim_outlives_its_registry() {
        let pvc = desired_pvc(&fixture::registry()).unwrap();
        assert!(pvc.metadata.owner_references.is_none());
        let spec = pvc.spec.unwrap();
        assert_eq!(spec.storage_class_name.as_deref(), Some("fast"));
        assert_eq!(
            spec.resources.unwrap().requests.unwrap()["storage"].0,
            "50Gi"
        );
    }
}
