//! The Package controller: validation into a `Ready` condition, the pull URL, and the
//! finalizer that honours `deletionPolicy`. The registry pods own the rest of the status
//! (publisher, counts, last push) under their own field manager.

use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_crds::Registry;
use berth_crds::names::{OPERATOR_MANAGER, PACKAGE_FINALIZER};
use berth_crds::organization::Organization;
use berth_crds::package::{DeletionPolicy, Package};
use futures_util::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
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

async fn reconcile_inner(pkg: &Package, ctx: &Context, stores: &Stores) -> Result<Action> {
    let ns = pkg
        .namespace()
        .ok_or_else(|| Error::NoNamespace(pkg.name_any()))?;
    let api: Api<Package> = Api::namespaced(ctx.client.clone(), &ns);
    let in_ns = |o: &Option<String>| o.as_deref() == Some(ns.as_str());
    let registries: Vec<_> = stores
        .registries
        .state()
        .into_iter()
        .filter(|r| in_ns(&r.metadata.namespace))
        .collect();

    // The finalizer exists only while content is to be deleted with the resource; the
    // registry pods delete the content and then remove it.
    let has_finalizer = pkg.finalizers().iter().any(|f| f == PACKAGE_FINALIZER);
    let wants_finalizer =
        pkg.spec.deletion_policy == DeletionPolicy::Delete && !registries.is_empty();
    if pkg.metadata.deletion_timestamp.is_some() {
        if has_finalizer && !wants_finalizer {
            set_finalizer(&api, pkg, false).await?;
        }
        return Ok(Action::await_change());
    }
    if has_finalizer != wants_finalizer {
        set_finalizer(&api, pkg, wants_finalizer).await?;
    }

    let packages: Vec<_> = stores
        .packages
        .state()
        .into_iter()
        .filter(|p| in_ns(&p.metadata.namespace))
        .collect();
    let orgs: Vec<_> = stores
        .organizations
        .state()
        .into_iter()
        .filter(|o| in_ns(&o.metadata.namespace))
        .collect();
    let host = registries.first().and_then(|r| {
        r.spec
            .containers_host
            .clone()
            .or_else(|| r.spec.host.as_ref().map(|h| format!("containers.{h}")))
    });
    let (conditions, url) = desired_status(
        pkg,
        &packages,
        &orgs,
        host.as_deref(),
        Time(jiff::Timestamp::now()),
    );
    let status = pkg.status.clone().unwrap_or_default();
    let unchanged = status.conditions == conditions
        && status.url == url
        && status.observed_generation == pkg.metadata.generation;
    if !unchanged {
        let patch = json!({
            "apiVersion": format!("{}/{}", berth_crds::GROUP, berth_crds::VERSION),
            "kind": "Package",
            "status": {"conditions": conditions, "url": url, "observedGeneration": pkg.metadata.generation},
        });
        let params = PatchParams::apply(OPERATOR_MANAGER).force();
        api.patch_status(&pkg.name_any(), &params, &Patch::Apply(&patch))
            .await?;
    }
    Ok(Action::requeue(RESYNC))
}

async fn set_finalizer(api: &Api<Package>, pkg: &Package, present: bool) -> Result<()> {
    let mut finalizers: Vec<String> = pkg
        .finalizers()
        .iter()
        .filter(|f| *f != PACKAGE_FINALIZER)
        .cloned()
        .collect();
    if present {
        finalizers.push(PACKAGE_FINALIZER.to_owned());
    }
    // A merge patch guarded by the resourceVersion: never drop another controller's
    // finalizer added meanwhile.
    let patch =
        json!({"metadata": {"finalizers": finalizers, "resourceVersion": pkg.resource_version()}});
    api.patch(
        &pkg.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

fn error_policy(pkg: Arc<Package>, error: &Error, _ctx: Arc<(Arc<Context>, Stores)>) -> Action {
    tracing::warn!(package = %pkg.name_any(), %error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(10))
}

/// Runs the Package controller until shutdown. Organizations and Registries feed it:
/// a changed Organization revalidates its packages.
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
