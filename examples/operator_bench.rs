//! The operator's benchmark (run by `make bench` through `bench/operator.sh`): on its own
//! control plane, reconcile 1,000 Packages and measure the time until all are Ready and
//! the operator's memory; then measure how long a Package edit takes to change a
//! registry pod's answer (policy propagation), p50 and p99.
//!
//!   BERTH_BIN=target/release/berth cargo run --release --example operator_bench [-- COUNT]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use berth_crds::package::{Package, PackageSpec};
use berth_e2e::{Cluster, free_port};
use futures_util::{StreamExt, stream};
use kube::api::{Api, ListParams, Patch, PatchParams};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rss_mib(pid: u32) -> Result<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    Ok((field("VmRSS:"), field("VmHWM:")))
}

async fn wait_http(url: &str, ok: impl Fn(u16) -> bool) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(url).await
            && ok(r.status().as_u16())
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{url} never answered as expected");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<()> {
    let count: usize = std::env::args().nth(1).map_or(Ok(1000), |a| a.parse())?;
    let berth = std::env::var("BERTH_BIN").unwrap_or_else(|_| "target/release/berth".into());
    let cluster = Cluster::start().await?;
    let crds = format!("{}/charts/berth/crds", env!("CARGO_MANIFEST_DIR"));
    cluster
        .kubectl(&["apply", "--server-side", "-f", &crds])
        .await?;
    let ns = cluster.namespace("bench").await?;
    let ns = ns.name().to_owned();
    let client = cluster.client().await?;

    let operator = start_operator(&berth, &cluster, &ns).await?;
    let packages: Api<Package> = Api::namespaced(client.clone(), &ns);
    let started = Instant::now();
    apply_packages(&packages, count).await?;
    let applied_in = started.elapsed();
    wait_all_ready(&packages, count, started).await?;
    let all_ready = started.elapsed();
    let (rss, hwm) = rss_mib(operator.0.id())?;

    let dir = tempfile::tempdir()?;
    let (_registry, reg_port) = start_registry(&berth, &cluster, &ns, dir.path()).await?;
    let mut latencies = propagation(&packages, reg_port).await?;
    latencies.sort_by(|a, b| a.total_cmp(b));
    let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));

    println!("| figure | result | target |");
    println!("|---|---|---|");
    println!(
        "| {count} Packages applied (32 at a time) | {:.1} s | |",
        applied_in.as_secs_f64()
    );
    println!(
        "| {count} Packages all Ready | {:.1} s | ≤ 30 s |",
        all_ready.as_secs_f64()
    );
    println!("| operator RSS after (peak) | {rss:.0} MiB ({hwm:.0} MiB) | ≤ 100 MiB |");
    println!(
        "| policy propagation p50 / p99 ({} edits) | {p50:.0} ms / {p99:.0} ms | p99 ≤ 2 s |",
        latencies.len()
    );
    Ok(())
}

/// The operator, watching only `ns`, once it is ready.
async fn start_operator(berth: &str, cluster: &Cluster, ns: &str) -> Result<Killed> {
    let op_port = free_port()?;
    let operator = Killed(
        Command::new(berth)
            .args([
                "operator",
                "--namespace",
                ns,
                "--listen",
                &format!("127.0.0.1:{op_port}"),
            ])
            .env("KUBECONFIG", cluster.kubeconfig())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting the operator")?,
    );
    wait_http(&format!("http://127.0.0.1:{op_port}/readyz"), |s| s == 200).await?;
    Ok(operator)
}

/// `count` Packages, applied 32 at a time.
async fn apply_packages(packages: &Api<Package>, count: usize) -> Result<()> {
    let applied: Vec<Result<Package, kube::Error>> = stream::iter(0..count)
        .map(|i| {
            let api = packages.clone();
            async move {
                let p = Package::new(
                    &format!("team.app-{i}"),
                    PackageSpec::new("team", format!("app-{i}")),
                );
                api.patch(
                    &format!("team.app-{i}"),
                    &PatchParams::apply("bench"),
                    &Patch::Apply(&p),
                )
                .await
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for r in applied {
        r?;
    }
    Ok(())
}

/// Waits until all `count` Packages are Ready, at most 10 minutes after `started`.
async fn wait_all_ready(packages: &Api<Package>, count: usize, started: Instant) -> Result<()> {
    loop {
        let ready = packages
            .list(&ListParams::default())
            .await?
            .items
            .iter()
            .filter(|p| {
                p.status.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == "True")
                })
            })
            .count();
        if ready == count {
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(600) {
            bail!("only {ready} of {count} Packages Ready after 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A registry pod (a local process with the admin's identity) on `ns`, its files in
/// `dir`, once it is ready; and its port.
async fn start_registry(
    berth: &str,
    cluster: &Cluster,
    ns: &str,
    dir: &Path,
) -> Result<(Killed, u16)> {
    let status = Command::new(berth)
        .args(["token", "rotate-key", "--data-dir"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("making a signing key failed");
    }
    let reg_port = free_port()?;
    let config = dir.join("registry.yaml");
    std::fs::write(
        &config,
        "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {name: main}\nspec: {}\n",
    )?;
    let registry = Killed(
        Command::new(berth)
            .args([
                "registry",
                "serve",
                "--kubernetes",
                "--single-host",
                "--registry",
                "main",
            ])
            .args([
                "--namespace",
                ns,
                "--listen",
                &format!("127.0.0.1:{reg_port}"),
            ])
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--keys-dir")
            .arg(dir.join("auth/keys"))
            .env("KUBECONFIG", cluster.kubeconfig())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .context("starting the registry")?,
    );
    wait_http(&format!("http://127.0.0.1:{reg_port}/readyz"), |s| s == 200).await?;
    Ok((registry, reg_port))
}

/// Propagation: flips team/app-0 between private and public; the milliseconds until an
/// anonymous request sees each change (401 while private, anything else once public).
async fn propagation(packages: &Api<Package>, reg_port: u16) -> Result<Vec<f64>> {
    let url = format!("http://127.0.0.1:{reg_port}/v2/team/app-0/tags/list");
    let http = reqwest::Client::new();
    let mut latencies = Vec::new();
    for round in 0..60 {
        let public = round % 2 == 0;
        let mut p = Package::new("team.app-0", PackageSpec::new("team", "app-0"));
        p.spec.visibility = if public {
            berth_crds::Visibility::Public
        } else {
            berth_crds::Visibility::Private
        };
        let t0 = Instant::now();
        packages
            .patch(
                "team.app-0",
                &PatchParams::apply("bench"),
                &Patch::Apply(&p),
            )
            .await?;
        loop {
            let s = http.get(&url).send().await?.status().as_u16();
            if (s != 401) == public {
                break;
            }
            if t0.elapsed() > Duration::from_secs(30) {
                bail!("the registry never saw round {round}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(latencies)
}
