//! The credentials GitHub's clients send, and errors as GitHub writes them:
//! `{"message","documentation_url","status"}`, `status` a string, the documentation the
//! operation's own (`externalDocs` in GitHub's OpenAPI document).

use serde_json::Value;

use crate::common::repo_root;
use crate::support::{
    NOT_FOUND, base_url, basic, pat, push_manifests, request, send, start, version_id,
};

/// The `externalDocs.url` of `METHOD PATH` in @octokit/openapi's api.github.com document.
fn documentation(doc: &Value, method: &str, path: &str) -> String {
    doc["paths"][path][method.to_lowercase()]["externalDocs"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no externalDocs for {method} {path}"))
        .to_owned()
}

fn openapi() -> Value {
    let file = repo_root()
        .join(".tools/api/js/node_modules/@octokit/openapi/generated/api.github.com.json");
    let text = std::fs::read(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: run `scripts/tools.sh api` (the README's test command does)",
            file.display()
        )
    });
    serde_json::from_slice(&text).expect("GitHub's OpenAPI document")
}

#[test]
fn github_clients_credentials_are_accepted() {
    let berth = start();
    push_manifests(&berth, "acme/app", 1, &["v1"], None);
    let token = pat(&berth, "olivia", "read:packages");
    let base = base_url(&berth);
    for auth in [
        format!("Bearer {token}"),
        format!("token {token}"),
        basic("olivia", &token),
    ] {
        let me = request("GET", &format!("{base}/user"), &auth, None);
        assert_eq!(me.status, 200, "{auth}: {me:?}");
        assert_eq!(me.json()["login"], "olivia", "{auth}");
        let app = request(
            "GET",
            &format!("{base}/orgs/acme/packages/container/app"),
            &auth,
            None,
        );
        assert_eq!(app.status, 200, "{auth}: {app:?}");
        assert_eq!(app.json()["name"], "app");
    }
}

#[test]
fn errors_are_githubs_json_naming_the_operations_documentation() {
    let doc = openapi();
    let berth = start();
    let pushed = push_manifests(&berth, "acme/app", 1, &["v1"], None);
    let token = pat(&berth, "olivia", "read:packages,delete:packages");
    let list = send(
        &berth,
        "GET",
        "/orgs/acme/packages/container/app/versions",
        &token,
    );
    let id = version_id(&list.json(), &pushed.digests[0]);
    let o = "/orgs/{org}/packages/{package_type}/{package_name}";
    let u = "/users/{username}/packages/{package_type}/{package_name}";
    let me = "/user/packages/{package_type}/{package_name}";
    let cases: Vec<(&str, String, String, u16, Option<&str>)> = vec![
        (
            "GET",
            o.into(),
            "/orgs/acme/packages/container/nosuch".into(),
            404,
            Some(NOT_FOUND),
        ),
        (
            "GET",
            u.into(),
            "/users/olivia/packages/container/nosuch".into(),
            404,
            Some(NOT_FOUND),
        ),
        (
            "GET",
            me.into(),
            "/user/packages/container/nosuch".into(),
            404,
            Some(NOT_FOUND),
        ),
        (
            "DELETE",
            u.into(),
            "/users/olivia/packages/container/nosuch".into(),
            404,
            Some(NOT_FOUND),
        ),
        (
            "POST",
            format!("{me}/restore"),
            "/user/packages/container/nosuch/restore".into(),
            404,
            Some(NOT_FOUND),
        ),
        (
            "DELETE",
            o.into(),
            "/orgs/acme/packages/container/app?as=reader".into(),
            403,
            None,
        ),
        (
            "DELETE",
            format!("{me}/versions/{{package_version_id}}"),
            format!("/user/packages/container/nosuch/versions/{id}"),
            404,
            Some(NOT_FOUND),
        ),
        (
            "GET",
            format!("{o}/versions"),
            "/orgs/acme/packages/container/nosuch/versions".into(),
            404,
            Some(NOT_FOUND),
        ),
        (
            "GET",
            format!("{o}/versions/{{package_version_id}}"),
            "/orgs/acme/packages/container/app/versions/999999999".into(),
            404,
            None,
        ),
        (
            "DELETE",
            format!("{o}/versions/{{package_version_id}}"),
            format!("/orgs/acme/packages/container/app/versions/{id}"),
            400,
            Some(crate::support::LAST_TAGGED),
        ),
        (
            "DELETE",
            format!("{o}/versions/{{package_version_id}}"),
            format!("/orgs/acme/packages/container/app/versions/{id}?as=reader"),
            403,
            None,
        ),
        (
            "GET",
            "/orgs/{org}".into(),
            "/orgs/nosuchorg".into(),
            404,
            None,
        ),
    ];
    let reader = pat(&berth, "olivia", "read:packages");
    for (method, template, path, status, message) in cases {
        // `?as=reader`: sent with a read-only PAT (and without the marker).
        let (path, token) = match path.strip_suffix("?as=reader") {
            Some(p) => (p.to_owned(), &reader),
            None => (path, &token),
        };
        let r = send(&berth, method, &path, token);
        r.assert_github_error(status, message);
        assert_eq!(
            r.json()["documentation_url"],
            documentation(&doc, method, &template),
            "{method} {path}: {}",
            r.body
        );
    }
}
