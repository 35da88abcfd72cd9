//! What the API tests share: a registry with the organization `acme` in its policy,
//! PATs, raw HTTP against `/api/v3`, fast pushes (`push`), and GitHub's own clients
//! (`clients`: @octokit/rest with node, githubkit with python).

pub mod clients;
pub mod push;

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub use self::clients::{Octokit, crane_manifest, githubkit, paginate};
pub use self::push::{push_manifests, push_manifests_via};
use crate::common::{Berth, wait_until};

/// `acme`: `olivia` owns it, `bob` is a member; members may create private and internal
/// packages.
pub const ACME: &str = "apiVersion: berth.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  owners: [olivia]
  members: [bob]
  packageCreation: {private: true, internal: true, public: true}
";

/// How long a policy or token change may take to apply (PRODUCT.md §4).
pub const APPLY: Duration = Duration::from_secs(2);

/// GitHub's message for a missing (or hidden) package.
pub const NOT_FOUND: &str = "Package not found.";
/// GitHub's refusal to delete the last tagged version.
pub const LAST_TAGGED: &str =
    "You cannot delete the last tagged version of a package. You must delete the package instead.";
/// GitHub's refusal of `page × per_page > 10000`.
pub const PAGE_LIMIT: &str =
    "The value of `per_page` multiplied by `page` cannot be greater than 10000.";

/// Every scope a PAT can have.
pub const ALL_SCOPES: &str = "read:packages,write:packages,delete:packages";

/// Writes `file` into `dir` in one step, so the watcher never reads half of it.
pub fn write_file(dir: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(dir).expect("policy dir");
    let tmp = dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, text).expect("writing a policy file");
    std::fs::rename(&tmp, dir.join(file)).expect("moving a policy file in place");
}

/// A registry (single host) whose policy holds `acme` from the start.
pub fn start() -> Berth {
    Berth::start_with(&[], |data| {
        write_file(&data.join("policy"), "acme.yaml", ACME)
    })
}

/// `http://127.0.0.1:PORT/api/v3`.
pub fn base_url(berth: &Berth) -> String {
    berth.url("/api/v3")
}

/// An `Authorization: Basic` value.
pub fn basic(user: &str, secret: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    format!("Basic {b64}")
}

/// A new PAT of `user` (`berth token create`), once the running registry accepts it.
pub fn pat(berth: &Berth, user: &str, scopes: &str) -> String {
    let pat = berth.create_token(user, scopes, None);
    let client = Client::new();
    wait_until(
        &format!("the registry to accept {user}'s new PAT"),
        APPLY,
        || {
            client
                .get(berth.url("/v2/"))
                .header("authorization", basic(user, &pat))
                .send()
                .is_ok_and(|r| r.status().is_success())
        },
    );
    pat
}

/// Rewrites the Package of `OWNER/NAME` (the file its first push wrote) with these extra
/// `spec` lines, then waits until `check` holds.
pub fn write_package(berth: &Berth, repo: &str, spec: &[&str], check: impl FnMut() -> bool) {
    let (owner, name) = repo.split_once('/').expect("OWNER/NAME");
    let file = format!("{owner}.{}.yaml", name.replace('/', "."));
    let dir = berth.data_dir.join("policy");
    assert!(
        dir.join(&file).is_file(),
        "{file} should exist in the policy dir (the first push writes it)"
    );
    let mut text = format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {{name: {owner}.{}}}\nspec:\n  owner: {owner}\n  name: {name}\n",
        name.replace('/', ".")
    );
    for line in spec {
        text.push_str(&format!("  {line}\n"));
    }
    write_file(&dir, &file, &text);
    wait_until(&format!("{repo}'s new policy to apply"), APPLY, check);
}

/// A response as received by reqwest.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Fails unless this is a GitHub error: `status`, `application/json`, exactly
    /// `{"message","documentation_url","status"}` with `status` the code as a string, the
    /// documentation under docs.github.com, and `message` when given.
    pub fn assert_github_error(&self, status: u16, message: Option<&str>) {
        assert_eq!(self.status, status, "{self:?}");
        let ct = self.header("content-type").unwrap_or_default();
        assert!(
            ct.starts_with("application/json"),
            "content-type {ct:?}: {self:?}"
        );
        let body = self.json();
        let obj = body
            .as_object()
            .unwrap_or_else(|| panic!("an object: {}", self.body));
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["documentation_url", "message", "status"],
            "{}",
            self.body
        );
        assert_eq!(
            body["status"],
            Value::String(status.to_string()),
            "{}",
            self.body
        );
        let doc = body["documentation_url"].as_str().unwrap_or_default();
        assert!(
            doc.starts_with("https://docs.github.com/rest"),
            "{}",
            self.body
        );
        if let Some(m) = message {
            assert_eq!(body["message"], m, "{}", self.body);
        }
    }
}

/// One request to `url` with `authorization` (empty: none) and an optional `Host`.
pub fn request(method: &str, url: &str, authorization: &str, host: Option<&str>) -> Answer {
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let mut req = client
        .request(method.parse().expect("a method"), url)
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28");
    if !authorization.is_empty() {
        req = req.header("authorization", authorization);
    }
    if let Some(h) = host {
        req = req.header("host", h);
    }
    let r = req.send().unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.text().expect("a body");
    Answer {
        status,
        headers,
        body,
    }
}

/// `GET BASE_URL + path` signed in with `Authorization: Bearer PAT`.
pub fn get(berth: &Berth, path: &str, pat: &str) -> Answer {
    let auth = if pat.is_empty() {
        String::new()
    } else {
        format!("Bearer {pat}")
    };
    request("GET", &format!("{}{path}", base_url(berth)), &auth, None)
}

/// `METHOD BASE_URL + path` signed in with `Authorization: Bearer PAT` (empty: anonymous).
pub fn send(berth: &Berth, method: &str, path: &str, pat: &str) -> Answer {
    let auth = if pat.is_empty() {
        String::new()
    } else {
        format!("Bearer {pat}")
    };
    request(method, &format!("{}{path}", base_url(berth)), &auth, None)
}

/// The ids of a versions list, by tag: `(id, name, tags)`.
pub fn versions_of(list: &Value) -> Vec<(u64, String, Vec<String>)> {
    list.as_array()
        .unwrap_or_else(|| panic!("a list of versions: {list}"))
        .iter()
        .map(|v| {
            let tags = v["metadata"]["container"]["tags"]
                .as_array()
                .unwrap_or_else(|| panic!("metadata.container.tags: {v}"))
                .iter()
                .map(|t| t.as_str().expect("a tag").to_owned())
                .collect();
            (
                v["id"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("an integer id: {v}")),
                v["name"].as_str().expect("a name").to_owned(),
                tags,
            )
        })
        .collect()
}

/// The id of the version named `digest` in a versions list.
pub fn version_id(list: &Value, digest: &str) -> u64 {
    versions_of(list)
        .into_iter()
        .find(|(_, name, _)| name == digest)
        .unwrap_or_else(|| panic!("no version named {digest} in {list}"))
        .0
}
