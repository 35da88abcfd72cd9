//! `berth operator` and `berth crdgen`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

#[derive(Args)]
pub struct OperatorArgs {
    /// Watch only this namespace (default: every namespace).
    #[arg(long, env = "BERTH_WATCH_NAMESPACE")]
    namespace: Option<String>,
    /// The registry image for Registries that name none (default: this operator's own).
    #[arg(long, env = "BERTH_IMAGE", default_value = concat!("localhost/berth:", env!("CARGO_PKG_VERSION")))]
    image: String,
    /// Health (/livez, /readyz) and /metrics.
    #[arg(long, env = "BERTH_OPERATOR_LISTEN", default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Take the `berth-operator` Lease before reconciling (several replicas are then safe).
    #[arg(long, env = "BERTH_LEADER_ELECTION")]
    leader_election: bool,
    /// The Lease's namespace.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
}

pub fn run(args: OperatorArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(berth_operator::run(berth_operator::Options {
        namespace: args.namespace,
        image: args.image,
        listen: args.listen,
        leader_election: args.leader_election,
        lease_namespace: args.lease_namespace,
    }))?;
    Ok(())
}

#[derive(Args)]
pub struct CrdgenArgs {
    /// Where to write the CRD files (`-` prints them all to stdout).
    #[arg(long, default_value = "charts/berth/crds")]
    out: PathBuf,
}

pub fn crdgen(args: CrdgenArgs) -> anyhow::Result<()> {
    if args.out.as_os_str() == "-" {
        for (_, crd) in berth_crds::crdgen::all() {
            println!("---\n{}", berth_crds::crdgen::to_yaml(&crd));
        }
        return Ok(());
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for (file, crd) in berth_crds::crdgen::all() {
        let path = args.out.join(file);
        std::fs::write(&path, berth_crds::crdgen::to_yaml(&crd))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
