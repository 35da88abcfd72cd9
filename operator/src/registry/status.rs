//! A Registry's status, from what the cluster shows. Pure.

use berth_crds::deploy::{RegistryStatus, RegistryUrls};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::validate::{InvalidSpec, ValidRegistry};
use crate::conditions::{Want, merge};

/// The status of a deployed Registry, from its Deployment.
pub fn deployed(
    r: &ValidRegistry,
    deployment: Option<&Deployment>,
    current: &[Condition],
    now: Time,
) -> RegistryStatus {
    let status = deployment
        .and_then(|d| d.status.clone())
        .unwrap_or_default();
    let ready = status.ready_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let seen = deployment.is_some_and(|d| {
        status.observed_generation >= d.metadata.generation && d.metadata.generation.is_some()
    });
    let available_cond = if r.replicas == 0 {
        Want::new("Available", false, "ScaledToZero", "spec.replicas is 0")
    } else if available > 0 {
        Want::new(
            "Available",
            true,
            "MinimumReplicasAvailable",
            format!("{available} of {} replicas available", r.replicas),
        )
    } else {
        Want::new(
            "Available",
            false,
            "NoReplicasAvailable",
            "no registry pod is ready yet",
        )
    };
    let rolling = !seen || updated < r.replicas || ready < r.replicas;
    let progressing = if rolling {
        Want::new(
            "Progressing",
            true,
            "RollingOut",
            format!("{ready} of {} replicas ready", r.replicas),
        )
    } else {
        Want::new(
            "Progressing",
            false,
            "Complete",
            "every replica runs the current configuration",
        )
    };
    let degraded = Want::new(
        "Degraded",
        false,
        "AsExpected",
        "the Registry is deployed as specified",
    );
    let scheme = if r.ingress.tls_secret_name.is_some() {
        "https"
    } else {
        "http"
    };
    RegistryStatus {
        observed_generation: r.generation,
        conditions: merge(
            current,
            &[available_cond, progressing, degraded],
            r.generation,
            now,
        ),
        ready_replicas: Some(ready),
        urls: Some(RegistryUrls {
            containers: Some(format!("{scheme}://{}", r.containers_host)),
            site: Some(format!("{scheme}://{}", r.host)),
        }),
    }
}

/// The status of a Registry whose spec cannot be deployed.
pub fn invalid(
    e: &InvalidSpec,
    generation: Option<i64>,
    current: &[Condition],
    now: Time,
) -> RegistryStatus {
    let wanted = [
        Want::new(
            "Available",
            false,
            "InvalidSpec",
            "the spec cannot be deployed; see Degraded",
        ),
        Want::new(
            "Progressing",
            false,
            "InvalidSpec",
            "waiting for a valid spec",
        ),
        Want::new("Degraded", true, e.reason(), e.to_string()),
    ];
    RegistryStatus {
        observed_generation: generation,
        conditions: merge(current, &wanted, generation, now),
        ready_replicas: None,
        urls: None,
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::DeploymentStatus;

    use super::super::build::fixture;
    use super::*;

    fn now() -> Time {
        Time(jiff::Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn available_once_a_replica_is_ready() {
        let r = fixture::registry();
        let none = deployed(&r, None, &[], now());
        assert_eq!(none.conditions[0].status, "False");
        let mut d = Deployment::default();
        d.metadata.generation = Some(2);
        d.status = Some(DeploymentStatus {
            observed_generation: Some(2),
            ready_replicas: Some(1),
            available_replicas: Some(1),
            updated_replicas: Some(1),
            ..DeploymentStatus::default()
        });
        let s = deployed(&r, Some(&d), &none.conditions, now());
        let by = |t: &str| s.conditions.iter().find(|c| c.type_ == t).unwrap().clone();
        assert_eq!(
            (
                by("Available").status.as_str(),
                by("Progressing").status.as_str()
            ),
            ("True", "False")
        );
        assert_eq!(
            s.urls.unwrap().containers.as_deref(),
            Some("https://containers.example.com")
        );
    }

    #[test]
    fn an_invalid_spec_is_degraded_with_its_reason() {
        let s = invalid(&InvalidSpec::MissingHost, Some(4), &[], now());
        let degraded = s.conditions.iter().find(|c| c.type_ == "Degraded").unwrap();
        assert_eq!(
            (degraded.status.as_str(), degraded.reason.as_str()),
            ("True", "InvalidHost")
        );
        assert!(degraded.message.contains("spec.host"));
    }
}
