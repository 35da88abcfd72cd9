//! Two registry processes on one MinIO bucket, as a Registry's pods are: pushes to
//! either are delivered once each, whichever process sends them.

use std::collections::HashSet;
use std::time::Duration;

use crate::common::minio::{Minio, bucket_name, free_addr};
use crate::common::podman::Podman;
use crate::common::{Berth, wait_until};
use crate::receiver::Receiver;
use crate::support::{SECRET, prepare, waiting};

#[test]
fn two_replicas_on_one_bucket_deliver_every_event_once() {
    let receiver_addr = free_addr();
    let receiver = Receiver::start(receiver_addr, SECRET);
    let dir = tempfile::tempdir().unwrap();
    // The policy (with the webhook) is the replicas' shared state directory's.
    prepare(dir.path(), &[format!("http://{receiver_addr}/hook")], true);
    let minio = Minio::shared();
    let bucket = bucket_name();
    let config = format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {{name: test}}\n\
         spec:\n  storage: {{{}}}\n  webhooks: {{allowPrivateTargets: true}}\n",
        minio.storage_yaml(&bucket, "")
    );
    let first = Berth::start_config_in(dir.path(), &config, &[]).ready();
    let second = Berth::start_config_in(dir.path(), &config, &[]).ready();
    let token = first.token().to_owned();
    let mut digests = Vec::new();
    for (i, replica) in [&first, &second, &first, &second].into_iter().enumerate() {
        let podman = Podman::new();
        podman.login(replica, "admin", &token);
        let image = format!("{}/acme/app:v{i}", replica.host());
        digests.push(podman.publish(&image, &format!("content {i}"), &[]));
    }

    let ds = receiver.wait_for(8, Duration::from_secs(60));
    wait_until("the outbox to empty", Duration::from_secs(60), || {
        waiting(&first) == 0
    });
    // A moment for a duplicate to show, if the claims let one through.
    std::thread::sleep(Duration::from_secs(2));
    let ds = if receiver.received().len() > ds.len() {
        receiver.received()
    } else {
        ds
    };
    let ids: HashSet<_> = ds.iter().map(|d| d["delivery"].clone()).collect();
    assert_eq!(ids.len(), 8, "two events for each of four pushes");
    assert_eq!(ds.len(), 8, "each delivered once: {ds:?}");
    for d in &ds {
        assert_eq!(d["verified"], true, "{d}");
        assert_eq!(d["errors"], serde_json::json!([]), "{d}");
    }
    let seen: HashSet<_> = ds
        .iter()
        .map(|d| d["digest"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(seen, digests.into_iter().collect(), "every push's version");
}
