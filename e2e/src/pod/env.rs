//! A container's environment, as the kubelet would compute it.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVar, EnvVarSource, Secret};
use kube::{Api, Client};

/// What the downward API can tell about the pod that is not there.
pub struct PodFacts<'a> {
    /// The made-up pod's name.
    pub name: &'a str,
    /// Its namespace.
    pub namespace: &'a str,
    /// Its ServiceAccount.
    pub service_account: &'a str,
    /// The pod template's labels.
    pub labels: &'a BTreeMap<String, String>,
    /// The pod template's annotations.
    pub annotations: &'a BTreeMap<String, String>,
}

/// The two kinds of object whose keys become env values and files.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    /// A ConfigMap (`data` and `binaryData`).
    ConfigMap,
    /// A Secret (`data`).
    Secret,
}

/// Reads ConfigMaps and Secrets in the pod's namespace.
pub struct Sources {
    config_maps: Api<ConfigMap>,
    secrets: Api<Secret>,
}

impl Sources {
    /// Sources in `namespace`, read with `client`.
    pub fn new(client: Client, namespace: &str) -> Self {
        Self {
            config_maps: Api::namespaced(client.clone(), namespace),
            secrets: Api::namespaced(client, namespace),
        }
    }

    /// A ConfigMap's `data` and `binaryData`; `None` if it does not exist.
    pub async fn config_map(&self, name: &str) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
        let Some(map) = self
            .config_maps
            .get_opt(name)
            .await
            .with_context(|| format!("read ConfigMap {name}"))?
        else {
            return Ok(None);
        };
        let mut data: BTreeMap<String, Vec<u8>> = map
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value)| (key, value.into_bytes()))
            .collect();
        data.extend(
            map.binary_data
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| (key, value.0)),
        );
        Ok(Some(data))
    }

    /// A Secret's `data`; `None` if it does not exist.
    pub async fn secret(&self, name: &str) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
        let Some(secret) = self
            .secrets
            .get_opt(name)
            .await
            .with_context(|| format!("read Secret {name}"))?
        else {
            return Ok(None);
        };
        Ok(Some(
            secret
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| (key, value.0))
                .collect(),
        ))
    }

    /// The data of a ConfigMap or Secret; `None` if it does not exist.
    pub async fn data(&self, kind: Kind, name: &str) -> Result<Option<BTreeMap<String, Vec<u8>>>> {
        match kind {
            Kind::ConfigMap => self.config_map(name).await,
            Kind::Secret => self.secret(name).await,
        }
    }

    /// One key of a ConfigMap or Secret; `None` if it is missing and `optional`.
    async fn key(
        &self,
        kind: Kind,
        name: &str,
        key: &str,
        optional: bool,
    ) -> Result<Option<String>> {
        match self
            .data(kind, name)
            .await?
            .and_then(|mut data| data.remove(key))
        {
            Some(value) => Ok(Some(String::from_utf8_lossy(&value).into_owned())),
            None if optional => Ok(None),
            None => bail!("{kind:?} {name} has no key {key:?} (and the reference is not optional)"),
        }
    }
}

/// The container's environment in order: `envFrom` sources, then `env` entries with
/// `$(VAR)` references expanded; a later entry replaces an earlier one of the same name.
pub async fn container_env(
    container: &Container,
    sources: &Sources,
    pod: &PodFacts<'_>,
) -> Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    for from in container.env_from.iter().flatten() {
        let prefix = from.prefix.as_deref().unwrap_or_default();
        let (data, kind, name, optional) = if let Some(source) = &from.config_map_ref {
            let data = sources.config_map(&source.name).await?;
            (data, "ConfigMap", &source.name, source.optional)
        } else if let Some(source) = &from.secret_ref {
            let data = sources.secret(&source.name).await?;
            (data, "Secret", &source.name, source.optional)
        } else {
            bail!(
                "an envFrom entry of container {} has no source",
                container.name
            );
        };
        let Some(data) = data else {
            if optional == Some(true) {
                continue;
            }
            bail!("envFrom {kind} {name} does not exist");
        };
        for (key, value) in data {
            set(
                &mut env,
                format!("{prefix}{key}"),
                String::from_utf8_lossy(&value).into_owned(),
            );
        }
    }
    for var in container.env.iter().flatten() {
        if let Some(value) = env_value(var, sources, pod, &env).await? {
            set(&mut env, var.name.clone(), value);
        }
    }
    Ok(env)
}

