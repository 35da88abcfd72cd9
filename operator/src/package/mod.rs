//! The Package controller: validation into a `Ready` condition, the pull URL, and the
//! finalizer that honours `deletionPolicy`. The registry pods own the rest of the status
//! (publisher, counts, last push) under their own field manager.

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_crds::Registry;
use berth_crds::names::{OPERATOR_MANAGER, PACKAGE_FINALIZER};
use berth_crds::organization::Organization;
use berth_crds::package::{DeletionPolicy, Package};
use berth_crds::patch::{add_finalizer, apply_status, remove_finalizer};
use futures_util::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::runtime::{Controller, watcher};
use serde_json::json;

use crate::conditions::{Want, merge};
use crate::context::Context;
use crate::error::{Error, Result};

pub mod validate;

/// What the Package controller reads besides Packages.
pub struct Stores {
    pub packages: Store<Package>,
    pub organizations: Store<Organization>,
    pub registries: Store<Registry>,
}

const RESYNC: Duration = Duration::from_secs(600);

/// The conditions and URL the operator reports for `pkg`. Pure.
pub fn desired_status(
    pkg: &Package,
    packages: &[Arc<Package>],
    orgs: &[Arc<Organization>],
    containers_host: Option<&str>,
    now: Time,
) -> (Vec<Condition>, Option<String>) {
    let problems = validate::problems(
        pkg,
        packages.iter().map(|p| p.as_ref()),
        orgs.iter().map(|o| o.as_ref()),
    );
    let ready = match problems.first() {
        None => Want::new("Ready", true, "Valid", "the package's policy is in force"),
        Some(p) => {
            let all: Vec<_> = problems.iter().map(|p| p.message.as_str()).collect();
            Want::new("Ready", false, p.reason, all.join("; "))
        }
    };
    let current = pkg
        .status
        .as_ref()
        .map(|s| s.conditions.clone())
        .unwrap_or_default();
    let conditions = merge(&current, &[ready], pkg.metadata.generation, now);
    let url = containers_host.map(|h| format!("{h}/{}/{}", pkg.spec.owner, pkg.spec.name));
    (conditions, url)
}

async fn reconcile(pkg: Arc<Package>, ctx: Arc<(Arc<Context>, Stores)>) -> Result<Action> {
    let (ctx, stores) = (&ctx.0, &ctx.1);
    let started = Instant::now();
    let result = reconcile_inner(&pkg, ctx, stores).await;
    ctx.metrics
        .count("Package", if result.is_ok() { "ok" } else { "error" });
    ctx.metrics
        .durations
        .get_or_create(&crate::metrics::KindLabels { kind: "Package" })
        .observe(started.elapsed().as_secs_f64());
    result
}

/// What a Package's reconcile reads besides the Package: the Registries, Packages and
/// Organizations of its namespace, from the caches.
struct Dereferenced {
    registries: Vec<Arc<Registry>>,
    packages: Vec<Arc<Package>>,
    orgs: Vec<Arc<Organization>>,
}

fn dereference(stores: &Stores, ns: &str) -> Dereferenced {
    fn in_ns<K: kube::Resource + Clone>(store: &Store<K>, ns: &str) -> Vec<Arc<K>>
    where
        K::DynamicType: std::hash::Hash + Eq + Clone,
    {
        store
            .state()
            .into_iter()
            .filter(|o| o.meta().namespace.as_deref() == Some(ns))
            .collect()
    }
    Dereferenced {
        registries: in_ns(&stores.registries, ns),
        packages: in_ns(&stores.packages, ns),
        orgs: in_ns(&stores.organizations, ns),
    }
}

/// Whether `pkg` should carry the finalizer. It exists only while content is to be
/// deleted with the resource (and a registry is there to delete it); the registry pods
/// delete the content and then remove it. Pure.
fn wants_finalizer(pkg: &Package, registries: &[Arc<Registry>]) -> bool {
    pkg.spec.deletion_policy == DeletionPolicy::Delete && !registries.is_empty()
}

/// The host packages are pulled from: the first Registry's `containers.HOST`. Pure.
fn containers_host(registries: &[Arc<Registry>]) -> Option<String> {
    registries.first().and_then(|r| {
        r.spec
            .containers_host
            .clone()
            .or_else(|| r.spec.host.as_ref().map(|h| format!("containers.{h}")))
    })
}

