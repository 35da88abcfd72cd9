//! Webhook URLs cannot reach inside the registry's network unless the Registry allows it.

use std::time::Duration;

use crate::common::podman::Podman;
use crate::common::{Berth, wait_until};
use crate::support::{pending, prepare};

#[test]
fn webhooks_to_metadata_and_private_addresses_are_refused_naming_why() {
    let dir = tempfile::tempdir().unwrap();
    let urls = [
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://10.0.0.1/hook".to_owned(),
    ];
    let args = prepare(dir.path(), &urls, false);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let berth = Berth::start_in(dir.path(), &args);
    let podman = Podman::admin(&berth);
    podman.publish(&format!("{}/acme/app:v1", berth.host()), "x", &[]);

    // Two events for each of the two hooks; the older of each hook's pair is refused
    // before any request (the younger waits behind it: one package's events go out in
    // order), and nothing is delivered.
    let tried = || -> Vec<serde_json::Value> {
        pending(&berth.data_dir)
            .into_iter()
            .filter(|e| e["lastError"].is_string())
            .collect()
    };
    wait_until(
        "each hook's first delivery to be refused",
        Duration::from_secs(60),
        || tried().len() == 2,
    );
    assert_eq!(pending(&berth.data_dir).len(), 4);
    for e in tried() {
        let error = e["lastError"].as_str().unwrap();
        let why = if e["url"].as_str().unwrap().contains("169.254") {
            "link-local"
        } else {
            "private"
        };
        assert!(error.contains(why), "{error}");
        assert!(
            error.contains("allowPrivateTargets"),
            "names the way out: {error}"
        );
    }
}
