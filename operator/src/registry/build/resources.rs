//! The whole desired set of a Registry, built at once so that one test sees every object
//! and how they refer to each other.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};

use super::{
    SecretMaterial, ValidRegistry, checksum, desired_config_map, desired_deployment,
    desired_ingress, desired_pdb, desired_pvc, desired_role, desired_role_binding, desired_secrets,
    desired_service, desired_service_account,
};

/// Every object a Registry needs. A new object is a field here, its line in
/// [`build`], its line in `registry::apply` (which destructures this struct, so a field
/// it does not apply fails to compile there) and, if the operator should react to its
/// changes, an `.owns` in `registry::controller::run`.
#[derive(Clone, Debug, PartialEq)]
pub struct Resources {
    pub service_account: ServiceAccount,
    pub role: Role,
    pub role_binding: RoleBinding,
    /// Signing keys, upload-state key, bootstrap admin token and its PAT record.
    pub secrets: Vec<Secret>,
    /// The pods' `--config`.
    pub config_map: ConfigMap,
    /// Only with filesystem storage; never owned by the Registry.
    pub pvc: Option<PersistentVolumeClaim>,
    /// Carries the checksum of `config_map`, so a configuration change rolls the pods.
    pub deployment: Deployment,
    pub service: Service,
    pub ingress: Ingress,
    pub pdb: PodDisruptionBudget,
}

/// The desired set of `r`, with the Secrets holding `material`. Pure.
pub fn build(r: &ValidRegistry, material: &SecretMaterial) -> Resources {
    let config_map = desired_config_map(r);
    Resources {
        service_account: desired_service_account(r),
        role: desired_role(r),
        role_binding: desired_role_binding(r),
        secrets: desired_secrets(r, material),
        deployment: desired_deployment(r, &checksum(&config_map)),
        config_map,
        pvc: desired_pvc(r),
        service: desired_service(r),
        ingress: desired_ingress(r),
        pdb: desired_pdb(r),
    }
}

#[cfg(test)]
mod tests {
    use berth_crds::names;
    use kube::{Resource, ResourceExt};

    use super::super::{fixture, object_name, pod_annotations};
    use super::*;

    /// Every object of `set`, as (kind, name, owned by the Registry).
    fn every_object(set: &Resources) -> Vec<(String, String, bool)> {
        fn row<K: Resource<DynamicType = ()>>(k: &K) -> (String, String, bool) {
            let owned = k.owner_references().iter().any(|o| {
                o.kind == "Registry" && o.uid == "1234-5678" && o.controller == Some(true)
            });
            (K::kind(&()).into_owned(), k.name_any(), owned)
        }
        let mut out = vec![
            row(&set.service_account),
            row(&set.role),
            row(&set.role_binding),
        ];
        out.extend(set.secrets.iter().map(row));
        out.push(row(&set.config_map));
        out.extend(set.pvc.iter().map(row));
        out.extend([
            row(&set.deployment),
            row(&set.service),
            row(&set.ingress),
            row(&set.pdb),
        ]);
        out
    }

    #[test]
    fn the_fixture_builds_the_whole_set() {
        let r = fixture::registry();
        let set = build(&r, &fixture::material());
        let rows = every_object(&set);
        let expected = [
            ("ServiceAccount", "main-registry", true),
            ("Role", "main-registry", true),
            ("RoleBinding", "main-registry", true),
            ("Secret", "main-signing-keys", true),
            ("Secret", "main-upload-key", true),
            ("Secret", "main-admin-token", true),
            ("Secret", "main-pat-admin", true),
            ("ConfigMap", "main-config", true),
            // The claim outlives its Registry.
            ("PersistentVolumeClaim", "main-data", false),
            ("Deployment", "main", true),
            ("Service", "main", true),
            ("Ingress", "main", true),
            ("PodDisruptionBudget", "main", true),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(k, n, o)| (k.to_string(), n.to_string(), *o))
            .collect();
        assert_eq!(rows, expected);

        // All in the Registry's namespace, all labelled as the operator's.
        let metas = [
            set.service_account.meta(),
            set.role.meta(),
            set.role_binding.meta(),
            set.config_map.meta(),
            set.pvc.as_ref().unwrap().meta(),
            set.deployment.meta(),
            set.service.meta(),
            set.ingress.meta(),
            set.pdb.meta(),
        ];
        for m in metas
            .into_iter()
            .chain(set.secrets.iter().map(|s| s.meta()))
        {
            assert_eq!(m.namespace.as_deref(), Some("berth"), "{:?}", m.name);
            let labels = m.labels.as_ref().unwrap();
            assert_eq!(labels[names::LABEL_MANAGED_BY], names::OPERATOR_MANAGER);
            assert_eq!(labels[names::LABEL_REGISTRY], "main");
        }
    }

