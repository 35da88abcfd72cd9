//! The registry pods' identity and least privileges: read the policy (Packages,
//! Organizations), create Packages on first push and write their status, read PAT
//! Secrets. Nothing cluster-wide.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};

use super::{ValidRegistry, meta, object_name};

pub fn desired_service_account(r: &ValidRegistry) -> ServiceAccount {
    ServiceAccount {
        metadata: meta(r, object_name::service_account(r)),
        // The pods talk to the API with this identity; nothing else needs its token.
        automount_service_account_token: Some(true),
        ..ServiceAccount::default()
    }
}

fn rule(group: &str, resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.into()]),
        resources: Some(resources.iter().map(|s| s.to_string()).collect()),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        ..PolicyRule::default()
    }
}

pub fn desired_role(r: &ValidRegistry) -> Role {
    Role {
        metadata: meta(r, object_name::service_account(r)),
        rules: Some(vec![
            rule(
                berth_crds::GROUP,
                &["packages"],
                &["get", "list", "watch", "create", "patch", "delete"],
            ),
            rule(berth_crds::GROUP, &["packages/status"], &["get", "patch"]),
            rule(
                berth_crds::GROUP,
                &["organizations"],
                &["get", "list", "watch"],
            ),
            // The pods show each webhook's last delivery on its Organization.
            rule(
                berth_crds::GROUP,
                &["organizations/status"],
                &["get", "patch"],
            ),
            rule("", &["secrets"], &["get", "list", "watch"]),
            // One pod at a time collects garbage: the turn is a Lease, which the pods
            // create and then update (only that one).
            rule("coordination.k8s.io", &["leases"], &["create"]),
            PolicyRule {
                resource_names: Some(vec![berth_crds::names::gc_lease(&r.name)]),
                ..rule("coordination.k8s.io", &["leases"], &["get", "update"])
            },
            // Events on Packages (the audit trail), as kube-runtime's recorder writes
            // them (events.k8s.io).
            rule("", &["events"], &["create", "patch"]),
            rule("events.k8s.io", &["events"], &["create", "patch"]),
        ]),
    }
}

pub fn desired_role_binding(r: &ValidRegistry) -> RoleBinding {
    RoleBinding {
        metadata: meta(r, object_name::service_account(r)),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "Role".into(),
            name: object_name::service_account(r),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: object_name::service_account(r),
            namespace: Some(r.namespace.clone()),
            ..Subject::default()
        }]),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn the_pods_get_namespaced_least_privileges() {
        let r = fixture::registry();
        let role = desired_role(&r);
        let rules = role.rules.unwrap();
        // No update of specs but the collection's Lease, nothing beyond the namespace;
        // delete only of Packages (the ones the registry made, when a package is
        // deleted through the API).
        let lease = Some(vec!["main-gc".to_owned()]);
        assert!(rules.iter().all(|r| {
            !r.verbs.iter().any(|v| v == "*")
                && (!r.verbs.iter().any(|v| v == "update") || r.resource_names == lease)
                && (!r.verbs.iter().any(|v| v == "delete")
                    || r.resources.as_deref() == Some(&["packages".to_owned()][..]))
        }));
        let secrets = rules
            .iter()
            .find(|r| r.resources.as_ref().unwrap()[0] == "secrets")
            .unwrap();
        assert_eq!(secrets.verbs, ["get", "list", "watch"]);
        let binding = desired_role_binding(&r);
        assert_eq!(binding.subjects.unwrap()[0].name, "main-registry");
        assert_eq!(binding.role_ref.name, "main-registry");
        assert_eq!(
            desired_service_account(&r)
                .metadata
                .owner_references
                .unwrap()[0]
                .uid,
            "1234-5678"
        );
    }
}
