//! PATs in a cluster: one Secret per token, labelled as a token of its Registry, holding
//! the token's record (its hash, never the token). The registry pods watch them, so a
//! deleted Secret is a revoked token on the next request; `berth token create
//! --kubeconfig …` makes them.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth_crds::names::{LABEL_MANAGED_BY, LABEL_REGISTRY, LABEL_TOKEN, REGISTRY_MANAGER};
use futures_util::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};

use crate::auth::Authenticator;
use crate::auth::identity::Scopes;
use crate::auth::pat::PatRecord;

/// The Secret key holding a token's record.
pub const RECORD_KEY: &str = "record.json";

fn selector(registry: &str) -> String {
    format!("{LABEL_TOKEN}=pat,{LABEL_REGISTRY}={registry}")
}

fn record_of(secret: &Secret) -> Option<PatRecord> {
    let bytes = secret.data.as_ref()?.get(RECORD_KEY)?;
    serde_json::from_slice(&bytes.0).ok()
}

/// Keeps `auth`'s PATs equal to the token Secrets of `registry` in `namespace`, for as
/// long as the process runs.
pub fn watch(client: Client, namespace: &str, registry: &str, auth: Arc<Authenticator>) {
    let api: Api<Secret> = Api::namespaced(client, namespace);
    let (store, writer) = reflector::store();
    let config = watcher::Config::default().labels(&selector(registry));
    tokio::spawn(
        reflector::reflector(writer, watcher(api, config))
            .default_backoff()
            .for_each(move |_| {
                apply(&auth, &store);
                futures_util::future::ready(())
            }),
    );
}

fn apply(auth: &Authenticator, store: &Store<Secret>) {
    auth.set_pats(store.state().iter().filter_map(|s| record_of(s)));
}

/// Creates a token Secret; returns the record and the token (shown once).
pub async fn create(
    client: Client,
    namespace: &str,
    registry: &str,
    user: &str,
    scopes: Scopes,
    ttl: Option<std::time::Duration>,
) -> Result<(PatRecord, String), kube::Error> {
    let (record, token) = PatRecord::new(user, scopes, ttl);
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(format!("{registry}-pat-{}", record.id)),
            labels: Some(BTreeMap::from([
                (LABEL_TOKEN.to_owned(), "pat".to_owned()),
                (LABEL_REGISTRY.to_owned(), registry.to_owned()),
                (LABEL_MANAGED_BY.to_owned(), REGISTRY_MANAGER.to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            RECORD_KEY.to_owned(),
            ByteString(serde_json::to_vec(&record).expect("records serialize")),
        )])),
        ..Secret::default()
    };
    Api::<Secret>::namespaced(client, namespace)
        .create(&PostParams::default(), &secret)
        .await?;
    Ok((record, token))
}

/// The token records of `registry`.
pub async fn list(
    client: Client,
    namespace: &str,
    registry: &str,
) -> Result<Vec<PatRecord>, kube::Error> {
    let secrets = Api::<Secret>::namespaced(client, namespace)
        .list(&ListParams::default().labels(&selector(registry)))
        .await?;
    let mut out: Vec<_> = secrets.items.iter().filter_map(record_of).collect();
    out.sort_by(|a, b| a.created_at.cmp(&b.created_at));
    Ok(out)
}

/// Deletes token `id`'s Secret; `false` if there is none.
pub async fn revoke(
    client: Client,
    namespace: &str,
    registry: &str,
    id: &str,
) -> Result<bool, kube::Error> {
    let api = Api::<Secret>::namespaced(client, namespace);
    let secrets = api
        .list(&ListParams::default().labels(&selector(registry)))
        .await?;
    for s in secrets.items {
        if record_of(&s).is_some_and(|r| r.id == id) {
            api.delete(&kube::ResourceExt::name_any(&s), &DeleteParams::default())
                .await?;
            return Ok(true);
        }
    }
    Ok(false)
}
