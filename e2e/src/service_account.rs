//! Real ServiceAccount identities, from the TokenRequest API.

use anyhow::{Context, Result};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::api::PostParams;
use kube::{Api, Client};

use crate::cluster::Cluster;
use crate::kubeconfig::{self};

/// How long a requested token is valid: longer than any test.
const TOKEN_SECONDS: i64 = 3600;

impl Cluster {
    /// A token for ServiceAccount `namespace/name`, with the API server's default audience.
    pub async fn service_account_token(&self, namespace: &str, name: &str) -> Result<String> {
        self.token_for(namespace, name, Vec::new(), TOKEN_SECONDS)
            .await
    }

    /// A token for ServiceAccount `namespace/name` for `audiences` (empty: the API
    /// server's), valid for `seconds`.
    pub async fn token_for(
        &self,
        namespace: &str,
        name: &str,
        audiences: Vec<String>,
        seconds: i64,
    ) -> Result<String> {
        let request = TokenRequest {
            spec: Some(TokenRequestSpec {
                // None asks for the API server's own audience.
                audiences: (!audiences.is_empty()).then_some(audiences),
                expiration_seconds: Some(seconds),
                ..TokenRequestSpec::default()
            }),
            ..TokenRequest::default()
        };
        let response = Api::<ServiceAccount>::namespaced(self.client().await?, namespace)
            .create_token_request(name, &PostParams::default(), &request)
            .await
            .with_context(|| format!("request a token for ServiceAccount {namespace}/{name}"))?;
        response
            .status
            .and_then(|status| status.token)
            .with_context(|| format!("the token request for {namespace}/{name} returned no token"))
    }

    /// A client that authenticates with `token`, defaulting to `namespace`.
    pub async fn client_with_token(&self, token: &str, namespace: &str) -> Result<Client> {
        let user = "token";
        kubeconfig::client(self.api_server().kubeconfig(user, token, Some(namespace))).await
    }

    /// A client acting as ServiceAccount `namespace/name`: exactly its permissions.
    pub async fn service_account_client(&self, namespace: &str, name: &str) -> Result<Client> {
        let token = self.service_account_token(namespace, name).await?;
        self.client_with_token(&token, namespace).await
    }
}