async fn env_value(
    var: &EnvVar,
    sources: &Sources,
    pod: &PodFacts<'_>,
    env: &[(String, String)],
) -> Result<Option<String>> {
    let Some(from) = &var.value_from else {
        return Ok(Some(expand(var.value.as_deref().unwrap_or_default(), env)));
    };
    let EnvVarSource {
        config_map_key_ref,
        secret_key_ref,
        field_ref,
        ..
    } = from;
    if let Some(r) = config_map_key_ref {
        return sources
            .key(Kind::ConfigMap, &r.name, &r.key, r.optional == Some(true))
            .await;
    }
    if let Some(r) = secret_key_ref {
        return sources
            .key(Kind::Secret, &r.name, &r.key, r.optional == Some(true))
            .await;
    }
    if let Some(r) = field_ref {
        return field(&r.field_path, pod).map(Some);
    }
    bail!(
        "env {}: only configMapKeyRef, secretKeyRef and fieldRef are supported",
        var.name
    )
}

/// A downward API field; addresses are loopback, where the process really runs.
fn field(path: &str, pod: &PodFacts<'_>) -> Result<String> {
    let lookup = |map: &BTreeMap<String, String>, rest: &str| {
        let key = rest.trim_start_matches("['").trim_end_matches("']");
        map.get(key).cloned().unwrap_or_default()
    };
    Ok(match path {
        "metadata.name" => pod.name.to_owned(),
        "metadata.namespace" => pod.namespace.to_owned(),
        "spec.serviceAccountName" => pod.service_account.to_owned(),
        "spec.nodeName" => "berth-e2e".to_owned(),
        "status.podIP" | "status.podIPs" | "status.hostIP" | "status.hostIPs" => {
            "127.0.0.1".to_owned()
        }
        _ if path.starts_with("metadata.labels[") => {
            lookup(pod.labels, &path["metadata.labels".len()..])
        }
        _ if path.starts_with("metadata.annotations[") => {
            lookup(pod.annotations, &path["metadata.annotations".len()..])
        }
        _ => bail!("fieldRef {path:?} is not supported by the pod runner"),
    })
}

/// Sets `name` to `value`, replacing an earlier value.
pub fn set(env: &mut Vec<(String, String)>, name: String, value: String) {
    match env.iter_mut().find(|(existing, _)| *existing == name) {
        Some(entry) => entry.1 = value,
        None => env.push((name, value)),
    }
}

/// Kubernetes' `$(VAR)` expansion: a defined variable is substituted, an undefined
/// reference is kept as written, and `$$` stands for a literal `$`.
pub fn expand(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(after) = after.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(reference) = after.strip_prefix('(')
            && let Some(close) = reference.find(')')
        {
            let name = &reference[..close];
            match env.iter().rev().find(|(key, _)| key == name) {
                Some((_, value)) => out.push_str(value),
                None => out.push_str(&rest[dollar..dollar + 3 + close]),
            }
            rest = &reference[close + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_like_kubernetes() {
        let env = vec![
            ("PORT".to_owned(), "5000".to_owned()),
            ("HOST".to_owned(), "a".to_owned()),
        ];
        assert_eq!(expand("--listen=$(HOST):$(PORT)", &env), "--listen=a:5000");
        assert_eq!(
            expand("$(MISSING) $$(PORT) $$ $x $(", &env),
            "$(MISSING) $(PORT) $ $x $("
        );
        assert_eq!(expand("no references", &env), "no references");
    }

    #[test]
    fn later_values_replace_earlier_ones() {
        let mut env = Vec::new();
        set(&mut env, "A".into(), "1".into());
        set(&mut env, "B".into(), "2".into());
        set(&mut env, "A".into(), "3".into());
        assert_eq!(
            env,
            vec![("A".into(), "3".into()), ("B".into(), "2".into())]
        );
    }
}
