//! Package settings, versions and deleted packages, walked in Chromium with JavaScript
//! off (`browser::Walk`) against images pushed and pulled by podman: an invitation lets a
//! PAT push and its removal stops it, a visibility change lets anonymous pulls in, and a
//! version and then the whole package are deleted and restored from the pages.

use serde_json::{Value, json};

use crate::browser::{Visit, Walk, serious, visit_as};
use crate::common::Berth;
use crate::common::podman::Podman;

const SETTINGS: &str = "/users/admin/packages/container/app/settings";

/// The steps that sign `login` in with `token` on the sign-in page.
fn sign_in(berth: &Berth, login: &str, token: &str) -> Vec<Value> {
    vec![
        json!({"goto": berth.url("/login")}),
        json!({"fill": "#login", "value": login}),
        json!({"fill": "#token", "value": token}),
        json!({"click": "form.sign-in button[type=submit]"}),
    ]
}

/// `podman push` of a fresh image as `image`, whether or not it is allowed.
fn try_publish(podman: &Podman, image: &str, content: &str) -> std::process::Output {
    podman.build(image, "linux/amd64", content, &[]);
    podman
        .cmd()
        .args(["push", "--tls-verify=false", image])
        .output()
        .expect("running podman push")
}

/// Opens the settings page and takes `steps` there; what each showed.
fn send(walk: &Walk, berth: &Berth, steps: &[Value]) -> Vec<Value> {
    let mut all = vec![json!({"goto": berth.url(SETTINGS)})];
    all.extend_from_slice(steps);
    walk.steps(&all)
}