    #[test]
    fn the_objects_of_the_set_refer_to_each_other() {
        let r = fixture::registry();
        let set = build(&r, &fixture::material());
        // The pods roll with the configuration they mount.
        assert_eq!(
            pod_annotations(&set.deployment)[names::ANNOTATION_CONFIG_CHECKSUM],
            checksum(&set.config_map)
        );
        // The pods run as the bound ServiceAccount.
        let pod = set.deployment.spec.template.spec.as_ref().unwrap();
        assert_eq!(
            pod.service_account_name.as_deref(),
            Some(set.service_account.name_any().as_str())
        );
        assert_eq!(set.role_binding.role_ref.name, set.role.name_any());
        assert_eq!(
            set.role_binding.subjects.as_ref().unwrap()[0].name,
            set.service_account.name_any()
        );
        // Every volume the pods mount is an object of the set.
        let secret_names: Vec<_> = set.secrets.iter().map(|s| s.name_any()).collect();
        for v in pod.volumes.as_ref().unwrap() {
            if let Some(s) = &v.secret {
                assert!(
                    secret_names.contains(s.secret_name.as_ref().unwrap()),
                    "{}",
                    v.name
                );
            }
            if let Some(cm) = &v.config_map {
                assert_eq!(cm.name, set.config_map.name_any());
            }
            if let Some(claim) = &v.persistent_volume_claim {
                assert_eq!(claim.claim_name, set.pvc.as_ref().unwrap().name_any());
            }
        }
        assert_eq!(object_name::data(&r), "main-data");
        // The Service selects the pods, the Ingress routes both hosts to it, the budget
        // covers the same pods.
        let pod_labels = set
            .deployment
            .spec
            .template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .clone()
            .unwrap();
        let selector = set.service.spec.as_ref().unwrap().selector.clone().unwrap();
        assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
        let ingress = set.ingress.spec.as_ref().unwrap();
        let rules = ingress.rules.as_ref().unwrap();
        let hosts: Vec<_> = rules.iter().map(|r| r.host.clone().unwrap()).collect();
        assert_eq!(hosts, ["containers.example.com", "example.com"]);
        for rule in rules {
            let backend = &rule.http.as_ref().unwrap().paths[0].backend;
            assert_eq!(
                backend.service.as_ref().unwrap().name,
                set.service.name_any()
            );
        }
        assert_eq!(
            ingress.tls.as_ref().unwrap()[0].secret_name.as_deref(),
            Some("example-tls")
        );
        let budget = set.pdb.spec.as_ref().unwrap().selector.as_ref().unwrap();
        assert_eq!(budget.match_labels.as_ref(), Some(&selector));
        // The material lands in its Secrets.
        let token = set
            .secrets
            .iter()
            .find(|s| s.name_any() == "main-admin-token")
            .unwrap();
        assert_eq!(
            token.data.as_ref().unwrap()[super::super::secrets::ADMIN_TOKEN_KEY].0,
            fixture::material().admin_token.as_bytes()
        );
    }

    #[test]
    fn on_s3_the_set_has_no_claim() {
        let r = fixture::registry_from(fixture::S3_REGISTRY);
        let set = build(&r, &fixture::material());
        assert!(set.pvc.is_none());
        assert_eq!(every_object(&set).len(), 12);
    }
}
