//! Token scopes cap the role: a `read:packages` PAT pulls but never pushes, even for a
//! user whose role allows writing; deleting needs the admin role.

use crate::common::Berth;
use crate::common::podman::Podman;
use crate::support::{Http, basic, output_text, pat, publish, tool_with_read_only_carol};

#[test]
fn a_read_only_pat_pulls_but_cannot_push() {
    let berth = Berth::start();
    let (digest, read_pat) = tool_with_read_only_carol(&berth);

    let reader = Podman::new();
    reader.login(&berth, "carol", &read_pat);
    let image = format!("{}/acme/tool:v1", berth.host());
    reader.pull(&image, &[]);
    assert_eq!(reader.inspect(&image, "{{.Digest}}"), digest);

    // The same user, the same role, a read-only token: no push.
    let v2 = format!("{}/acme/tool:v2", berth.host());
    reader.build(&v2, "linux/amd64", "v2\n", &[]);
    let out = reader
        .cmd()
        .args(["push", "--tls-verify=false", &v2])
        .output()
        .unwrap();
    let text = output_text(&out);
    assert!(!out.status.success(), "a read:packages PAT pushed:\n{text}");
    assert!(text.to_lowercase().contains("denied"), "{text}");
    let refused = Http::new(&berth, "POST", "/v2/acme/tool/blobs/uploads/")
        .auth(&basic("carol", &read_pat))
        .send();
    refused.assert_error(403, "DENIED");
    assert!(
        refused.text().contains("write:packages"),
        "the reason names the scope: {}",
        refused.text()
    );

    // With write:packages the same push goes through.
    let writer = Podman::new();
    writer.login(&berth, "carol", &pat(&berth, "carol", "write:packages"));
    writer.publish(&v2, "v2\n", &[]);

    // Deleting needs the admin role (and delete:packages), which carol does not have.
    let delete_pat = pat(&berth, "carol", "write:packages,delete:packages");
    let delete = Http::new(
        &berth,
        "DELETE",
        &format!("/v2/acme/tool/manifests/{digest}"),
    )
    .auth(&basic("carol", &delete_pat))
    .send();
    delete.assert_error(403, "DENIED");
    assert!(delete.text().contains("admin"), "{}", delete.text());
}

#[test]
fn a_push_to_a_package_one_cannot_see_is_denied_the_same_whether_it_exists() {
    let berth = Berth::start();
    let _ = publish(&berth, "acme/secret:v1", "hidden\n");
    let eve = pat(&berth, "eve", "write:packages");
    let start = |repo: &str| {
        Http::new(&berth, "POST", &format!("/v2/{repo}/blobs/uploads/"))
            .auth(&basic("eve", &eve))
            .send()
            .without_date()
    };
    let (secret, missing) = (start("acme/secret"), start("acme/nosuch"));
    secret.assert_error(403, "DENIED");
    assert!(
        secret
            .text()
            .contains("permission to push to acme/secret denied")
    );
    assert_eq!(
        secret.text().replace("acme/secret", "acme/nosuch"),
        missing.text()
    );
    assert_eq!(secret.status, missing.status);
}
