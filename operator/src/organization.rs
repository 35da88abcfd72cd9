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
use k8s_openapi::api::core::v1::Secret;
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
    out.extend(webhook_problems(org));
    out
}

/// What is wrong with the webhooks' configuration itself (their Secrets are checked
/// when dereferencing). Pure.
fn webhook_problems(org: &Organization) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut urls = HashSet::new();
    for hook in &org.spec.webhooks {
        let rest = (hook.url.strip_prefix("https://")).or_else(|| hook.url.strip_prefix("http://"));
        let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        if host.is_none_or(|h| h.is_empty()) || hook.url.contains(char::is_whitespace) {
            out.push((
                "InvalidWebhookUrl",
                format!("webhook {:?} is not an http(s) URL", hook.url),
            ));
        }
        // A hook's id (X-GitHub-Hook-ID) and its delivery history follow its URL.
        if !urls.insert(hook.url.as_str()) {
            out.push((
                "DuplicateWebhook",
                format!("webhook {:?} is declared twice", hook.url),
            ));
        }
        if hook.secret_file.is_some() {
            out.push((
                "WebhookSecretFile",
                format!(
                    "webhook {:?}: secretFile is read only by a standalone registry; in a cluster name a Secret with secretRef",
                    hook.url
                ),
            ));
        }
    }
    out
}

/// The webhooks' Secret keys that do not exist, as problems: `missing` are the
/// (url, Secret, key) the dereference did not find. Pure.
fn missing_secrets(missing: &[(String, String, String)]) -> Vec<(&'static str, String)> {
    missing
        .iter()
        .map(|(url, name, key)| {
            (
                "WebhookSecretMissing",
                format!(
                    "webhook {url:?} names key {key:?} of Secret {name:?}, which does not exist in this namespace: create it (kubectl create secret generic {name} --from-literal={key}=...)"
                ),
            )
        })
        .collect()
}

/// The status the operator reports for `org`: a `Ready` condition naming every problem
/// (its own and the `missing` webhook Secrets), merged into the current conditions; the
/// registry pods' webhook status is kept. Pure.
pub fn desired_status(
    org: &Organization,
    missing: &[(String, String, String)],
    now: Time,
) -> OrganizationStatus {
    let mut found = problems(org);
    found.extend(missing_secrets(missing));
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
        webhooks: current.webhooks,
    }
}

async fn reconcile(org: Arc<Organization>, ctx: Arc<Context>) -> Result<Action> {
    let result = reconcile_inner(&org, &ctx).await;
    ctx.metrics
        .count("Organization", if result.is_ok() { "ok" } else { "error" });
    result
}

/// Dereference (the webhooks' Secrets) → validate and build its status (pure,
/// [`desired_status`]) → apply (nothing: the registry pods read Organizations
/// themselves) → update the status.
async fn reconcile_inner(org: &Organization, ctx: &Context) -> Result<Action> {
    let ns = org
        .namespace()
        .ok_or_else(|| Error::NoNamespace(org.name_any()))?;
    let missing = missing_webhook_secrets(org, &Api::namespaced(ctx.client.clone(), &ns)).await?;
    let next = desired_status(org, &missing, Time(jiff::Timestamp::now()));
    update_status(&Api::namespaced(ctx.client.clone(), &ns), org, &next).await?;
    // Secrets are not watched (an Organization names few, and the operator would
    // otherwise cache every Secret of the namespace): one that is missing is looked for
    // again soon, so creating it makes the Organization Ready within seconds.
    let again = if missing.is_empty() { 600 } else { 5 };
    Ok(Action::requeue(Duration::from_secs(again)))
}

/// The (url, Secret, key) of each webhook whose `secretRef` names a Secret or key that
/// does not exist.
async fn missing_webhook_secrets(
    org: &Organization,
    secrets: &Api<Secret>,
) -> Result<Vec<(String, String, String)>> {
    let mut missing = Vec::new();
    for hook in &org.spec.webhooks {
        let Some(r) = &hook.secret_ref else { continue };
        let found = secrets.get_opt(&r.name).await?;
        let has_key = found.is_some_and(|s| {
            s.data.is_some_and(|d| d.contains_key(&r.key))
                || s.string_data.is_some_and(|d| d.contains_key(&r.key))
        });
        if !has_key {
            missing.push((hook.url.clone(), r.name.clone(), r.key.clone()));
        }
    }
    Ok(missing)
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
    fn webhooks_are_checked_and_a_missing_secret_names_the_fix() {
        let org: Organization = serde_saphyr::from_str(
            "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\nspec:\n  webhooks:\n    - {url: 'ftp://x'}\n    - {url: 'https://ci.example/hook', secretRef: {name: hook}}\n    - {url: 'https://ci.example/hook', secretFile: s}\n",
        )
        .unwrap();
        let reasons: Vec<_> = problems(&org).into_iter().map(|(r, _)| r).collect();
        assert_eq!(
            reasons,
            ["InvalidWebhookUrl", "DuplicateWebhook", "WebhookSecretFile"]
        );
        let hook = &org.spec.webhooks[1];
        assert_eq!(hook.secret_ref.as_ref().unwrap().key, "secret");
        let missing = [(hook.url.clone(), "hook".to_owned(), "secret".to_owned())];
        let mut ok = org.clone();
        ok.spec.webhooks.truncate(0);
        ok.spec.webhooks.push(hook.clone());
        let status = desired_status(&ok, &missing, Time(jiff::Timestamp::UNIX_EPOCH));
        let ready = &status.conditions[0];
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("False", "WebhookSecretMissing")
        );
        assert!(
            ready
                .message
                .contains("kubectl create secret generic hook --from-literal=secret="),
            "{}",
            ready.message
        );
        let status = desired_status(&ok, &[], Time(jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(status.conditions[0].status, "True");
    }

    #[test]
    fn the_status_is_ready_for_the_generation_seen() {
        let mut org: Organization = serde_saphyr::from_str(
            "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme, generation: 4}\nspec:\n  teams: [{name: devs}, {name: devs}]\n",
        )
        .unwrap();
        let status = desired_status(&org, &[], Time(jiff::Timestamp::UNIX_EPOCH));
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
        assert_eq!(
            desired_status(&org, &[], Time(jiff::Timestamp::now())),
            status
        );
    }
}
