//! The package pages on `HOST`, against the `berth` binary with images pushed over the
//! distribution API: who sees a page (a private package is the same 404 as a missing
//! one), the pull command as written pulling with crane, every value from an image
//! escaped, and the headers every page is sent with; then in Chromium (`browser.rs`):
//! nothing runs, the pages read the same without JavaScript, and axe-core finds no
//! serious or critical accessibility violation.

#[path = "../common/mod.rs"]
mod common;

mod browser;
mod settings;
mod signing;

use signing::{client, get_as, pair, post_sign_in, set_cookie, sign_in, sign_in_form};

use std::process::Command;
use std::time::Duration;

use browser::{Visit, serious, visit};
use common::gc::{put_manifest, upload};
use common::{Berth, run, tool, wait_until};

/// A description label no page may run.
const HOSTILE: &str = r#"<script>alert(1)</script><img src=x onerror="alert(2)">"#;

/// Pushes `admin/app:v1`, its config labelled with a description, a license and a source.
fn push_labelled(berth: &Berth) -> String {
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []},
        "config": {"Labels": {
            "org.opencontainers.image.description": HOSTILE,
            "org.opencontainers.image.licenses": "Apache-2.0",
            "org.opencontainers.image.source": "https://example.com/admin/app",
        }},
    });
    let config: &'static [u8] = Box::leak(config.to_string().into_bytes().into_boxed_slice());
    let layer: &'static [u8] = b"the layer of admin/app";
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": upload(berth, "admin/app", config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": upload(berth, "admin/app", layer), "size": layer.len()}],
    });
    put_manifest(berth, "admin/app", "v1", &manifest).expect("the push")
}

fn get(berth: &Berth, path: &str) -> reqwest::blocking::Response {
    reqwest::blocking::Client::new()
        .get(berth.url(path))
        .timeout(Duration::from_secs(30))
        .send()
        .unwrap()
}

const PAGE: &str = "/users/admin/packages/container/package/app";

/// Makes `admin/app` public (its policy file, as a GitOps tool would write it).
fn make_public(berth: &Berth) {
    let policy = berth.data_dir.join("policy");
    assert!(policy.join("admin.app.yaml").is_file(), "the push wrote it");
    let text = "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {name: admin.app}\n\
                spec:\n  owner: admin\n  name: app\n  visibility: public\n";
    std::fs::write(policy.join(".admin.app.yaml.tmp"), text).unwrap();
    std::fs::rename(
        policy.join(".admin.app.yaml.tmp"),
        policy.join("admin.app.yaml"),
    )
    .unwrap();
    wait_until("the package to be public", Duration::from_secs(5), || {
        get(berth, PAGE).status() == 200
    });
}

/// Pushes an image manifest of `admin/app` with a fresh config (`seed`) as `reference`
/// (a tag, or its own digest when `None`); its digest and size.
fn push_image(berth: &Berth, seed: &str, reference: Option<&str>) -> (String, usize) {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
    let config: &'static [u8] = Box::leak(config.into_bytes().into_boxed_slice());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": upload(berth, "admin/app", config), "size": config.len()},
        "layers": [],
    });
    let text = manifest.to_string();
    let digest = common::sha256(text.as_bytes());
    let pushed = put_manifest(berth, "admin/app", reference.unwrap_or(&digest), &manifest).unwrap();
    assert_eq!(pushed, digest);
    (digest, text.len())
}