/// Dereference (the caches) → apply the finalizer → validate and build the status
/// (pure, [`desired_status`]) → update the status.
async fn reconcile_inner(pkg: &Package, ctx: &Context, stores: &Stores) -> Result<Action> {
    let ns = pkg
        .namespace()
        .ok_or_else(|| Error::NoNamespace(pkg.name_any()))?;
    let api: Api<Package> = Api::namespaced(ctx.client.clone(), &ns);
    let seen = dereference(stores, &ns);

    let has_finalizer = pkg.finalizers().iter().any(|f| f == PACKAGE_FINALIZER);
    let wants_finalizer = wants_finalizer(pkg, &seen.registries);
    if pkg.metadata.deletion_timestamp.is_some() {
        if has_finalizer && !wants_finalizer {
            remove_finalizer(&api, pkg, PACKAGE_FINALIZER).await?;
        }
        return Ok(Action::await_change());
    }
    match (has_finalizer, wants_finalizer) {
        (false, true) => {
            add_finalizer(&api, pkg, PACKAGE_FINALIZER).await?;
        }
        (true, false) => {
            remove_finalizer(&api, pkg, PACKAGE_FINALIZER).await?;
        }
        _ => {}
    }

    let (conditions, url) = desired_status(
        pkg,
        &seen.packages,
        &seen.orgs,
        containers_host(&seen.registries).as_deref(),
        Time(jiff::Timestamp::now()),
    );
    update_status(&api, pkg, conditions, url).await?;
    Ok(Action::requeue(RESYNC))
}

/// Writes the operator's status fields unless the Package already shows them.
async fn update_status(
    api: &Api<Package>,
    pkg: &Package,
    conditions: Vec<Condition>,
    url: Option<String>,
) -> Result<()> {
    let status = pkg.status.clone().unwrap_or_default();
    let unchanged = status.conditions == conditions
        && status.url == url
        && status.observed_generation == pkg.metadata.generation;
    if !unchanged {
        // Every field the operator owns, always (the registry pods own the others).
        let status = json!({
            "conditions": conditions,
            "url": url,
            "observedGeneration": pkg.metadata.generation,
        });
        apply_status(api, &pkg.name_any(), OPERATOR_MANAGER, &status).await?;
    }
    Ok(())
}

fn error_policy(pkg: Arc<Package>, error: &Error, _ctx: Arc<(Arc<Context>, Stores)>) -> Action {
    tracing::warn!(package = %pkg.name_any(), %error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(10))
}

/// Runs the Package controller until shutdown. `organizations` and `registries` are the
/// caches of the Organization and Registry controllers; a changed Organization
/// revalidates its packages.
pub async fn run(
    ctx: Arc<Context>,
    namespace: Option<&str>,
    organizations: Store<Organization>,
    registries: Store<Registry>,
) {
    // Validation compares a Package with every other Package and Organization: judged
    // against caches still filling after a start, a valid one would flip to "unknown
    // organization" and back, rewriting its status for nothing. The controller itself
    // holds reconciles until its own cache of Packages is full.
    tracing::debug!("waiting for the Organization and Registry caches");
    let _ = organizations.wait_until_ready().await;
    let _ = registries.wait_until_ready().await;
    tracing::debug!("caches ready; starting the Package controller");
    let api: Api<Package> = crate::scoped(&ctx.client, namespace);
    let orgs_api: Api<Organization> = crate::scoped(&ctx.client, namespace);
    let controller = Controller::new(api, watcher::Config::default());
    let stores = Stores {
        packages: controller.store(),
        organizations,
        registries,
    };
    let packages = stores.packages.clone();
    controller
        .watches(
            orgs_api,
            watcher::Config::default(),
            move |org: Organization| {
                // Every package the organization owns.
                let name = org.name_any();
                let ns = org.namespace();
                packages
                    .state()
                    .into_iter()
                    .filter(|p| p.spec.owner == name && p.namespace() == ns)
                    .map(|p| kube::runtime::reflector::ObjectRef::from_obj(p.as_ref()))
                    .collect::<Vec<_>>()
            },
        )
        .shutdown_on_signal()
        .run(reconcile, error_policy, Arc::new((ctx, stores)))
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "package controller");
            }
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_names_every_problem_and_the_url_the_host() {
        let pkg: Package = serde_saphyr::from_str(
            "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {name: acme.app, generation: 2}\nspec: {owner: acme, name: app, access: [{team: ops, role: read}, {role: read}]}\n",
        )
        .unwrap();
        let org: Organization = serde_saphyr::from_str(
            "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\nspec: {}\n",
        )
        .unwrap();
        let (conditions, url) = desired_status(
            &pkg,
            &[Arc::new(pkg.clone())],
            &[Arc::new(org)],
            Some("containers.example.com"),
            Time(jiff::Timestamp::UNIX_EPOCH),
        );
        assert_eq!(conditions[0].status, "False");
        assert_eq!(conditions[0].reason, "UnknownTeam");
        assert!(
            conditions[0].message.contains("exactly one"),
            "{}",
            conditions[0].message
        );
        assert_eq!(conditions[0].observed_generation, Some(2));
        assert_eq!(url.as_deref(), Some("containers.example.com/acme/app"));
    }
}
