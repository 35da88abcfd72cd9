//! The Organization controller: validation into a `Ready` condition. (Organizations take
//! effect in the registry pods, which read them directly.)

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use berth_crds::names::OPERATOR_MANAGER;
use berth_crds::organization::{Organization, OrganizationStatus};
use berth_crds::patch::apply_status;
use berth_registry::policy::normalize_url;
use futures_util::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::{Controller, watcher};
use kube::{Client, ResourceExt};
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

/// The status the operator reports for `org`: a `Ready` condition naming every problem,
/// merged into the current conditions. Pure.
pub fn desired_status(org: &Organization, now: Time) -> OrganizationStatus {
    let found = problems(org);
    let ready = match found.first() {
        None => Want::new("Ready", true, "Valid", "the organization is in force"),
        Some((reason, _)) => {
            let all: Vec<_> = found.iter().map(|(_, m)| m.as_str()).collect();
            Want::new("Ready", false, *reason, all.join("; "))
        }
    };
    let current = org.status.clone().unwrap_or_default();
    OrganizationStatus {
        observed_generation: org.metadata.generation,
        conditions: merge(&current.conditions, &[ready], org.metadata.generation, now),
    }
}

async fn reconcile(org: Arc<Organization>, ctx: Arc<Context>) -> Result<Action> {
    let result = reconcile_inner(&org, &ctx).await;
    ctx.metrics
        .count("Organization", if result.is_ok() { "ok" } else { "error" });
    result
}

/// Dereference (nothing: an Organization names no other object) → validate and build its
/// status (pure, [`desired_status`]) → apply (nothing: the registry pods read
/// Organizations themselves) → update the status.
async fn reconcile_inner(org: &Organization, ctx: &Context) -> Result<Action> {
    let ns = org
        .namespace()
        .ok_or_else(|| Error::NoNamespace(org.name_any()))?;
    let next = desired_status(org, Time(jiff::Timestamp::now()));
    update_status(&Api::namespaced(ctx.client.clone(), &ns), org, &next).await?;
    Ok(Action::requeue(Duration::from_secs(600)))
}

/// Writes `next` unless the Organization already shows it.
async fn update_status(
    api: &Api<Organization>,
    org: &Organization,
    next: &OrganizationStatus,
) -> Result<()> {
    if org.status.clone().unwrap_or_default() == *next {
        return Ok(());
    }
    // Both fields always, as this manager owns them (an absent generation is `null`).
    let status =
        json!({"conditions": next.conditions, "observedGeneration": next.observed_generation});
    apply_status(api, &org.name_any(), OPERATOR_MANAGER, &status).await?;
    Ok(())
}

fn error_policy(org: Arc<Organization>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(organization = %org.name_any(), %error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(10))
}

/// The Organization controller over `namespace` (or every namespace). Its cache
/// (`.store()`) is also the Package controller's view of Organizations.
pub fn controller(client: &Client, namespace: Option<&str>) -> Controller<Organization> {
    Controller::new(crate::scoped(client, namespace), watcher::Config::default())
}

/// Runs `controller` until shutdown.
pub async fn run(controller: Controller<Organization>, ctx: Arc<Context>) {
    controller
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

    #[test]
    fn the_status_is_ready_for_the_generation_seen() {
        let mut org: Organization = serde_saphyr::from_str(
            "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme, generation: 4}\nspec:\n  teams: [{name: devs}, {name: devs}]\n",
        )
        .unwrap();
        let status = desired_status(&org, Time(jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(status.observed_generation, Some(4));
        let ready = &status.conditions[0];
        assert_eq!(
            (
                ready.type_.as_str(),
                ready.status.as_str(),
                ready.reason.as_str()
            ),
            ("Ready", "False", "DuplicateTeam")
        );
        // Once shown, the same status is desired again: nothing is rewritten.
        org.status = Some(status.clone());
        assert_eq!(desired_status(&org, Time(jiff::Timestamp::now())), status);
    }
}