#[test]
fn a_public_package_page_shows_its_pull_command_and_escapes_what_images_carry() {
    let berth = Berth::start();
    let digest = push_labelled(&berth);

    // Private (as a first push makes it): the same 404 as a package that does not exist.
    let private = get(&berth, PAGE);
    assert_eq!(private.status(), 404);
    let private = private.text().unwrap();
    let missing = get(&berth, "/users/admin/packages/container/package/nothing");
    assert_eq!(missing.status(), 404);
    assert_eq!(private, missing.text().unwrap(), "nothing tells them apart");
    assert_eq!(
        get(&berth, "/orgs/admin/packages/container/package/app").status(),
        404,
        "admin is a user, not an organization"
    );

    make_public(&berth);

    let page = get(&berth, PAGE);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "style-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        page.headers()
    );
    let html = page.text().unwrap();

    // The install command, exactly, and it pulls as written (anonymously: it is public).
    let command = format!("docker pull {}/admin/app:v1", berth.addr);
    assert!(html.contains(&format!("$ {command}")), "{html}");
    let reference = command.strip_prefix("docker pull ").unwrap();
    let manifest = run(Command::new(tool("crane"))
        .args(["digest", "--insecure", reference])
        .env("DOCKER_CONFIG", berth.data_dir.join("no-docker-config")));
    assert_eq!(String::from_utf8_lossy(&manifest.stdout).trim(), digest);

    // What the image carries is text, never markup.
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains(
            "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"
        ),
        "{html}"
    );
    assert!(html.contains("Apache-2.0"), "{html}");
    assert!(
        html.contains(r#"href="https://example.com/admin/app""#),
        "{html}"
    );
    assert!(html.contains(&digest), "the version's digest: {html}");
    assert!(html.contains("Public"), "{html}");

    // Its stylesheet is same-origin, as the policy allows.
    let css = get(&berth, "/assets/berth.css");
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );

    // In Chromium: the hostile label runs nothing, JavaScript is not needed, and the
    // pages pass axe-core's serious and critical rules.
    let seen = visit(&[
        Visit {
            name: "home",
            url: berth.url("/"),
        },
        Visit {
            name: "package",
            url: berth.url(PAGE),
        },
        Visit {
            name: "sign-in",
            url: berth.url("/login"),
        },
        Visit {
            name: "not-found",
            url: berth.url("/users/admin/packages/container/package/nothing"),
        },
    ]);
    for page in &seen {
        let name = &page["name"];
        assert_eq!(page["dialogs"], serde_json::json!([]), "{name}: {page:#}");
        assert_eq!(page["noScriptStatus"], page["status"], "{name}");
        assert_eq!(
            page["noScriptText"], page["text"],
            "{name}: the same without JavaScript"
        );
        assert!(serious(page).is_empty(), "{name}: {:#}", page["violations"]);
        if page["status"] == 200 {
            assert_eq!(page["errors"], serde_json::json!([]), "{name}: {page:#}");
        }
    }
    let package = &seen[1];
    assert_eq!(package["status"], 200);
    assert_eq!(package["errors"], serde_json::json!([]), "{package:#}");
    let text = package["text"].as_str().unwrap();
    assert!(text.contains(&format!("$ {command}")), "{text}");
    assert!(text.contains(HOSTILE), "the label, as text: {text}");
    assert_eq!(seen[2]["status"], 200, "the sign-in page");
    assert_eq!(seen[3]["status"], 404);
}

#[test]
fn a_session_sees_what_its_pat_sees_and_ends_with_the_pat() {
    let berth = Berth::start();
    push_labelled(&berth);
    let alice = berth.create_token("alice", "read:packages", None);

    // The form's CSRF token is required and must be the form's own.
    let (cookie, csrf) = sign_in_form(&berth);
    let admin = berth.token().to_owned();
    let r = post_sign_in(&berth, &cookie, &[("login", "admin"), ("token", &admin)]);
    assert_eq!(r.status(), 403, "no CSRF token");
    let r = post_sign_in(
        &berth,
        "",
        &[("login", "admin"), ("token", &admin), ("csrf", &csrf)],
    );
    assert_eq!(r.status(), 403, "no form cookie");
    let r = post_sign_in(
        &berth,
        &cookie,
        &[("login", "admin"), ("token", "bpat_wrong"), ("csrf", &csrf)],
    );
    assert_eq!(r.status(), 401);
    assert!(r.text().unwrap().contains("Incorrect username or token."));
    let r = post_sign_in(
        &berth,
        &cookie,
        &[("login", "admin"), ("token", &alice), ("csrf", &csrf)],
    );
    assert_eq!(r.status(), 401, "a PAT signs in only as its own user");

    // The cookie: host-only, HttpOnly, SameSite=Strict, not Secure over plain http.
    let session = sign_in(&berth, "admin", &admin);
    let attributes: Vec<&str> = session.split("; ").skip(1).collect();
    assert_eq!(
        attributes,
        ["Path=/", "Max-Age=28800", "HttpOnly", "SameSite=Strict"],
        "{session}"
    );

    // The admin's session sees the private package; anonymous and alice do not.
    let (status, html) = get_as(&berth, PAGE, &session);
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Private") && html.contains("Signed in as <strong>admin</strong>"),
        "{html}"
    );
    let alices = sign_in(&berth, "alice", &alice);
    let (status, hidden) = get_as(&berth, PAGE, &alices);
    assert_eq!(status, 404);
    let (_, missing) = get_as(
        &berth,
        "/users/admin/packages/container/package/nothing",
        &alices,
    );
    assert_eq!(hidden, missing, "the same 404 for alice");

    // A session is no registry credential.
    let jwt = pair(&session).split_once('=').unwrap().1.to_owned();
    let r = client()
        .get(berth.url("/v2/admin/app/tags/list"))
        .bearer_auth(&jwt)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);

    // Revoking alice's PAT ends her session on the next request.
    let (_, home) = get_as(&berth, "/", &alices);
    assert!(
        home.contains("Signed in as <strong>alice</strong>"),
        "{home}"
    );
    common::revoke_pat(&berth, &common::pat_id(&berth, "alice"));
    wait_until("alice's session to end", Duration::from_secs(5), || {
        get_as(&berth, "/", &alices).1.contains(r#"href="/login""#)
    });

    // Sign-out needs the session's CSRF token, and clears the cookie.
    let out = |csrf: &str| {
        client()
            .post(berth.url("/logout"))
            .header("cookie", pair(&session))
            .form(&[("csrf", csrf)])
            .send()
            .unwrap()
    };
    assert_eq!(out("0123456789abcdef0123456789abcdef").status(), 403);
    let (_, page) = get_as(&berth, "/", &session);
    let token = page
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-out form's csrf");
    let r = out(token);
    assert_eq!(r.status(), 303);
    assert!(set_cookie(&r, "berth_session").contains("Max-Age=0"));
}

