//! The Registry reconcile: validate (pure, `validate.rs`) → dereference (the Secrets,
//! `dereference.rs`) → build the whole set (pure, `build/`) → apply it (SSA, `apply.rs`)
//! → status (pure, `status.rs`; written here). Validation comes first because it says
//! which Secrets there are to dereference.

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_crds::Registry;
use berth_crds::deploy::RegistryStatus;
use berth_crds::names::OPERATOR_MANAGER;
use berth_crds::patch::apply_status;
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::{Controller, watcher};
use kube::{Client, Resource, ResourceExt};

use super::apply::apply_all;
use super::build;
use super::dereference::dereference;
use super::status;
use super::validate::validate;
use crate::context::Context;
use crate::error::{Error, Result};

/// How often a healthy Registry is looked at again, drift or not.
const RESYNC: Duration = Duration::from_secs(300);
/// How soon a Registry waiting for a Secret that users create is looked at again (such
/// Secrets are not the operator's, so it does not watch them).
const AWAIT_SECRET: Duration = Duration::from_secs(5);

pub async fn reconcile(reg: Arc<Registry>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let result = reconcile_inner(&reg, &ctx).await;
    let kind = "Registry";
    ctx.metrics
        .count(kind, if result.is_ok() { "ok" } else { "error" });
    ctx.metrics
        .durations
        .get_or_create(&crate::metrics::KindLabels { kind })
        .observe(started.elapsed().as_secs_f64());
    result
}

async fn reconcile_inner(reg: &Registry, ctx: &Context) -> Result<Action> {
    let ns = reg
        .namespace()
        .ok_or_else(|| Error::NoNamespace(reg.name_any()))?;
    let current = reg.status.clone().unwrap_or_default().conditions;
    let now = Time(jiff::Timestamp::now());
    // Validate (pure); dereferencing needs the validated spec (which Secret it names).
    let valid = match validate(reg, &ctx.image) {
        Ok(v) => v,
        Err(invalid) => {
            let next = status::invalid(&invalid, reg.metadata.generation, &current, now);
            write_status(ctx, reg, &ns, next).await?;
            // Nothing to retry: the spec has to change.
            return Ok(Action::await_change());
        }
    };
    let material = match dereference(&ctx.client, &valid).await? {
        Ok(material) => material,
        Err(missing) => {
            let next = status::invalid(&missing, reg.metadata.generation, &current, now);
            write_status(ctx, reg, &ns, next).await?;
            return Ok(Action::requeue(AWAIT_SECRET));
        }
    };
    // Build (pure), apply, then the status from what was applied.
    let applied = apply_all(&ctx.client, &build::build(&valid, &material)).await?;
    let next = status::deployed(&valid, Some(&applied.deployment), &current, now);
    write_status(ctx, reg, &ns, next).await?;
    Ok(Action::requeue(RESYNC))
}

/// Writes `next` unless it is what the Registry already shows (an unchanged status is
/// never rewritten, so a reconcile of a settled Registry changes nothing), and records
/// an event when a condition changes.
async fn write_status(ctx: &Context, reg: &Registry, ns: &str, next: RegistryStatus) -> Result<()> {
    let current = reg.status.clone().unwrap_or_default();
    if current == next {
        return Ok(());
    }
    for c in &next.conditions {
        let before = current.conditions.iter().find(|b| b.type_ == c.type_);
        if before.is_none_or(|b| b.status != c.status || b.reason != c.reason) {
            let warning = (c.type_ == "Degraded") == (c.status == "True");
            let event = Event {
                type_: if warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: c.reason.clone(),
                note: Some(format!("{}={}: {}", c.type_, c.status, c.message)),
                action: "Reconcile".into(),
                secondary: None,
            };
            if let Err(e) = ctx.recorder.publish(&event, &reg.object_ref(&())).await {
                tracing::debug!(error = %e, "could not record an event");
            }
        }
    }
    let api: Api<Registry> = Api::namespaced(ctx.client.clone(), ns);
    apply_status(&api, &reg.name_any(), OPERATOR_MANAGER, &next).await?;
    Ok(())
}

pub fn error_policy(reg: Arc<Registry>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(registry = %reg.name_any(), %error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(10))
}

/// The Registry controller over `namespace` (or every namespace), reacting to changes of
/// the objects it owns. Its cache (`.store()`) is also the Package controller's view of
/// Registries.
pub fn controller(client: &Client, namespace: Option<&str>) -> Controller<Registry> {
    // Owned objects carry the operator's label; watching only those keeps the cache small.
    let owned = watcher::Config::default().labels(&format!(
        "{}={}",
        berth_crds::names::LABEL_MANAGED_BY,
        berth_crds::names::OPERATOR_MANAGER
    ));
    Controller::new(
        crate::scoped::<Registry>(client, namespace),
        watcher::Config::default(),
    )
    .owns(
        crate::scoped::<Deployment>(client, namespace),
        owned.clone(),
    )
    .owns(crate::scoped::<Service>(client, namespace), owned.clone())
    .owns(crate::scoped::<ConfigMap>(client, namespace), owned.clone())
    .owns(crate::scoped::<Secret>(client, namespace), owned.clone())
    .owns(
        crate::scoped::<ServiceAccount>(client, namespace),
        owned.clone(),
    )
    .owns(crate::scoped::<Role>(client, namespace), owned.clone())
    .owns(
        crate::scoped::<RoleBinding>(client, namespace),
        owned.clone(),
    )
    .owns(crate::scoped::<Ingress>(client, namespace), owned.clone())
    .owns(
        crate::scoped::<PodDisruptionBudget>(client, namespace),
        owned,
    )
}

/// Runs `controller` until shutdown.
pub async fn run(controller: Controller<Registry>, ctx: Arc<Context>) {
    controller
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "registry controller");
            }
        })
        .await;
}
