//! Kubeconfigs that authenticate with a bearer token, and clients built from them.

use std::path::Path;

use anyhow::{Context, Result};
use base64::Engine as _;
use kube::config::{
    AuthInfo, Cluster, Context as KubeContext, KubeConfigOptions, Kubeconfig, NamedAuthInfo,
    NamedCluster, NamedContext,
};
use kube::{Client, Config};

/// Where an API server listens and how to trust it.
#[derive(Clone, Debug)]
pub struct ApiServer {
    /// `https://127.0.0.1:PORT` for the harness's own control plane.
    pub url: String,
    /// The PEM CA bundle that signs its serving certificate; `None` when the kubeconfig
    /// the harness was pointed at skips verification.
    pub ca_pem: Option<String>,
}

impl ApiServer {
    /// Reads the server and CA out of a client configuration.
    pub fn from_config(config: &Config) -> Self {
        let ca_pem = config.root_cert.as_ref().map(|ders| {
            ders.iter()
                .map(|der| pem::encode(&pem::Pem::new("CERTIFICATE", der.clone())))
                .collect::<String>()
        });
        Self {
            url: config
                .cluster_url
                .to_string()
                .trim_end_matches('/')
                .to_owned(),
            ca_pem,
        }
    }

    /// A one-context kubeconfig for this server, authenticating with `token`, whose
    /// default namespace is `namespace`.
    pub fn kubeconfig(&self, user: &str, token: &str, namespace: Option<&str>) -> Kubeconfig {
        let engine = base64::engine::general_purpose::STANDARD;
        let cluster = Cluster {
            server: Some(self.url.clone()),
            certificate_authority_data: self.ca_pem.as_ref().map(|pem| engine.encode(pem)),
            insecure_skip_tls_verify: self.ca_pem.is_none().then_some(true),
            ..Cluster::default()
        };
        let auth = AuthInfo {
            token: Some(token.to_owned().into()),
            ..AuthInfo::default()
        };
        let context = KubeContext {
            cluster: "e2e".to_owned(),
            user: Some(user.to_owned()),
            namespace: namespace.map(str::to_owned),
            ..KubeContext::default()
        };
        Kubeconfig {
            clusters: vec![NamedCluster {
                name: "e2e".to_owned(),
                cluster: Some(cluster),
                ..NamedCluster::default()
            }],
            auth_infos: vec![NamedAuthInfo {
                name: user.to_owned(),
                auth_info: Some(auth),
                ..NamedAuthInfo::default()
            }],
            contexts: vec![NamedContext {
                name: "e2e".to_owned(),
                context: Some(context),
                ..NamedContext::default()
            }],
            current_context: Some("e2e".to_owned()),
            ..Kubeconfig::default()
        }
    }
}

/// Writes `kubeconfig` as YAML to `path`, readable by its owner only (it holds a token).
pub fn write(path: &Path, kubeconfig: &Kubeconfig) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let yaml = serde_saphyr::to_string(kubeconfig).context("serialize a kubeconfig")?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("create {path:?}"))?;
    file.write_all(yaml.as_bytes())
        .with_context(|| format!("write {path:?}"))
}

/// A client for the current context of `kubeconfig`.
pub async fn client(kubeconfig: Kubeconfig) -> Result<Client> {
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .context("load a kubeconfig")?;
    Client::try_from(config).context("build a client")
}

/// A client for the current context of the kubeconfig file at `path`.
pub async fn client_from_file(path: &Path) -> Result<Client> {
    let kubeconfig = Kubeconfig::read_from(path).with_context(|| format!("read {path:?}"))?;
    client(kubeconfig).await
}
