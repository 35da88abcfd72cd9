//! What every reconcile shares.

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};

use crate::metrics::Metrics;

pub struct Context {
    pub client: Client,
    /// Reconciling (for `/readyz`): the caches are started and, with leader election,
    /// this replica leads.
    pub ready: std::sync::atomic::AtomicBool,
    /// The registry image when a Registry names none: the operator's own.
    pub image: String,
    pub metrics: Metrics,
    pub recorder: Recorder,
}

impl Context {
    pub fn new(client: Client, image: String) -> Context {
        let reporter = Reporter {
            controller: berth_crds::names::OPERATOR_MANAGER.into(),
            instance: std::env::var("HOSTNAME").ok(),
        };
        Context {
            ready: std::sync::atomic::AtomicBool::new(false),
            recorder: Recorder::new(client.clone(), reporter),
            client,
            image,
            metrics: Metrics::default(),
        }
    }
}
