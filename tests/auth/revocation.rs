//! Revocation is immediate: a grant removed from the policy dir, or a revoked PAT, stops
//! the very next request (within 2 s of being stored), whatever registry tokens say.

use std::time::Instant;

use crate::common::podman::Podman;
use crate::common::{Berth, wait_until};
use crate::support::{
    APPLY, Http, basic, bearer, output_text, pat, pat_id, policy_dir, publish, read_status,
    registry_token, revoke_pat, share_package, write_file, write_package,
};

#[test]
fn removing_a_grant_stops_the_next_pull() {
    let berth = Berth::start();
    let (_admin, digest) = publish(&berth, "acme/shared:v1", "for bob, for now\n");
    let image = format!("{}/acme/shared:v1", berth.host());
    let bob = Podman::new();
    bob.login(&berth, "bob", &pat(&berth, "bob", "read:packages"));

    // Private, and bob has no grant yet.
    let text = output_text(&bob.try_pull(&image)).to_lowercase();
    assert!(
        text.contains("name unknown") || text.contains("not found"),
        "{text}"
    );

    write_package(
        &berth,
        "acme/shared",
        &["access: [{user: bob, role: read}]"],
    );
    wait_until("bob's pull with the grant", APPLY, || {
        bob.try_pull(&image).status.success()
    });
    assert_eq!(bob.inspect(&image, "{{.Digest}}"), digest);

    write_package(&berth, "acme/shared", &[]);
    let removed = Instant::now();
    let mut refusal = String::new();
    wait_until("bob's pull to be refused", APPLY, || {
        let out = bob.try_pull(&image);
        refusal = output_text(&out).to_lowercase();
        !out.status.success()
    });
    eprintln!("refused after {:?}", removed.elapsed());
    // Hidden again, not merely failing.
    assert!(
        refusal.contains("name unknown") || refusal.contains("not found"),
        "{refusal}"
    );
}

#[test]
fn revoking_a_pat_stops_its_registry_tokens_at_once() {
    let berth = Berth::start();
    let _ = publish(&berth, "acme/tool:v1", "content\n");
    let carol = pat(&berth, "carol", "read:packages");
    share_package(
        &berth,
        "acme/tool",
        &["access: [{user: carol, role: read}]"],
        &basic("carol", &carol),
    );
    let token = registry_token(&berth, &basic("carol", &carol), "acme/tool");
    let pull = || {
        Http::get(&berth, "/v2/acme/tool/manifests/v1")
            .auth(&bearer(&token))
            .header("accept", "application/vnd.oci.image.manifest.v1+json")
            .send()
    };
    assert_eq!(pull().status, 200);

    revoke_pat(&berth, &pat_id(&berth, "carol"));
    let revoked = Instant::now();
    wait_until("the token of the revoked PAT to be refused", APPLY, || {
        pull().status == 401
    });
    eprintln!("refused after {:?}", revoked.elapsed());
    let refused = pull();
    refused.assert_error(401, "UNAUTHORIZED");
    assert!(refused.text().contains("revoked"), "{}", refused.text());
    // Nor does the PAT itself sign in any more, directly or at /token.
    Http::get(&berth, "/v2/acme/tool/manifests/v1")
        .auth(&basic("carol", &carol))
        .send()
        .assert_error(401, "UNAUTHORIZED");
    Http::get(&berth, "/token?scope=repository:acme/tool:pull")
        .auth(&basic("carol", &carol))
        .send()
        .assert_error(401, "UNAUTHORIZED");
}

#[test]
fn a_broken_policy_file_keeps_the_last_good_grants_in_force() {
    let berth = Berth::start();
    let _ = publish(&berth, "acme/shared:v1", "content\n");
    let bob = basic("bob", &pat(&berth, "bob", "read:packages"));
    let bob_pulls = || read_status(&berth, "acme/shared", &bob);
    share_package(
        &berth,
        "acme/shared",
        &["access: [{user: bob, role: read}]"],
        &bob,
    );

    // Neither failing open (dropping the package) nor closed (dropping the grant).
    write_file(
        &policy_dir(&berth),
        "acme.shared.yaml",
        "spec: [this is not\n",
    );
    wait_until("/readyz to report the broken file", APPLY, || {
        let r = Http::get(&berth, "/readyz").send();
        r.status == 200 && r.text().contains("acme.shared.yaml")
    });
    assert_eq!(bob_pulls(), 200);
    let eve = basic("eve", &pat(&berth, "eve", "write:packages"));
    assert_eq!(read_status(&berth, "acme/shared", &eve), 404);

    // Fixing it without the grant applies at once.
    write_package(&berth, "acme/shared", &[]);
    wait_until("bob's grant to go", APPLY, || bob_pulls() == 404);
    assert!(
        !Http::get(&berth, "/readyz")
            .send()
            .text()
            .contains("policy problem")
    );
}
