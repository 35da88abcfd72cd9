//! The control plane's key material: a CA, the API server's serving certificate for
//! 127.0.0.1, and the key pair that signs ServiceAccount tokens.

use std::net::{IpAddr, Ipv4Addr};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

/// PEM-encoded certificates and keys, ready to be written to files.
pub struct Certs {
    /// The CA certificate clients trust (a kubeconfig's `certificate-authority-data`).
    pub ca_pem: String,
    /// The API server's serving certificate, signed by the CA.
    pub serving_cert_pem: String,
    /// The serving certificate's private key (PKCS#8).
    pub serving_key_pem: String,
    /// The ServiceAccount token signing key (PKCS#8) for `--service-account-signing-key-file`.
    pub sa_key_pem: String,
    /// Its public half for `--service-account-key-file`.
    pub sa_public_pem: String,
}

impl Certs {
    /// Generates fresh ECDSA P-256 material.
    pub fn generate() -> Result<Self> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "berth-e2e-ca");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)
            .context("self-sign the CA")?;

        // The names a client may use for the API server: in-cluster ones for code that
        // builds the Service name, plus loopback, where it really listens.
        let mut params = CertificateParams::new(vec![
            "localhost".to_owned(),
            "kubernetes".to_owned(),
            "kubernetes.default".to_owned(),
            "kubernetes.default.svc".to_owned(),
        ])?;
        params
            .subject_alt_names
            .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let serving_key = KeyPair::generate()?;
        let serving_cert = params
            .signed_by(&serving_key, &ca)
            .context("sign the serving certificate")?;

        let sa_key = KeyPair::generate()?;
        Ok(Self {
            ca_pem: ca.pem(),
            serving_cert_pem: serving_cert.pem(),
            serving_key_pem: serving_key.serialize_pem(),
            sa_key_pem: sa_key.serialize_pem(),
            sa_public_pem: sa_key.public_key_pem(),
        })
    }
}
