//! The Service in front of the registry pods.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{ValidRegistry, meta, selector_labels};

pub fn desired_service(r: &ValidRegistry) -> Service {
    Service {
        metadata: meta(r, r.name.clone()),
        spec: Some(ServiceSpec {
            selector: Some(selector_labels(r)),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: Some(IntOrString::String("http".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
