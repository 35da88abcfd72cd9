//! Every push is delivered as GitHub's `package` and `registry_package` events, signed,
//! valid against GitHub's schema, in order; and at least once, whatever is down.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;

use crate::common::minio::free_addr;
use crate::common::podman::Podman;
use crate::common::{Berth, wait_until};
use crate::receiver::Receiver;
use crate::support::{SECRET, pending, registry, webhook_cmd};

const WITHIN: Duration = Duration::from_secs(60);

/// Each delivery passed the receiver's checks and describes `digest` tagged `tag`.
fn assert_published(d: &Value, digest: &str, tag: &str) {
    assert_eq!(d["verified"], true, "the signature verifies: {d}");
    assert_eq!(
        d["errors"],
        serde_json::json!([]),
        "the payload matches GitHub's schema: {d}"
    );
    assert_eq!(d["action"], "published", "{d}");
    assert_eq!(d["package"], "acme/app", "{d}");
    assert_eq!(d["tag"], tag, "{d}");
    assert_eq!(d["digest"], digest, "{d}");
    assert_eq!(d["sender"], "admin", "{d}");
    assert!(
        d["user_agent"]
            .as_str()
            .unwrap_or("")
            .starts_with("GitHub-Hookshot/"),
        "{d}"
    );
}

fn events(ds: &[Value]) -> Vec<&str> {
    ds.iter()
        .map(|d| d["event"].as_str().unwrap_or(""))
        .collect()
}

#[test]
fn a_push_and_a_tag_move_each_send_both_events_signed_valid_and_in_order() {
    let receiver_addr = free_addr();
    let receiver = Receiver::start(receiver_addr, SECRET);
    let dir = tempfile::tempdir().unwrap();
    let berth = registry(dir.path(), receiver_addr);
    let podman = Podman::admin(&berth);
    let image = format!("{}/acme/app:v1", berth.host());
    let first = podman.publish(
        &image,
        "first",
        &[("org.opencontainers.image.description", "the app")],
    );
    // The tag moves: a new version is published under the same tag.
    let second = podman.publish(&image, "second", &[]);
    assert_ne!(first, second);

    let ds = receiver.wait_for(4, WITHIN);
    assert_eq!(ds.len(), 4, "two events per push, nothing else: {ds:?}");
    for d in &ds[..2] {
        assert_published(d, &first, "v1");
    }
    for d in &ds[2..] {
        assert_published(d, &second, "v1");
    }
    let mut kinds = events(&ds);
    kinds.sort();
    assert_eq!(
        kinds,
        ["package", "package", "registry_package", "registry_package"]
    );
    let ids: HashSet<_> = ds.iter().map(|d| d["delivery"].clone()).collect();
    assert_eq!(ids.len(), 4, "a delivery id per event");
    let hooks: HashSet<_> = ds.iter().map(|d| d["hook_id"].clone()).collect();
    assert_eq!(hooks.len(), 1, "one hook: {hooks:?}");
    wait_until("the outbox to empty", WITHIN, || {
        pending(&berth.data_dir).is_empty()
    });

    // What was delivered is listed, with the receiver's status, and can be sent again
    // under the same X-GitHub-Delivery.
    let listed = webhook_cli(&berth, &["deliveries"]);
    for d in &ds {
        let id = d["delivery"].as_str().unwrap();
        let line = listed
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} is listed:\n{listed}"));
        assert!(line.contains(" 200 "), "delivered with 200: {line}");
    }
    let again = ds[0]["delivery"].as_str().unwrap();
    let queued = webhook_cli(&berth, &["redeliver", again]);
    assert!(queued.contains(again), "{queued}");
    let ds = receiver.wait_for(5, WITHIN);
    assert_eq!(ds[4]["delivery"], again, "the redelivery keeps its id");
    assert_published(&ds[4], &first, "v1");
    let refused = webhook_cmd(&berth, &["redeliver", "no-such-delivery"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("berth webhook deliveries"),
        "names where ids are listed: {refused:?}"
    );
}

