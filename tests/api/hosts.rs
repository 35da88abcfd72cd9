//! Split-host mode (`--host berth.test`): the API answers on `berth.test` only, never on
//! `containers.berth.test`, where image traffic lives; its URLs name the host asked.

use reqwest::blocking::Client;

use crate::common::{Berth, wait_until};
use crate::support::{ACME, APPLY, basic, push_manifests_via, request, write_file};

const SITE: &str = "berth.test";
const CONTAINERS: &str = "containers.berth.test";

#[test]
fn the_api_is_on_host_and_never_on_containers_host() {
    let berth = Berth::start_with(&["--host", SITE], |data| {
        write_file(&data.join("policy"), "acme.yaml", ACME)
    });
    let port = berth.addr.port();
    let (site, containers) = (format!("{SITE}:{port}"), format!("{CONTAINERS}:{port}"));
    push_manifests_via(&berth, Some(&containers), "acme/app", 1, &["v1"], None);
    let token = berth.create_token("olivia", "read:packages", None);
    let client = Client::new();
    wait_until("the registry to accept olivia's PAT", APPLY, || {
        client
            .get(berth.url("/v2/"))
            .header("host", &containers)
            .header("authorization", basic("olivia", &token))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    let auth = format!("Bearer {token}");
    let api = |host: &str, path: &str| {
        request(
            "GET",
            &berth.url(&format!("/api/v3{path}")),
            &auth,
            Some(host),
        )
    };

    let me = api(&site, "/user");
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.json()["login"], "olivia");
    let app = api(&site, "/orgs/acme/packages/container/app");
    assert_eq!(app.status, 200, "{app:?}");
    assert_eq!(
        app.json()["url"],
        format!("http://{site}/api/v3/orgs/acme/packages/container/app"),
        "URLs name the host the client used"
    );
    for path in [
        "/user",
        "/orgs/acme/packages?package_type=container",
        "/orgs/acme/packages/container/app",
    ] {
        let r = api(&containers, path);
        assert_eq!(r.status, 404, "{path} on {CONTAINERS}: {r:?}");
        assert!(
            !r.body.contains("\"login\"") && !r.body.contains("\"package_type\""),
            "{r:?}"
        );
    }
}
