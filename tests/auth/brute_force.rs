//! Sign-in brute force: failed credential checks are limited per account (and per
//! address), answered with 429 and Retry-After; another user signs in at once, and the
//! limited account signs in again once its budget refills.

use std::time::Duration;

use crate::common::{Berth, wait_until};
use crate::support::{Http, basic, pat};

/// Five failures a minute per account: one more every 12 s. The address budget is
/// large, as every test client here is 127.0.0.1.
const CONFIG: &str = "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {name: test}\n\
                      spec:\n  auth:\n    signInLimit: {perAccount: 5, perAddress: 1000, period: 1m}\n";

fn token(berth: &Berth, user: &str, secret: &str) -> crate::support::Response {
    Http::get(berth, "/token?service=test&scope=repository:acme/app:pull")
        .auth(&basic(user, secret))
        .send()
}

#[test]
fn failed_sign_ins_are_limited_per_account_without_slowing_anyone_else() {
    let berth = Berth::start_config(CONFIG, &[]).ready();
    let alice = pat(&berth, "alice", "read:packages");
    let carol = pat(&berth, "carol", "read:packages");

    let wrong = "bpat_0000000000000000000000000000000000000000";
    let statuses: Vec<u16> = (0..50)
        .map(|_| token(&berth, "alice", wrong).status)
        .collect();
    assert_eq!(statuses[..5], [401; 5], "the budget: {statuses:?}");
    assert_eq!(statuses[5], 429, "{statuses:?}");
    assert!(
        statuses[5..].iter().filter(|s| **s == 429).count() >= 40,
        "refused until the bucket refills (one every 12 s): {statuses:?}"
    );
    let limited = token(&berth, "alice", wrong);
    limited.assert_error(429, "TOOMANYREQUESTS");
    let retry: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((1..=12).contains(&retry), "Retry-After {retry}");

    // Another user signs in at once; alice, even with her right PAT, waits.
    assert_eq!(token(&berth, "carol", &carol).status, 200);
    assert_eq!(token(&berth, "alice", &alice).status, 429);
    // Basic credentials on /v2/ and on the REST API are the same sign-in.
    Http::get(&berth, "/v2/")
        .auth(&basic("alice", &alice))
        .send()
        .assert_error(429, "TOOMANYREQUESTS");
    let api = Http::get(&berth, "/api/v3/user/packages?package_type=container")
        .auth(&basic("alice", &alice))
        .send();
    assert_eq!(api.status, 429, "{}", api.text());
    assert!(
        api.text()
            .contains("Maximum number of login attempts exceeded"),
        "{}",
        api.text()
    );
    assert_eq!(api.header("x-ratelimit-remaining"), Some("0"));
    assert!(api.header("x-ratelimit-reset").is_some() && api.header("retry-after").is_some());

    // After Retry-After, her right PAT signs in again (each refused try counts nothing).
    wait_until(
        "alice to sign in again after Retry-After",
        Duration::from_secs(retry + 5),
        || token(&berth, "alice", &alice).status == 200,
    );
}