#[test]
fn the_versions_list_filters_and_pages_and_a_version_page_shows_how_to_pull_it() {
    let berth = Berth::start();
    push_labelled(&berth);
    // 33 untagged versions and an index of two platforms, tagged (the newest tag).
    let untagged: Vec<String> = (0..33)
        .map(|i| push_image(&berth, &format!("untagged {i}"), None).0)
        .collect();
    let (amd64, amd64_len) = push_image(&berth, "amd64", None);
    let (arm64, arm64_len) = push_image(&berth, "arm64", None);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd64,
             "size": amd64_len, "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm64,
             "size": arm64_len, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ],
    });
    let multi = put_manifest(&berth, "admin/app", "multi", &index).unwrap();
    make_public(&berth);
    let host = berth.addr.to_string();

    // The package page: the newest tag's command, and a line per platform.
    let html = get(&berth, PAGE).text().unwrap();
    for line in [
        format!("$ docker pull {host}/admin/app:multi"),
        format!("linux/amd64</div><pre><code>$ docker pull {host}/admin/app:multi@{amd64}"),
        format!("linux/arm64/v8</div><pre><code>$ docker pull {host}/admin/app:multi@{arm64}"),
    ] {
        assert!(html.contains(&line), "{line} in {html}");
    }
    assert!(
        html.contains(r#"href="/users/admin/packages/container/app/versions""#),
        "{html}"
    );

    // The list: 37 versions, 30 to a page, newest first; the filters.
    let list = |query: &str| {
        let r = get(
            &berth,
            &format!("/users/admin/packages/container/app/versions{query}"),
        );
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };
    let first = list("");
    assert!(
        first.contains("37 versions") && first.contains("Page 1 of 2"),
        "{first}"
    );
    assert!(first.contains(&multi), "the newest is on the first page");
    assert!(!first.contains(&untagged[0]), "the oldest untagged is not");
    assert!(
        first.contains(r#"rel="next" href="/users/admin/packages/container/app/versions?page=2""#),
        "{first}"
    );
    let second = list("?page=2");
    assert!(
        second.contains(&untagged[0]) && second.contains("Page 2 of 2"),
        "{second}"
    );
    let tagged = list("?filters%5Bversion_type%5D=tagged");
    assert!(tagged.contains("2 versions"), "v1 and multi: {tagged}");
    assert!(!tagged.contains(&untagged[5]), "{tagged}");
    let untagged_list = list("?filters%5Bversion_type%5D=untagged&page=2");
    assert!(
        untagged_list.contains("35 versions") && untagged_list.contains("Page 2 of 2"),
        "{untagged_list}"
    );

    // The index's version page: its commands, its tags, its size, its manifest, and its
    // download activity (two pulls of the index, counted today).
    for _ in 0..2 {
        run(Command::new(tool("crane"))
            .args(["manifest", "--insecure", &format!("{host}/admin/app:multi")])
            .env("DOCKER_CONFIG", berth.data_dir.join("no-docker-config")));
    }
    let link = first
        .split(r#"<a href="/users/admin/packages/container/app/"#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .find(|id| id.chars().all(|c| c.is_ascii_digit()))
        .expect("a version link");
    let version = get(
        &berth,
        &format!("/users/admin/packages/container/app/{link}?tag=multi"),
    );
    assert_eq!(version.status(), 200);
    let version = version.text().unwrap();
    for text in [
        format!("$ docker pull {host}/admin/app:multi@{arm64}"),
        format!("FROM {host}/admin/app:multi"),
        multi.clone(),
        "&quot;mediaType&quot;: &quot;application/vnd.oci.image.index.v1+json&quot;".to_owned(),
    ] {
        assert!(version.contains(&text), "{text} in {version}");
    }
    assert!(version.contains("<dt>Size</dt><dd>"), "{version}");
    for period in ["Total downloads", "Last 30 days", "Last week", "Today"] {
        assert!(
            version.contains(&format!("<dt>{period}</dt><dd>2</dd>")),
            "{period}: 2 in {version}"
        );
    }
    assert_eq!(
        get(&berth, "/users/admin/packages/container/app/999999999").status(),
        404
    );

    // In Chromium, the list and the version page pass axe-core and need no JavaScript.
    let seen = visit(&[
        Visit {
            name: "versions",
            url: berth.url("/users/admin/packages/container/app/versions"),
        },
        Visit {
            name: "version",
            url: berth.url(&format!(
                "/users/admin/packages/container/app/{link}?tag=multi"
            )),
        },
    ]);
    for page in &seen {
        let name = &page["name"];
        assert_eq!(page["status"], 200, "{name}");
        assert_eq!(page["errors"], serde_json::json!([]), "{name}: {page:#}");
        assert_eq!(page["noScriptText"], page["text"], "{name}");
        assert!(serious(page).is_empty(), "{name}: {:#}", page["violations"]);
    }

    // The activity as stored: once this process has flushed its counts (every 10 s), a
    // restarted registry reads the same from storage alone.
    let mut berth = berth;
    wait_until(
        "the counts by day to be flushed",
        Duration::from_secs(30),
        || find_dir(&berth.data_dir, "_downloads-by-day"),
    );
    berth.kill();
    let again = Berth::start_in(&berth.data_dir, &[]);
    let page = get(
        &again,
        &format!("/users/admin/packages/container/app/{link}?tag=multi"),
    )
    .text()
    .unwrap();
    assert!(page.contains("<dt>Today</dt><dd>2</dd>"), "{page}");
}

/// Whether a directory named `name` is somewhere under `dir`.
fn find_dir(dir: &std::path::Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let path = e.path();
            path.is_dir() && (e.file_name() == name || find_dir(&path, name))
        })
}