#[test]
fn an_admin_shares_a_package_and_makes_it_public_on_its_settings_page() {
    let berth = Berth::start();
    let host = berth.host();
    let admin = Podman::admin(&berth);
    admin.publish(&format!("{host}/admin/app:v1"), "v1", &[]);
    let bob_token = berth.create_token("bob", "read:packages,write:packages", None);
    let bob = Podman::new();
    bob.login(&berth, "bob", &bob_token);

    // Bob cannot push to admin's package, nor see its settings.
    let refused = try_publish(&bob, &format!("{host}/admin/app:bob"), "bob 1");
    assert!(
        !refused.status.success(),
        "bob pushed before any invitation"
    );

    let walk = Walk::new();
    let home = walk.steps(&sign_in(&berth, "admin", berth.token()));
    let home = home.last().unwrap();
    assert!(
        home["text"]
            .as_str()
            .unwrap()
            .contains("Signed in as admin"),
        "{home}"
    );

    // Invite bob as Write: his PAT pushes.
    let invited = send(
        &walk,
        &berth,
        &[
            json!({"fill": "#invite-who", "value": "bob"}),
            json!({"select": "#invite-role", "value": "write"}),
            json!({"click": "form:has(#invite-who) button[type=submit]"}),
        ],
    );
    let text = invited.last().unwrap()["text"].as_str().unwrap().to_owned();
    assert!(
        text.contains("Access granted.") && text.contains("bob"),
        "{text}"
    );
    assert!(text.contains("Write"), "bob's role is shown: {text}");
    let pushed = try_publish(&bob, &format!("{host}/admin/app:bob"), "bob 2");
    assert!(
        pushed.status.success(),
        "bob, invited as Write, pushes: {}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    let policy = std::fs::read_to_string(berth.data_dir.join("policy/admin.app.yaml")).unwrap();
    assert!(
        policy.contains("bob") && policy.contains("write"),
        "{policy}"
    );

    // Remove him: it stops.
    let removed = send(
        &walk,
        &berth,
        &[json!({"click": "button[aria-label=\"Remove bob\"]"})],
    );
    let text = removed.last().unwrap()["text"].as_str().unwrap().to_owned();
    assert!(text.contains("Access removed."), "{text}");
    let refused = try_publish(&bob, &format!("{host}/admin/app:bob"), "bob 3");
    assert!(!refused.status.success(), "bob pushed after his removal");

    // Visibility: a wrong confirmation changes nothing; the right one makes it public.
    let anonymous = Podman::new();
    assert!(
        !anonymous
            .try_pull(&format!("{host}/admin/app:v1"))
            .status
            .success(),
        "private: no anonymous pull"
    );
    let wrong = send(
        &walk,
        &berth,
        &[
            json!({"check": "#visibility-public"}),
            json!({"fill": "#visibility-confirm", "value": "ap"}),
            json!({"click": "form:has(#visibility-confirm) button[type=submit]"}),
        ],
    );
    let last = wrong.last().unwrap();
    assert_eq!(last["status"], 400, "{last}");
    assert!(
        last["text"]
            .as_str()
            .unwrap()
            .contains("Type app to confirm"),
        "{last}"
    );
    let changed = send(
        &walk,
        &berth,
        &[
            json!({"check": "#visibility-public"}),
            json!({"fill": "#visibility-confirm", "value": "app"}),
            json!({"click": "form:has(#visibility-confirm) button[type=submit]"}),
        ],
    );
    let text = changed.last().unwrap()["text"].as_str().unwrap().to_owned();
    assert!(
        text.contains("Visibility changed.") && text.contains("This package is public"),
        "{text}"
    );

    // An anonymous visitor reads the page and pulls with its command as written.
    let seen = Walk::new().steps(&[json!({"goto": berth.url(
        "/users/admin/packages/container/package/app"
    )})]);
    let page = seen[0]["text"].as_str().unwrap();
    assert_eq!(seen[0]["status"], 200, "{page}");
    assert!(
        !page.contains("Package settings"),
        "not for anonymous: {page}"
    );
    let command = page
        .lines()
        .find_map(|l| l.trim().strip_prefix("$ docker pull "))
        .unwrap_or_else(|| panic!("an install command in {page}"));
    assert_eq!(command, format!("{host}/admin/app:bob"), "the newest tag");
    let pulled = anonymous.try_pull(command);
    assert!(
        pulled.status.success(),
        "the page's command pulls anonymously: {}",
        String::from_utf8_lossy(&pulled.stderr)
    );

    // Bob's session does not reach the settings: the same 404 as a missing page.
    let bobs = Walk::new();
    bobs.steps(&sign_in(&berth, "bob", &bob_token));
    let seen = bobs.steps(&[json!({"goto": berth.url(SETTINGS)})]);
    assert_eq!(seen[0]["status"], 404, "{}", seen[0]);

    // Each change is in the audit trail.
    let log = berth.log.lock().unwrap().join("\n");
    for action in ["change_access", "change_visibility"] {
        assert!(
            log.contains(&format!("action=\"{action}\""))
                || log.contains(&format!("action={action}"))
                || log.contains(&format!("\"action\":\"{action}\"")),
            "{action} in the log"
        );
    }
}

#[test]
fn versions_and_packages_are_deleted_and_restored_from_the_pages() {
    let berth = Berth::start();
    let host = berth.host();
    let admin = Podman::admin(&berth);
    let v1 = admin.publish(&format!("{host}/admin/app:v1"), "v1", &[]);
    admin.publish(&format!("{host}/admin/app:v2"), "v2", &[]);
    let walk = Walk::new();
    walk.steps(&sign_in(&berth, "admin", berth.token()));
    let versions = berth.url("/users/admin/packages/container/app/versions");

    // Delete v1 from its page: it leaves the list and stops pulling.
    let deleted = walk.steps(&[
        json!({"goto": versions}),
        json!({"click": "ul.versions a:has-text(\"v1\")"}),
        json!({"click": "form:has(input[name=csrf]) button.danger"}),
    ]);
    let list = deleted.last().unwrap();
    assert!(
        list["url"].as_str().unwrap().ends_with("/versions"),
        "{list}"
    );
    assert!(!list["text"].as_str().unwrap().contains(&v1), "{list}");
    let fresh = Podman::admin(&berth);
    assert!(
        !fresh
            .try_pull(&format!("{host}/admin/app@{v1}"))
            .status
            .success(),
        "a deleted version does not pull"
    );

    // Restore it from the Deleted filter: it pulls again, with its tag.
    let restored = walk.steps(&[
        json!({"goto": format!("{versions}?filters%5Bversion_type%5D=deleted")}),
        json!({"click": format!("button[aria-label=\"Restore {v1}\"]")}),
    ]);
    let version = restored.last().unwrap();
    assert_eq!(version["status"], 200, "{version}");
    assert!(version["text"].as_str().unwrap().contains(&v1), "{version}");
    fresh.pull(&format!("{host}/admin/app:v1"), &[]);

    // Delete the whole package, confirmed by its name.
    let gone = walk.steps(&[
        json!({"goto": berth.url(SETTINGS)}),
        json!({"fill": "#delete-confirm", "value": "app"}),
        json!({"click": "form:has(#delete-confirm) button[type=submit]"}),
    ]);
    let list = gone.last().unwrap();
    assert!(
        list["url"]
            .as_str()
            .unwrap()
            .ends_with("/users/admin/packages"),
        "{list}"
    );
    assert!(
        list["text"].as_str().unwrap().contains("0 packages"),
        "{list}"
    );
    fresh.rmi_all();
    assert!(
        !fresh
            .try_pull(&format!("{host}/admin/app:v2"))
            .status
            .success()
    );

    // Restore it from the owner's deleted packages.
    let back = walk.steps(&[
        json!({"goto": berth.url("/settings/packages")}),
        json!({"fill": "#restore-app", "value": "app"}),
        json!({"click": "form:has(#restore-app) button[type=submit]"}),
    ]);
    let page = back.last().unwrap();
    assert_eq!(page["status"], 200, "{page}");
    assert!(
        page["url"]
            .as_str()
            .unwrap()
            .ends_with("/users/admin/packages/container/package/app"),
        "{page}"
    );
    fresh.pull(&format!("{host}/admin/app:v2"), &[]);
    fresh.pull(&format!("{host}/admin/app:v1"), &[]);
}

#[test]
fn the_settings_pages_pass_axe_and_need_no_javascript() {
    let berth = Berth::start();
    let host = berth.host();
    Podman::admin(&berth).publish(&format!("{host}/admin/app:v1"), "v1", &[]);
    let session = crate::signing::sign_in(&berth, "admin", berth.token());
    let cookie = crate::signing::pair(&session);
    let seen = visit_as(
        &[
            Visit {
                name: "settings",
                url: berth.url(SETTINGS),
            },
            Visit {
                name: "deleted-packages",
                url: berth.url("/settings/packages"),
            },
            Visit {
                name: "home-signed-in",
                url: berth.url("/"),
            },
        ],
        Some(&cookie),
    );
    for page in &seen {
        let name = &page["name"];
        assert_eq!(page["status"], 200, "{name}: {page:#}");
        assert_eq!(page["errors"], json!([]), "{name}: {page:#}");
        assert_eq!(page["noScriptText"], page["text"], "{name}");
        assert!(serious(page).is_empty(), "{name}: {:#}", page["violations"]);
    }
    let home = seen[2]["text"].as_str().unwrap();
    assert!(home.contains("admin") && home.contains("app"), "{home}");
    let settings = seen[0]["text"].as_str().unwrap();
    for part in [
        "Manage access",
        "Inherit access from source repository (recommended)",
        "Manage Actions access",
        "I understand the consequences, change package visibility",
        "I understand the consequences, delete this package",
    ] {
        assert!(settings.contains(part), "{part} in {settings}");
    }

    // A settings form without the session's CSRF token is refused, and changes nothing.
    let r = reqwest::blocking::Client::new()
        .post(berth.url(SETTINGS))
        .header("cookie", &cookie)
        .form(&[
            ("do", "visibility"),
            ("visibility", "public"),
            ("confirm", "app"),
        ])
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let policy = std::fs::read_to_string(berth.data_dir.join("policy/admin.app.yaml")).unwrap();
    assert!(!policy.contains("public"), "{policy}");
}
