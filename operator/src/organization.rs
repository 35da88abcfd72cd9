//! The Organization controller: validation into a `Ready` condition. (Organizations take
//! effect in the registry pods, which read them directly.)

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use berth_crds::names::OPERATOR_MANAGER;
use berth_crds::organization::Organization;
use berth_registry::policy::normalize_url;
use futures_util::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::{Controller, watcher};
use serde_json::json;

use crate::conditions::{Want, merge};
use crate::context::Context;
use crate::error::{Error, Result};

/// What is wrong with an Organization: (reason, message). Pure.
pub fn problems(org: &Organization) -> Vec<(&'static str, String)> {
    let spec = &org.spec;
    let mut out = Vec::new();
    let teams: HashSet<&str> = spec.teams.iter().map(|t| t.name.as_str()).collect();
    if teams.len() != spec.teams.len() {
        out.push(("DuplicateTeam", "two teams share a name".to_owned()));
    }
    let (mut names, mut urls) = (HashSet::new(), HashSet::new());
    for repo in &spec.repositories {
        if !names.insert(repo.name.as_str()) || !urls.insert(normalize_url(&repo.url)) {
            out.push((
                "DuplicateRepository",
                format!(
                    "repository {} is declared twice (by name or URL)",
                    repo.name
                ),
            ));
        }
        if !(repo.url.starts_with("https://") || repo.url.starts_with("http://")) {
            out.push((
                "InvalidRepositoryUrl",
                format!(
                    "repository {}: {:?} is not an http(s) URL",
                    repo.name, repo.url
                ),
            ));
        }
        for grant in &repo.access {
            match (&grant.user, &grant.team) {
                (None, Some(t)) if !teams.contains(t.as_str()) => out.push((
                    "UnknownTeam",
                    format!(
                        "repository {} grants team {t}, which does not exist",
                        repo.name
                    ),
                )),
                (Some(_), None) | (None, Some(_)) => {}
                _ => out.push((
                    "InvalidGrant",
                    format!(
                        "repository {}: a grant names exactly one of user or team",
                        repo.name
                    ),
                )),
            }
        }
    }
    out
}

async fn reconcile(org: Arc<Organization>, ctx: Arc<Context>) -> Result<Action> {
    let result = async {
        let ns = org
            .namespace()
            .ok_or_else(|| Error::NoNamespace(org.name_any()))?;
        let found = problems(&org);
        let ready = match found.first() {
            None => Want::new("Ready", true, "Valid", "the organization is in force"),
            Some((reason, _)) => {
                let all: Vec<_> = found.iter().map(|(_, m)| m.as_str()).collect();
                Want::new("Ready", false, *reason, all.join("; "))
            }
        };
        let status = org.status.clone().unwrap_or_default();
        let conditions = merge(
            &status.conditions,
            &[ready],
            org.metadata.generation,
            Time(jiff::Timestamp::now()),
        );
        if conditions != status.conditions || status.observed_generation != org.metadata.generation
        {
            let patch = json!({
                "apiVersion": format!("{}/{}", berth_crds::GROUP, berth_crds::VERSION),
                "kind": "Organization",
                "status": {"conditions": conditions, "observedGeneration": org.metadata.generation},
            });
            let api: Api<Organization> = Api::namespaced(ctx.client.clone(), &ns);
            let params = PatchParams::apply(OPERATOR_MANAGER).force();
            api.patch_status(&org.name_any(), &params, &Patch::Apply(&patch))
                .await?;
        }
        Ok(Action::requeue(Duration::from_secs(600)))
    }
    .await;
    ctx.metrics
        .count("Organization", if result.is_ok() { "ok" } else { "error" });
    result
}

fn error_policy(org: Arc<Organization>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(organization = %org.name_any(), %error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(10))
}

pub async fn run(ctx: Arc<Context>, namespace: Option<&str>) {
    let api: Api<Organization> = crate::scoped(&ctx.client, namespace);
    Controller::new(api, watcher::Config::default())
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "organization controller");
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_and_teams_are_checked() {
        let org: Organization = serde_saphyr::from_str(
            "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\nspec:\n  teams: [{name: devs}]\n  repositories:\n    - {name: app, url: https://git.example.com/acme/app}\n    - {name: app2, url: https://git.example.com/acme/app.git}\n    - {name: x, url: 'git@host:x', access: [{team: ops, role: read}]}\n",
        )
        .unwrap();
        let reasons: Vec<_> = problems(&org).into_iter().map(|(r, _)| r).collect();
        assert_eq!(
            reasons,
            ["DuplicateRepository", "InvalidRepositoryUrl", "UnknownTeam"]
        );
        let fine: Organization = serde_saphyr::from_str(
            "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\nspec: {teams: [{name: devs}]}\n",
        )
        .unwrap();
        assert!(problems(&fine).is_empty());
    }
}
