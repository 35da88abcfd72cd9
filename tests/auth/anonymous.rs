//! Anonymous pulls: refused (401) while a package is private, allowed once its Package
//! file makes it public.

use std::time::Instant;

use crate::common::podman::Podman;
use crate::common::{Berth, wait_until};
use crate::support::{APPLY, Http, output_text, publish, write_package};

#[test]
fn a_public_image_pulls_anonymously_and_a_private_one_does_not() {
    let berth = Berth::start();
    let (_admin, digest) = publish(&berth, "acme/hello:v1", "hello, anyone\n");
    let image = format!("{}/acme/hello:v1", berth.host());
    let anon = Podman::new();

    // First published, so private: anonymous callers are asked to sign in.
    let refused = anon.try_pull(&image);
    let text = output_text(&refused).to_lowercase();
    assert!(
        !refused.status.success(),
        "a private image pulled anonymously"
    );
    assert!(
        text.contains("unauthorized") || text.contains("authentication required"),
        "{text}"
    );
    let manifest = Http::get(&berth, "/v2/acme/hello/manifests/v1").send();
    manifest.assert_error(401, "UNAUTHORIZED");
    assert_eq!(
        manifest.header("www-authenticate"),
        Some(
            format!(
                r#"Bearer realm="http://{h}/token",service="{h}",scope="repository:acme/hello:pull""#,
                h = berth.host()
            )
            .as_str()
        )
    );

    write_package(&berth, "acme/hello", &["visibility: public"]);
    let written = Instant::now();
    // podman itself is the probe: each attempt is a whole anonymous pull.
    wait_until("the anonymous pull of the now public image", APPLY, || {
        anon.try_pull(&image).status.success()
    });
    eprintln!("public after {:?}", written.elapsed());
    assert_eq!(anon.inspect(&image, "{{.Digest}}"), digest);

    // Public lets anonymous callers read, nothing more.
    let push = Http::new(&berth, "POST", "/v2/acme/hello/blobs/uploads/").send();
    push.assert_error(401, "UNAUTHORIZED");
    let delete = Http::new(
        &berth,
        "DELETE",
        &format!("/v2/acme/hello/manifests/{digest}"),
    )
    .send();
    delete.assert_error(401, "UNAUTHORIZED");
}
