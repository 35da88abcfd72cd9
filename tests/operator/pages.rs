//! The settings page in a cluster: a change made there is a server-side apply on the
//! `Package` under the pages' own field manager, and a field another manager keeps (a
//! GitOps tool's `spec.visibility`) is shown read-only, saying where it is managed, and
//! is refused if posted anyway, so the page never fights the tool.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use berth_crds::package::Package;
use berth_e2e::Cluster;
use kube::api::Api;

use super::support::{
    apply_as_gitops, operator_on, package_resource, podman_on_pod, registry_pod_on_s3,
};
use crate::common::minio::Minio;

/// The value of `name="csrf"` in a page.
fn csrf(html: &str) -> Result<String> {
    html.split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
        .with_context(|| format!("a csrf field in {html}"))
}

/// `name=value` of the `Set-Cookie` named `name`.
fn cookie(r: &reqwest::Response, name: &str) -> Result<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .with_context(|| format!("no {name} cookie in {:?}", r.headers()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_settings_change_is_applied_to_the_package_and_gitops_fields_stay_read_only() -> Result<()>
{
    let minio = tokio::task::spawn_blocking(Minio::shared).await?;
    let cluster = Cluster::shared().await?;
    let namespace = cluster.namespace("operator-pages").await?;
    let ns = namespace.name();
    let client = cluster.client().await?;
    let (operator, _logs) = operator_on(cluster, ns).await?;
    let (pod, port) = registry_pod_on_s3(cluster, ns, minio, "", &operator).await?;

    let (token, host, alice) =
        podman_on_pod(cluster, ns, port, "alice", "write:packages,delete:packages");
    alice.publish(&format!("{host}/alice/app:v1"), "v1\n", &[]);

    // Git keeps the package's visibility.
    let packages: Api<Package> = Api::namespaced(client.clone(), ns);
    let resource = package_resource(&client, ns, "alice", "app").await?;
    apply_as_gitops(
        &packages,
        &resource,
        serde_json::json!({"owner": "alice", "name": "app", "visibility": "public"}),
    )
    .await?;

    // The pages, on the site host.
    let site = format!("http://pages.localhost:{port}");
    let http = reqwest::Client::builder()
        .resolve("pages.localhost", ([127, 0, 0, 1], port).into())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()?;
    let form = http.get(format!("{site}/login")).send().await?;
    let form_cookie = cookie(&form, "berth_sign_in")?;
    let form_csrf = csrf(&form.text().await?)?;
    let signed_in = http
        .post(format!("{site}/login"))
        .header("cookie", &form_cookie)
        .form(&[("login", "alice"), ("token", &token), ("csrf", &form_csrf)])
        .send()
        .await?;
    ensure!(signed_in.status() == 303, "sign-in: {}", signed_in.status());
    let session = cookie(&signed_in, "berth_session")?;

    let settings = format!("{site}/users/alice/packages/container/app/settings");
    let page = http
        .get(&settings)
        .header("cookie", &session)
        .send()
        .await?;
    ensure!(page.status() == 200, "settings: {}", page.status());
    let html = page.text().await?;
    let kept = format!("Managed in the Package {resource} (field manager gitops)");
    let before = packages.get(&resource).await?;
    ensure!(
        html.contains(&kept),
        "{kept} in {html}\nmanaged fields: {:?}",
        before.metadata.managed_fields
    );
    ensure!(
        !html.contains(r#"id="visibility-confirm""#),
        "no visibility form: {html}"
    );
    ensure!(
        html.contains(r#"id="invite-who""#),
        "access is editable: {html}"
    );
    let token_field = csrf(&html)?;

    // Invite bob: the Package's spec says so, under the pages' own manager.
    let invited = http
        .post(&settings)
        .header("cookie", &session)
        .form(&[
            ("csrf", token_field.as_str()),
            ("do", "invite"),
            ("kind", "user"),
            ("who", "bob"),
            ("role", "write"),
        ])
        .send()
        .await?;
    ensure!(
        invited.status() == 303,
        "invite: {} {}\nmanaged fields: {:?}",
        invited.status(),
        invited.text().await?,
        packages.get(&resource).await?.metadata.managed_fields
    );
    let applied = packages.get(&resource).await?;
    ensure!(
        applied
            .spec
            .access
            .iter()
            .any(|g| g.user.as_deref() == Some("bob") && g.role == berth_crds::access::Role::Write),
        "{:?}",
        applied.spec
    );
    let managers: Vec<(String, String)> = applied
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|m| {
            let fields = m
                .fields_v1
                .as_ref()
                .map(|f| f.0.to_string())
                .unwrap_or_default();
            (m.manager.clone().unwrap_or_default(), fields)
        })
        .collect();
    ensure!(
        managers
            .iter()
            .any(|(m, f)| m == "berth-pages" && f.contains("f:access")),
        "{managers:?}"
    );
    ensure!(
        managers
            .iter()
            .any(|(m, f)| m == "gitops" && f.contains("f:visibility")),
        "gitops keeps the visibility: {managers:?}"
    );
    ensure!(
        applied.spec.visibility == berth_crds::access::Visibility::Public,
        "{:?}",
        applied.spec
    );

    // A visibility change posted anyway is refused, and the spec keeps Git's value.
    let refused = http
        .post(&settings)
        .header("cookie", &session)
        .form(&[
            ("csrf", token_field.as_str()),
            ("do", "visibility"),
            ("visibility", "private"),
            ("confirm", "app"),
        ])
        .send()
        .await?;
    let status = refused.status();
    let text = refused.text().await?;
    let place = format!("managed in the Package {resource} (field manager gitops)");
    ensure!(status == 409 && text.contains(&place), "{status}: {text}");
    let after = packages.get(&resource).await?;
    ensure!(
        after.spec.visibility == berth_crds::access::Visibility::Public,
        "{:?}",
        after.spec
    );
    drop(pod);
    Ok(())
}
