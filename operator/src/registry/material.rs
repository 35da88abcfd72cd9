//! Dereferencing a Registry's Secrets: what exists is kept; only what is missing is
//! generated. This is what keeps keys and the bootstrap token from ever being rotated by
//! accident, while the builders stay pure.

use std::collections::BTreeMap;

use base64::Engine as _;
use berth_registry::auth::identity::Scopes;
use berth_registry::auth::pat::PatRecord;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use rand::RngCore as _;

use super::build::config_map::BOOTSTRAP_ADMIN;
use super::build::{SecretMaterial, object_name, secrets};
use super::validate::ValidRegistry;
use crate::error::{Error, Result};

fn text(secret: &Option<Secret>, key: &str) -> Option<String> {
    let bytes = secret.as_ref()?.data.as_ref()?.get(key)?;
    String::from_utf8(bytes.0.clone())
        .ok()
        .filter(|s| !s.is_empty())
}

/// The material in force for `r`: existing Secrets' values, generated values for the rest.
pub async fn resolve(secrets_api: &Api<Secret>, r: &ValidRegistry) -> Result<SecretMaterial> {
    let signing = secrets_api.get_opt(&object_name::signing_keys(r)).await?;
    let upload = secrets_api.get_opt(&object_name::upload_key(r)).await?;
    let admin = secrets_api.get_opt(&object_name::admin_token(r)).await?;
    let pat = secrets_api.get_opt(&object_name::admin_pat(r)).await?;

    let signing_keys: BTreeMap<String, String> = signing
        .as_ref()
        .and_then(|s| s.data.as_ref())
        .map(|d| {
            d.iter()
                .filter_map(|(k, v)| Some((k.clone(), String::from_utf8(v.0.clone()).ok()?)))
                .filter(|(k, _)| k.ends_with(".pem"))
                .collect()
        })
        .unwrap_or_default();
    let signing_keys = if signing_keys.is_empty() {
        let (name, pem, _) = berth_registry::auth::keys::new_key_file(0)
            .map_err(|e| Error::Material(e.to_string()))?;
        BTreeMap::from([(name, pem)])
    } else {
        signing_keys
    };
    let upload_key = text(&upload, secrets::UPLOAD_KEY_FILE).unwrap_or_else(|| {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        base64::engine::general_purpose::STANDARD.encode(key)
    });
    let (admin_token, admin_record) = match (
        text(&admin, secrets::ADMIN_TOKEN_KEY),
        text(&pat, secrets::PAT_RECORD_KEY),
    ) {
        (Some(token), Some(record)) => (token, record),
        // Both, or neither: a token without its record would not sign in.
        _ => {
            let (record, token) = PatRecord::new(BOOTSTRAP_ADMIN, Scopes::ALL, None);
            (
                token,
                serde_json::to_string(&record).expect("a record serializes"),
            )
        }
    };
    Ok(SecretMaterial {
        signing_keys,
        upload_key,
        admin_token,
        admin_record,
    })
}
