//! The audit trail: a push, a version's delete and restore through the REST API, and
//! sign-ins (good and bad) are each one JSON line under `berth::audit` with `--log-format
//! json`, naming who, what, the package, the version and where from.

use std::time::Duration;

use serde_json::Value;

use crate::common::podman::Podman;
use crate::common::{Berth, wait_until};

/// The audit lines logged so far, as their JSON fields.
fn audit_lines(berth: &Berth) -> Vec<Value> {
    berth
        .log
        .lock()
        .unwrap()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "berth::audit")
        .collect()
}

fn find<'a>(lines: &'a [Value], action: &str, outcome: &str) -> Option<&'a Value> {
    lines.iter().find(|l| {
        l["action"] == action
            && l["outcome"]
                .as_str()
                .is_some_and(|o| o.starts_with(outcome))
    })
}

#[test]
fn pushes_deletes_restores_and_sign_ins_are_one_json_line_each() {
    let berth = Berth::start_with(&["--log-format", "json"], |_| {});
    let podman = Podman::admin(&berth);
    let image = |tag: &str| format!("{}/admin/app:{tag}", berth.host());
    let first = podman.publish(&image("v1"), "first", &[]);
    podman.publish(&image("v2"), "second", &[]);

    let versions = "/api/v3/user/packages/container/app/versions";
    let id = crate::support::delete_and_restore(&berth, versions, &first);
    let bad = reqwest::blocking::Client::new()
        .get(berth.url("/token?service=x"))
        .basic_auth("mallory", Some("bpat_not-a-real-token"))
        .send()
        .unwrap();
    assert_eq!(bad.status(), 401);

    let mut lines = Vec::new();
    wait_until("the audit lines", Duration::from_secs(10), || {
        lines = audit_lines(&berth);
        ["push", "delete_version", "restore_version"]
            .iter()
            .all(|a| find(&lines, a, "ok").is_some())
            && find(&lines, "sign_in", "invalid").is_some()
    });
    let push = lines
        .iter()
        .find(|l| l["action"] == "push" && l["version"] == first.as_str())
        .expect("the first push's line");
    assert_eq!(push["who"], "admin");
    assert_eq!(push["package"], "admin/app");
    assert_eq!(push["tags"], "v1");
    assert_eq!(push["from"], "127.0.0.1");
    for action in ["delete_version", "restore_version"] {
        let l = find(&lines, action, "ok").unwrap();
        assert_eq!(l["who"], "admin", "{l}");
        assert_eq!(l["package"], "admin/app", "{l}");
        assert_eq!(l["version"], id.to_string(), "{l}");
        assert_eq!(l["from"], "127.0.0.1", "{l}");
    }
    let signed_in = find(&lines, "sign_in", "ok").expect("podman's sign-in");
    assert_eq!(signed_in["who"], "admin");
    let refused = find(&lines, "sign_in", "invalid").unwrap();
    assert_eq!(refused["who"], "mallory", "the account it claimed");
    assert_eq!(refused["from"], "127.0.0.1");
}
