//! Workload tokens (the `GITHUB_TOKEN` analogue): a JWT from a trusted test issuer whose
//! repository claim names `acme/app` publishes `acme/app`, which is then linked to that
//! repository and administered by its workloads, and hidden from other repositories'.
//! Real clients here; the router-level edge cases (the snapshot's links, tokens naming no
//! one, unsigned or not JWTs) are in `registry/tests/auth_workload.rs`.

use std::time::Duration;

use serde_json::json;

use crate::common::podman::Podman;
use crate::common::{Berth, run, wait_until};
use crate::support::{
    ACME, Http, Issuer, basic, bearer, fails, new_key, now, output_text, policy_dir, read_yaml,
    sign_es256, skopeo, start_with_acme, write_file,
};

fn start(issuer: &Issuer) -> Berth {
    let config = issuer.config();
    start_with_acme(&["--config", config.to_str().unwrap()])
}

#[test]
fn a_workload_publishes_its_repository_package_and_administers_it() {
    let issuer = Issuer::new();
    let berth = start(&issuer);
    let h = berth.host();
    let app = issuer.workload("acme/app");

    let podman = Podman::new();
    podman.login(&berth, "anything", &app);
    let v1 = format!("{h}/acme/app:v1");
    let digest = podman.publish(&v1, "built by CI\n", &[]);
    podman.publish(&format!("{h}/acme/app:v2"), "built by CI again\n", &[]);

    // The Package records the repository as its link and its publisher.
    let package = read_yaml(&policy_dir(&berth).join("acme.app.yaml"));
    assert_eq!(package["spec"]["visibility"], "private", "{package}");
    assert_eq!(
        package["spec"]["repository"], "https://git.example.com/acme/app",
        "{package}"
    );
    let status = read_yaml(&policy_dir(&berth).join(".status/acme/app/status.yaml"));
    assert_eq!(
        status["publisher"],
        json!({"repository": "acme/app"}),
        "{status}"
    );

    // Another repository's workload cannot see the private package.
    let other = issuer.workload("acme/other");
    let text = fails(skopeo("inspect", Some(("x", &other))).arg(format!("docker://{v1}")));
    assert!(text.to_lowercase().contains("name unknown"), "{text}");
    Http::get(&berth, "/v2/acme/app/manifests/v1")
        .auth(&basic("x", &other))
        .send()
        .assert_error(404, "NAME_UNKNOWN");
    // Nor delete from it (hidden, too: skopeo reports a 404 as "may not exist").
    let text = fails(skopeo("delete", Some(("x", &other))).arg(format!("docker://{v1}")));
    assert!(text.contains("may not exist"), "{text}");
    Http::new(
        &berth,
        "DELETE",
        &format!("/v2/acme/app/manifests/{digest}"),
    )
    .auth(&basic("x", &other))
    .send()
    .assert_error(404, "NAME_UNKNOWN");

    // The publishing repository is admin: its workload deletes.
    run(skopeo("delete", Some(("x", &app))).arg(format!("docker://{v1}")));
    let gone = Http::get(&berth, &format!("/v2/acme/app/manifests/{digest}"))
        .auth(&basic("admin", berth.token()))
        .send();
    gone.assert_error(404, "MANIFEST_UNKNOWN");
    run(skopeo("inspect", Some(("x", &app))).arg(format!("docker://{h}/acme/app:v2")));
}

#[test]
fn workload_tokens_that_are_not_trusted_are_refused() {
    let issuer = Issuer::new();
    let berth = start(&issuer);
    let mut unknown_issuer = issuer.claims("acme/app");
    unknown_issuer["iss"] = json!("https://evil.example.test");
    let mut wrong_audience = issuer.claims("acme/app");
    wrong_audience["aud"] = json!("someone-else");
    let mut expired = issuer.claims("acme/app");
    expired["exp"] = json!(now() - 120);
    let refused = [
        ("unknown issuer", issuer.sign(&unknown_issuer)),
        ("wrong audience", issuer.sign(&wrong_audience)),
        ("expired", issuer.sign(&expired)),
        (
            "signed by another key",
            sign_es256(&new_key(), Issuer::KID, &issuer.claims("acme/app")),
        ),
        ("unparseable", "eyJhbGciOi.not-json.at-all".to_owned()),
        ("three dots of nothing", "..".to_owned()),
    ];
    for (what, jwt) in &refused {
        let auth = basic("x", jwt);
        for path in ["/token?scope=repository:acme/app:pull,push", "/v2/"] {
            let r = Http::get(&berth, path).auth(&auth).send();
            assert_eq!(r.status, 401, "{what} at {path}: {}", r.text());
            r.assert_error(401, "UNAUTHORIZED");
        }
    }
    let out = Podman::new()
        .cmd()
        .args([
            "login",
            "--tls-verify=false",
            "-u",
            "x",
            "-p",
            &refused[0].1,
            &berth.host(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", output_text(&out));
    // The trusted issuer's token does sign in, at POST /token as containerd does too.
    let form = format!(
        "grant_type=password&service=berth&username=x&password={}",
        issuer.workload("acme/app")
    );
    let posted = Http::new(&berth, "POST", "/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.as_bytes())
        .send();
    assert_eq!(posted.status, 200, "{}", posted.text());
    let token = posted.json()["access_token"].as_str().unwrap().to_owned();
    let ok = Http::get(&berth, "/v2/").auth(&bearer(&token)).send();
    assert_eq!(ok.status, 200, "{}", ok.text());
    let ok = Http::get(&berth, "/v2/")
        .auth(&basic("x", &issuer.workload("acme/app")))
        .send();
    assert_eq!(ok.status, 200, "{}", ok.text());
}

#[test]
fn a_workload_of_an_undeclared_repository_cannot_create_packages() {
    let issuer = Issuer::new();
    let berth = start(&issuer);
    // `acme/stray` is not one of acme's repositories.
    let stray = basic("x", &issuer.workload("acme/stray"));
    let start_upload = || {
        Http::new(&berth, "POST", "/v2/acme/stray/blobs/uploads/")
            .auth(&stray)
            .send()
    };
    start_upload().assert_error(403, "DENIED");
    // Declaring it makes the same token a creator, within moments.
    let declared = ACME.replace(
        "    - {name: other,",
        "    - {name: stray, url: https://git.example.com/acme/stray}\n    - {name: other,",
    );
    write_file(&policy_dir(&berth), "acme.yaml", &declared);
    wait_until(
        "the new repository's workload to push",
        Duration::from_secs(2),
        || start_upload().status == 202,
    );
}