#[test]
fn an_owners_list_shows_the_packages_the_viewer_may_read() {
    let berth = Berth::start();
    push_labelled(&berth);
    let layer: &'static [u8] = b"the layer of admin/tool";
    let digest = upload(&berth, "admin/tool", layer);
    common::gc::put_image(&berth, "admin/tool", "v1", (&digest, layer.len()), "tool").unwrap();
    make_public(&berth);
    let list = |query: &str, session: Option<&str>| {
        let mut r = client().get(berth.url(&format!("/users/admin/packages{query}")));
        if let Some(s) = session {
            r = r.header("cookie", pair(s));
        }
        let r = r.send().unwrap();
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };
    let app = r#"href="/users/admin/packages/container/package/app""#;
    let tool = r#"href="/users/admin/packages/container/package/tool""#;

    // Anonymous: the public package only.
    let anonymous = list("", None);
    assert!(
        anonymous.contains(app) && !anonymous.contains(tool),
        "{anonymous}"
    );
    assert!(anonymous.contains("1 packages"), "{anonymous}");

    // The admin: both, and the filters.
    let admin = sign_in(&berth, "admin", berth.token());
    let all = list("", Some(&admin));
    assert!(
        all.contains(app) && all.contains(tool) && all.contains("2 packages"),
        "{all}"
    );
    let private = list("?visibility=private", Some(&admin));
    assert!(
        private.contains(tool) && !private.contains(app),
        "{private}"
    );
    let found = list("?q=TO", Some(&admin));
    assert!(found.contains(tool) && !found.contains(app), "{found}");
    assert_eq!(
        client()
            .get(berth.url("/orgs/admin/packages"))
            .send()
            .unwrap()
            .status(),
        404,
        "admin is a user"
    );

    let seen = visit(&[Visit {
        name: "packages",
        url: berth.url("/users/admin/packages"),
    }]);
    assert_eq!(seen[0]["status"], 200);
    assert_eq!(seen[0]["errors"], serde_json::json!([]), "{:#}", seen[0]);
    assert_eq!(seen[0]["noScriptText"], seen[0]["text"]);
    assert!(serious(&seen[0]).is_empty(), "{:#}", seen[0]["violations"]);
}
