//! Bad input never gives a 500 and never gives access: malformed scopes, credentials
//! that are not credentials, oversize headers, and names that try path tricks.

use crate::common::Berth;
use crate::support::{Http, Response, basic, bearer, first_layer, pat, publish};

/// Neither a server error nor a success.
fn refused(what: &str, r: &Response) {
    assert!(
        (400..500).contains(&r.status),
        "{what}: expected a 4xx, got {} {}",
        r.status,
        r.text()
    );
}

#[test]
fn malformed_scopes_at_token_are_400() {
    let berth = Berth::start();
    let admin = basic("admin", berth.token());
    for scope in [
        "repository",
        "repository:acme/app",
        "repository::pull",
        "repository:acme/app:",
        ":acme/app:pull",
        "repository%3Aacme%2Fapp",
    ] {
        for auth in ["", admin.as_str()] {
            let r = Http::get(&berth, &format!("/token?scope={scope}"))
                .auth(auth)
                .send();
            r.assert_error(400, "UNSUPPORTED");
            assert!(
                r.json()["errors"][0]["message"]
                    .as_str()
                    .unwrap()
                    .contains("scope")
            );
        }
        let form = format!(
            "grant_type=password&username=admin&password={}&scope={scope}",
            berth.token()
        );
        Http::new(&berth, "POST", "/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.as_bytes())
            .send()
            .assert_error(400, "UNSUPPORTED");
    }
    // One bad scope among good ones spoils the request.
    Http::get(
        &berth,
        "/token?scope=repository:acme/app:pull&scope=nonsense",
    )
    .send()
    .assert_error(400, "UNSUPPORTED");
    // Scopes of other types are valid and grant nothing.
    assert_eq!(
        Http::get(&berth, "/token?scope=registry:catalog:*")
            .send()
            .status,
        200
    );
}

#[test]
fn credentials_that_are_not_credentials_are_401() {
    // Dozens of bad credentials for one account on purpose: the sign-in limit (tested in
    // `brute_force`) is off, so each is judged on its own.
    let config = tempfile::tempdir().unwrap();
    let file = config.path().join("registry.yaml");
    std::fs::write(
        &file,
        "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {name: test}\n\
         spec:\n  auth:\n    signInLimit: {perAccount: 0, perAddress: 0}\n",
    )
    .unwrap();
    let berth = Berth::start_with(&["--config", file.to_str().unwrap()], |_| {});
    let _ = publish(&berth, "acme/app:v1", "private\n");
    let pat = berth.token().to_owned();
    let mut near_miss = pat.clone();
    near_miss.pop();
    near_miss.push(if pat.ends_with('A') { 'B' } else { 'A' });
    let garbage: Vec<(&str, Vec<u8>)> = vec![
        (
            "a PAT with a broken checksum",
            basic("admin", &near_miss).into_bytes(),
        ),
        (
            "a well-formed unknown PAT",
            basic("admin", "bpat_000000000000000000000000000000000000").into_bytes(),
        ),
        (
            "an unparseable JWT as password",
            basic("x", "eyJ.eyJ.sig").into_bytes(),
        ),
        ("a JWT-shaped password", basic("x", "a.b.c").into_bytes()),
        ("an empty password", basic("admin", "").into_bytes()),
        ("Basic without a colon", b"Basic YWRtaW4=".to_vec()),
        ("Basic that is not base64", b"Basic !!!".to_vec()),
        ("Bearer garbage", bearer("not-a-jwt").into_bytes()),
        ("Bearer dots", bearer("..").into_bytes()),
        ("Bearer a PAT", bearer(&pat).into_bytes()),
        ("an empty Bearer", b"Bearer ".to_vec()),
        ("no scheme", pat.clone().into_bytes()),
        ("an unknown scheme", format!("Token {pat}").into_bytes()),
        ("bytes that are not text", b"Basic \xff\xfe\xfd".to_vec()),
    ];
    for (what, value) in &garbage {
        for path in [
            "/v2/",
            "/v2/acme/app/manifests/v1",
            "/v2/acme/app/tags/list",
            "/token",
        ] {
            let r = Http::get(&berth, path)
                .header_bytes("authorization", value)
                .send();
            refused(what, &r);
            assert_eq!(r.status, 401, "{what} at {path}: {}", r.text());
        }
    }
}

#[test]
fn oversize_headers_are_a_4xx() {
    let berth = Berth::start();
    let _ = publish(&berth, "acme/app:v1", "private\n");
    let big = "A".repeat(100 * 1024);
    for value in [
        format!("Basic {big}"),
        format!("Bearer {big}"),
        basic("admin", &format!("{}{big}", berth.token())),
    ] {
        for path in ["/v2/", "/v2/acme/app/manifests/v1", "/token"] {
            let r = Http::get(&berth, path)
                .header("authorization", &value)
                .send();
            refused(
                &format!("{} bytes of Authorization at {path}", value.len()),
                &r,
            );
        }
    }
    // Many headers, and one huge unrelated header.
    let mut many = Http::get(&berth, "/v2/acme/app/manifests/v1");
    for i in 0..200 {
        many = many.header(&format!("x-filler-{i}"), "x");
    }
    refused("200 headers", &many.send());
    refused(
        "a 1 MiB header",
        &Http::get(&berth, "/v2/")
            .header("x-big", &"B".repeat(1 << 20))
            .send(),
    );
    // The registry still serves.
    assert_eq!(
        Http::get(&berth, "/v2/")
            .auth(&basic("admin", berth.token()))
            .send()
            .status,
        200
    );
}

#[test]
fn names_that_try_path_tricks_reach_nothing() {
    let berth = Berth::start();
    let (_admin, digest) = publish(&berth, "acme/app:v1", "acme's secret\n");
    let layer = first_layer(&berth, "acme/app", &digest);
    // eve may create packages in her own namespace, so her requests there reach storage.
    let eve = basic("eve", &pat(&berth, "eve", "write:packages,delete:packages"));
    let admin = basic("admin", berth.token());
    let names = [
        "eve/../acme/app",
        "eve/x/../../acme/app",
        "eve/%2e%2e/acme/app",
        "eve/%2E%2E/acme/app",
        "eve/.%2e/acme/app",
        "eve%2F..%2Facme/app",
        "eve/x%2F..%2F..%2Facme%2Fapp",
        "eve/..%2F..%2Facme/app",
        "eve/%2e%2e%2facme%2fapp",
        "eve/./acme/app",
        "eve//acme/app",
        "acme/App",
        "ACME/app",
        "Acme/APP",
        "eve/app%00",
        "eve/app%20",
        "..",
        "../acme/app",
    ];
    for name in names {
        let targets = [
            ("GET", format!("/v2/{name}/manifests/v1")),
            ("GET", format!("/v2/{name}/manifests/{digest}")),
            ("HEAD", format!("/v2/{name}/manifests/{digest}")),
            ("GET", format!("/v2/{name}/blobs/{layer}")),
            ("GET", format!("/v2/{name}/tags/list")),
            ("POST", format!("/v2/{name}/blobs/uploads/")),
            (
                "POST",
                format!("/v2/{name}/blobs/uploads/?mount={layer}&from=acme/app"),
            ),
            ("DELETE", format!("/v2/{name}/manifests/{digest}")),
        ];
        for (method, target) in &targets {
            for auth in [eve.as_str(), admin.as_str(), ""] {
                let r = Http::new(&berth, method, target).auth(auth).send();
                let what = format!("{method} {target} ({})", &auth[..auth.len().min(9)]);
                refused(&what, &r);
                if r.status == 400 && *method != "HEAD" {
                    r.assert_error(400, "NAME_INVALID");
                }
                assert!(
                    matches!(r.status, 400 | 401 | 404),
                    "{what}: {} {}",
                    r.status,
                    r.text()
                );
            }
        }
    }
    // An encoded slash is never read as one: the name is invalid, even for the admin.
    for name in ["acme%2Fapp", "acme%2fapp", "acme%252Fapp"] {
        let target = format!("/v2/{name}/manifests/{digest}");
        Http::get(&berth, &target)
            .auth(&admin)
            .send()
            .assert_error(400, "NAME_INVALID");
    }
    // However an encoded slash is read, it never shows acme/app to eve or to anonymous.
    for name in ["acme%2Fapp", "acme%2fapp", "acme%252Fapp"] {
        let target = format!("/v2/{name}/manifests/{digest}");
        let as_eve = Http::get(&berth, &target).auth(&eve).send();
        assert!(matches!(as_eve.status, 400 | 404), "{target}: {as_eve:?}");
        let anonymous = Http::get(&berth, &target).send();
        assert!(
            matches!(anonymous.status, 400 | 401),
            "{target}: {anonymous:?}"
        );
    }
    // References and digests that try the same.
    for target in [
        "/v2/eve/app/manifests/..%2F..%2Facme%2Fapp%2Fmanifests%2Fv1".to_owned(),
        "/v2/eve/app/manifests/../../acme/app/manifests/v1".to_owned(),
        format!("/v2/eve/app/blobs/sha256:..%2F..%2F{}", &layer[7..]),
        "/v2/eve/app/blobs/..%2F..%2Facme%2Fapp%2Fblobs".to_owned(),
    ] {
        let r = Http::get(&berth, &target).auth(&eve).send();
        refused(&target, &r);
        assert!(
            matches!(r.status, 400 | 404),
            "{target}: {} {}",
            r.status,
            r.text()
        );
    }
    // The real package is untouched.
    let r = Http::get(&berth, &format!("/v2/acme/app/manifests/{digest}"))
        .auth(&admin)
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send();
    assert_eq!(r.status, 200);
}

#[test]
fn an_upload_session_belongs_to_its_repository() {
    let berth = Berth::start();
    let _ = publish(&berth, "acme/app:v1", "private\n");
    let admin = basic("admin", berth.token());
    let eve = basic("eve", &pat(&berth, "eve", "write:packages,delete:packages"));
    let started = Http::new(&berth, "POST", "/v2/acme/app/blobs/uploads/")
        .auth(&admin)
        .send();
    assert_eq!(started.status, 202, "{}", started.text());
    let location = started.header("location").expect("a Location").to_owned();
    let id = location
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap();
    let blob = b"eve's bytes";
    let digest = crate::common::sha256(blob);

    // eve may push to eve/app, but the admin's session is not there.
    for (method, query) in [
        ("GET", ""),
        ("PATCH", ""),
        ("PUT", &*format!("?digest={digest}")),
        ("DELETE", ""),
    ] {
        let target = format!("/v2/eve/app/blobs/uploads/{id}{query}");
        let r = Http::new(&berth, method, &target)
            .auth(&eve)
            .body(blob)
            .send();
        assert_eq!(r.status, 404, "{method} {target}: {}", r.text());
        if method != "HEAD" {
            r.assert_error(404, "BLOB_UPLOAD_UNKNOWN");
        }
        // And in acme/app she may not push at all.
        let target = format!("/v2/acme/app/blobs/uploads/{id}{query}");
        let r = Http::new(&berth, method, &target)
            .auth(&eve)
            .body(blob)
            .send();
        r.assert_error(403, "DENIED");
    }
    // Upload ids that try to leave the uploads directory.
    for id in ["..", ".", "%2e%2e", "..%5C..", "%00", "...."] {
        for method in ["GET", "PATCH", "DELETE"] {
            let target = format!("/v2/eve/app/blobs/uploads/{id}");
            let r = Http::new(&berth, method, &target).auth(&eve).send();
            refused(&format!("{method} {target}"), &r);
        }
    }
    // The admin's session is intact.
    let status = Http::get(&berth, &location).auth(&admin).send();
    assert_eq!(status.status, 204, "{}", status.text());
}
