//! The Ingress for both hosts: `containers.HOST` (images) and `HOST` (pages, API), with
//! no request-body limit and no buffering, so 10 GB layers stream straight through.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec as K8sIngressSpec, IngressTLS, ServiceBackendPort,
};

use super::{ValidRegistry, meta};

/// What Berth needs of an nginx ingress; the user's annotations win.
const DEFAULT_ANNOTATIONS: &[(&str, &str)] = &[
    ("nginx.ingress.kubernetes.io/proxy-body-size", "0"),
    ("nginx.ingress.kubernetes.io/proxy-request-buffering", "off"),
    ("nginx.ingress.kubernetes.io/proxy-buffering", "off"),
    ("nginx.ingress.kubernetes.io/proxy-read-timeout", "600"),
    ("nginx.ingress.kubernetes.io/proxy-send-timeout", "600"),
];

pub fn desired_ingress(r: &ValidRegistry) -> Ingress {
    let mut annotations: BTreeMap<String, String> = DEFAULT_ANNOTATIONS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    annotations.extend(r.ingress.annotations.clone());
    let mut metadata = meta(r, r.name.clone());
    metadata.annotations = Some(annotations);
    let rule = |host: &str| IngressRule {
        host: Some(host.to_owned()),
        http: Some(HTTPIngressRuleValue {
            paths: vec![HTTPIngressPath {
                path: Some("/".into()),
                path_type: "Prefix".into(),
                backend: IngressBackend {
                    service: Some(IngressServiceBackend {
                        name: r.name.clone(),
                        port: Some(ServiceBackendPort {
                            name: Some("http".into()),
                            ..ServiceBackendPort::default()
                        }),
                    }),
                    ..IngressBackend::default()
                },
            }],
        }),
    };
    Ingress {
        metadata,
        spec: Some(K8sIngressSpec {
            ingress_class_name: r.ingress.class_name.clone(),
            rules: Some(vec![rule(&r.containers_host), rule(&r.host)]),
            tls: r.ingress.tls_secret_name.as_ref().map(|secret| {
                vec![IngressTLS {
                    hosts: Some(vec![r.containers_host.clone(), r.host.clone()]),
                    secret_name: Some(secret.clone()),
                }]
            }),
            ..K8sIngressSpec::default()
        }),
        ..Ingress::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixture;
    use super::*;

    #[test]
    fn both_hosts_tls_class_and_unlimited_bodies() {
        let ing = desired_ingress(&fixture::registry());
        let a = ing.metadata.annotations.unwrap();
        assert_eq!(a["nginx.ingress.kubernetes.io/proxy-body-size"], "0");
        assert_eq!(
            a["nginx.ingress.kubernetes.io/proxy-request-buffering"],
            "off"
        );
        assert_eq!(a["cert-manager.io/cluster-issuer"], "letsencrypt");
        let spec = ing.spec.unwrap();
        assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
        let hosts: Vec<_> = spec
            .rules
            .unwrap()
            .into_iter()
            .map(|r| r.host.unwrap())
            .collect();
        assert_eq!(hosts, ["containers.example.com", "example.com"]);
        let tls = &spec.tls.unwrap()[0];
        assert_eq!(tls.secret_name.as_deref(), Some("example-tls"));
        assert_eq!(tls.hosts.as_ref().unwrap().len(), 2);
    }
}