fn webhook_cli(berth: &Berth, args: &[&str]) -> String {
    let out = webhook_cmd(berth, args);
    assert!(out.status.success(), "berth webhook {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_receiver_down_and_a_registry_killed_with_events_undelivered_lose_nothing() {
    let receiver_addr = free_addr();
    let dir = tempfile::tempdir().unwrap();
    let mut berth = registry(dir.path(), receiver_addr);
    let podman = Podman::admin(&berth);
    let image = format!("{}/acme/app:v1", berth.host());
    let first = podman.publish(&image, "first", &[]);
    let second = podman.publish(&image, "second", &[]);

    // Nobody listens: every event waits in storage, the oldest retried (the others
    // wait behind it, to keep the package's order).
    wait_until("the oldest event to have been tried", WITHIN, || {
        let p = pending(&berth.data_dir);
        p.len() == 4 && p[0]["attempts"].as_u64() >= Some(2)
    });
    let waiting: HashSet<String> = pending(&berth.data_dir)
        .iter()
        .map(|e| e["delivery"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        pending(&berth.data_dir)[0]["lastError"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "a failed attempt says why"
    );

    // kill -9 with the events undelivered, then a new process on the same storage.
    berth.kill();
    // The last event as a crash between its delivery's two steps leaves it: its
    // outcome added to its file, the file not yet moved into the history. The new
    // process must finish the move, not send it again.
    let outbox = berth.data_dir.join("_berth/webhooks/pending");
    let mut files: Vec<_> = std::fs::read_dir(&outbox)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let last_event = pending(&berth.data_dir)[3].clone();
    let settled = last_event["delivery"].as_str().unwrap().to_owned();
    let outcome = r#"{"attempts":3,"deliveredAtMs":1700000000000,"status":202,"response":"taken before the crash"}"#;
    let mut last = std::fs::read(&files[3]).unwrap();
    last.extend_from_slice(format!("\n{outcome}").as_bytes());
    std::fs::write(&files[3], last).unwrap();
    let args = crate::support::prepare(dir.path(), &[format!("http://{receiver_addr}/hook")], true);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let berth = Berth::start_in(dir.path(), &args);
    let receiver = Receiver::start(receiver_addr, SECRET);

    // A claim held at the kill expires after 30 s; retries back off for some seconds.
    let ds = receiver.wait_for(3, Duration::from_secs(120));
    let delivered: HashSet<String> = ds
        .iter()
        .map(|d| d["delivery"].as_str().unwrap().to_owned())
        .collect();
    let mut unsent = waiting.clone();
    unsent.remove(&settled);
    assert_eq!(delivered, unsent, "the very events that waited, each once");
    for d in &ds[..2] {
        assert_published(d, &first, "v1");
    }
    assert_published(&ds[2], &second, "v1");
    wait_until("the outbox to empty", WITHIN, || {
        std::fs::read_dir(&outbox).unwrap().next().is_none()
    });
    assert_eq!(receiver.received().len(), 3, "no duplicates once delivered");
    // The settled one is in the history with the outcome it had.
    let listed = webhook_cli(&berth, &["deliveries", "--json"]);
    let record: Value = listed
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["delivery"] == settled.as_str())
        .unwrap_or_else(|| panic!("{settled} in the history: {listed}"));
    assert_eq!(record["status"], 202, "{record}");
    assert_eq!(record["response"], "taken before the crash", "{record}");
    assert_eq!(record["attempts"], 3, "{record}");
    assert_eq!(record["event"], last_event["event"], "{record}");
    assert_eq!(record["body"], last_event["body"], "{record}");
}

#[test]
fn versions_and_packages_deleted_and_restored_send_berths_own_events_when_listed() {
    let receiver_addr = free_addr();
    let receiver = Receiver::start(receiver_addr, SECRET);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{receiver_addr}/hook");
    let args = crate::support::prepare_with_events(
        dir.path(),
        &[url],
        true,
        "[berth_package_version, berth_package]",
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let berth = Berth::start_in(dir.path(), &args);
    let podman = Podman::admin(&berth);
    let image = |tag: &str| format!("{}/acme/app:{tag}", berth.host());
    let first = podman.publish(&image("v1"), "first", &[]);
    podman.publish(&image("v2"), "second", &[]);

    let versions = "/api/v3/orgs/acme/packages/container/app/versions";
    crate::support::delete_and_restore(&berth, versions, &first);
    let api = berth.admin_blocking_client();
    let package = "/api/v3/orgs/acme/packages/container/app";
    assert_eq!(api.delete(berth.url(package)).send().unwrap().status(), 204);
    let restore = format!("{package}/restore");
    assert_eq!(api.post(berth.url(&restore)).send().unwrap().status(), 204);

    let ds = receiver.wait_for(4, WITHIN);
    wait_until("the outbox to empty", WITHIN, || {
        pending(&berth.data_dir).is_empty()
    });
    let ds = if receiver.received().len() > ds.len() {
        receiver.received()
    } else {
        ds
    };
    assert_eq!(
        ds.len(),
        4,
        "no push events for a hook that listed only Berth's: {ds:?}"
    );
    for (d, action) in ds[..2].iter().zip(["deleted", "restored"]) {
        assert_eq!(d["event"], "berth_package_version", "{d}");
        assert_eq!(d["action"], action, "{d}");
        assert_eq!(d["verified"], true, "{d}");
        assert_eq!(d["package"], "acme/app", "{d}");
        assert_eq!(d["version_name"], first.as_str(), "{d}");
        assert_eq!(d["sender"], "admin", "{d}");
    }
    for (d, action) in ds[2..].iter().zip(["deleted", "restored"]) {
        assert_eq!(d["event"], "berth_package", "{d}");
        assert_eq!(d["action"], action, "{d}");
        assert_eq!(d["verified"], true, "{d}");
        assert_eq!(d["package"], "acme/app", "{d}");
        assert_eq!(d["sender"], "admin", "{d}");
    }
}
