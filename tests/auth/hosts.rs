//! Subdomain isolation with `--host example.test`: images only on
//! `containers.example.test`, pages only on `example.test`, health everywhere, and
//! unknown hosts nothing.

use crate::common::{Berth, sha256};
use crate::support::{Http, Response, basic};

const SITE: &str = "example.test";
const CONTAINERS: &str = "containers.example.test";

fn on(berth: &Berth, method: &str, host: &str, path: &str) -> Http {
    // With a port, as a client would send it; the port never matters.
    let port = berth.addr.port();
    Http::new(berth, method, path).header("host", &format!("{host}:{port}"))
}

fn get(berth: &Berth, host: &str, path: &str) -> Response {
    on(berth, "GET", host, path).send()
}

#[test]
fn image_traffic_and_pages_live_on_their_own_hosts() {
    let berth = Berth::start_with(&["--host", SITE], |_| {});

    let challenge = get(&berth, CONTAINERS, "/v2/");
    challenge.assert_error(401, "UNAUTHORIZED");
    // The realm keeps the port the client used, so the client can reach it.
    let port = berth.addr.port();
    assert_eq!(
        challenge.header("www-authenticate"),
        Some(
            format!(
                r#"Bearer realm="http://{CONTAINERS}:{port}/token",service="{CONTAINERS}:{port}""#
            )
            .as_str()
        )
    );
    let token = get(&berth, CONTAINERS, "/token?scope=repository:acme/app:pull");
    assert_eq!(token.status, 200, "{}", token.text());
    // Behind a TLS ingress the realm is https.
    let tls = on(&berth, "GET", CONTAINERS, "/v2/")
        .header("x-forwarded-proto", "https")
        .send();
    assert!(
        tls.header("www-authenticate")
            .is_some_and(|c| c.starts_with(&format!(
                r#"Bearer realm="https://{CONTAINERS}:{port}/token""#
            ))),
        "{tls:?}"
    );

    // The wrong host for each surface is a 404, credentials or not.
    for path in ["/v2/", "/token", "/v2/acme/app/manifests/v1"] {
        get(&berth, SITE, path).assert_error(404, "NAME_UNKNOWN");
        on(&berth, "GET", SITE, path)
            .auth(&basic("admin", berth.token()))
            .send()
            .assert_error(404, "NAME_UNKNOWN");
    }
    assert_eq!(get(&berth, CONTAINERS, "/").status, 404);
    let home = get(&berth, SITE, "/");
    assert_eq!(home.status, 200, "{}", home.text());
    // Host names compare case-insensitively.
    assert_eq!(get(&berth, "Example.TEST", "/").status, 200);
    assert_eq!(get(&berth, "CONTAINERS.example.test", "/v2/").status, 401);

    // Unknown hosts, and the bare address, serve nothing but health.
    let ip = berth.addr.ip().to_string();
    for host in [
        "evil.test",
        "containers.evil.test",
        "example.test.evil.test",
        ip.as_str(),
    ] {
        for path in ["/", "/v2/", "/token"] {
            assert_eq!(get(&berth, host, path).status, 404, "{host}{path}");
        }
    }
    for host in [SITE, CONTAINERS, "evil.test", ip.as_str()] {
        for path in ["/livez", "/readyz", "/metrics"] {
            let r = get(&berth, host, path);
            assert_eq!(r.status, 200, "{host}{path}: {}", r.text());
        }
    }
}

#[test]
fn blobs_are_served_so_that_they_cannot_script_the_pages() {
    let berth = Berth::start_with(&["--host", SITE], |_| {});
    let admin = basic("admin", berth.token());
    let html = b"<html><script>alert(document.cookie)</script></html>";
    let digest = sha256(html);
    let pushed = on(
        &berth,
        "POST",
        CONTAINERS,
        &format!("/v2/acme/page/blobs/uploads/?digest={digest}"),
    )
    .auth(&admin)
    .header("content-type", "application/octet-stream")
    .body(html)
    .send();
    assert_eq!(pushed.status, 201, "{}", pushed.text());

    let blob = on(
        &berth,
        "GET",
        CONTAINERS,
        &format!("/v2/acme/page/blobs/{digest}"),
    )
    .auth(&admin)
    .send();
    assert_eq!((blob.status, blob.body.as_slice()), (200, html.as_slice()));
    assert_eq!(blob.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(blob.header("content-security-policy"), Some("sandbox"));
    // And never on the pages' host.
    on(
        &berth,
        "GET",
        SITE,
        &format!("/v2/acme/page/blobs/{digest}"),
    )
    .auth(&admin)
    .send()
    .assert_error(404, "NAME_UNKNOWN");
}
