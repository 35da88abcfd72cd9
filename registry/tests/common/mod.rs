//! The registry's real router over real filesystem storage in a temp dir, driven
//! in-process with `tower::ServiceExt::oneshot`.

// Each test file is its own crate and uses only part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine as _;
use berth_registry::config::{Config, Limits};
use berth_registry::hosts::Hosts;
use berth_registry::server;
use berth_registry::start::Started;
use berth_registry::state::AppState;
use bytes::Bytes;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sha2::Digest as _;
use tempfile::TempDir;
use tower::ServiceExt;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// A registry over its own data directory, removed when the value is dropped.
pub struct TestRegistry {
    pub dir: Arc<TempDir>,
    pub state: Arc<AppState>,
    /// Keeps the PAT and key watchers running for as long as the registry is used.
    _started: Arc<Started>,
    app: Router,
    /// Sent with every request that has no `Authorization` of its own (the bootstrap
    /// admin's PAT, unless a test says otherwise).
    authorization: Option<String>,
}

/// A response, read whole.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    /// A header's value; panics (naming it) when it is missing.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
            .to_str()
            .expect("visible ASCII header")
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts the status, then that the body is the spec's error JSON with `code`;
    /// returns the message.
    #[track_caller]
    pub fn assert_error(&self, status: StatusCode, code: &str) -> String {
        assert_eq!(self.status, status, "body: {}", self.text());
        let body = self.json();
        let errors = body["errors"].as_array().expect("an errors array");
        assert_eq!(errors.len(), 1, "{body}");
        let e = &errors[0];
        assert_eq!(e["code"], code, "{body}");
        assert!(e.get("detail").is_some(), "detail is present: {body}");
        e["message"].as_str().expect("a message").to_owned()
    }

    #[track_caller]
    pub fn assert_status(&self, status: StatusCode) -> &Self {
        assert_eq!(self.status, status, "body: {}", self.text());
        self
    }
}

/// An upload `Location` (which carries its signed state in the query) with `digest=`.
pub fn with_digest(location: &str, digest: &str) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!("{location}{sep}digest={digest}")
}

impl TestRegistry {
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Self {
        Self::with_config(|c| c.limits = limits)
    }

    /// A registry whose standalone config `adjust` changes (hosts, auth, limits).
    pub fn with_config(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            data_dir: dir.path().to_path_buf(),
            hosts: Some(Hosts::Single),
            config_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        adjust(&mut config);
        let mut started = berth_registry::start::standalone(&config).expect("registry state");
        let token = started
            .bootstrap_token
            .take()
            .expect("a first start makes a bootstrap token");
        let app = server::app(started.state.clone());
        TestRegistry {
            dir: Arc::new(dir),
            state: started.state.clone(),
            _started: Arc::new(started),
            app,
            authorization: Some(basic("admin", &token)),
        }
    }

    /// The same registry, its requests sent without credentials.
    pub fn anonymous(&self) -> TestRegistry {
        self.with_authorization(None)
    }

    /// The same registry, its requests sent with `authorization` (a header value).
    pub fn with_authorization(&self, authorization: Option<String>) -> TestRegistry {
        TestRegistry {
            dir: self.dir.clone(),
            state: self.state.clone(),
            _started: self._started.clone(),
            app: self.app.clone(),
            authorization,
        }
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        self.dir.path()
    }

    /// A PAT for `user` (as `berth token create` makes), in force at once.
    pub fn pat(&self, user: &str, scopes: &str, ttl: Option<Duration>) -> String {
        let store = berth_registry::auth::store::TokenDir::new(self.data());
        let scopes = berth_registry::auth::identity::Scopes::parse(scopes).expect("scopes");
        let (_, token) = store.create(user, scopes, ttl).expect("token");
        self.state.auth.set_pats(store.list().expect("tokens"));
        token
    }

    /// The same registry, as `user` signing in with a new PAT of `scopes`.
    pub fn as_user(&self, user: &str, scopes: &str) -> TestRegistry {
        let token = self.pat(user, scopes, None);
        self.with_authorization(Some(basic(user, &token)))
    }

    /// Writes a policy file and waits (2 s at most) until `applied` holds.
    pub async fn write_policy(
        &self,
        file: &str,
        yaml: &str,
        applied: impl Fn(&berth_registry::policy::PolicySnapshot) -> bool,
    ) {
        std::fs::write(self.data().join("policy").join(file), yaml).expect("policy file");
        let ok = eventually(Duration::from_secs(2), || async {
            applied(&self.state.policy.snapshot())
        })
        .await;
        assert!(
            ok,
            "{file} did not take effect within 2 s: {:?}",
            self.state.policy.problems()
        );
    }

    /// Every file below `<data>/<sub>`.
    pub fn files_under(&self, sub: &str) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.map(|e| e.expect("dir entry")) {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.data().join(sub), &mut out);
        out
    }

    /// The names directly under `<data>/uploads`: one per live session.
    pub fn upload_dirs(&self) -> Vec<String> {
        std::fs::read_dir(self.data().join("uploads"))
            .expect("uploads dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    pub async fn send(&self, mut request: Request<Body>) -> Resp {
        if let Some(auth) = &self.authorization
            && !request.headers().contains_key("authorization")
        {
            request
                .headers_mut()
                .insert("authorization", auth.parse().expect("header value"));
        }
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("response body").to_bytes();
        Resp {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> Resp {
        let mut builder = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        self.send(builder.body(body.into()).expect("request")).await
    }

    pub async fn get(&self, uri: &str) -> Resp {
        self.request(Method::GET, uri, &[], Body::empty()).await
    }

    pub async fn head(&self, uri: &str) -> Resp {
        self.request(Method::HEAD, uri, &[], Body::empty()).await
    }

    pub async fn delete(&self, uri: &str) -> Resp {
        self.request(Method::DELETE, uri, &[], Body::empty()).await
    }

    /// A `POST` with no body (a session start, or a mount when `uri` asks for one).
    pub async fn post(&self, uri: &str) -> Resp {
        self.request(Method::POST, uri, &[], Body::empty()).await
    }

    /// `PATCH`/`PUT` on an upload with the body and its length.
    pub async fn send_bytes(
        &self,
        method: Method,
        uri: &str,
        extra: &[(&str, &str)],
        data: &[u8],
    ) -> Resp {
        let len = data.len().to_string();
        let mut headers = vec![
            ("content-length", len.as_str()),
            ("content-type", "application/octet-stream"),
        ];
        headers.extend_from_slice(extra);
        self.request(method, uri, &headers, data.to_vec()).await
    }

    /// `PATCH`es `data` into an upload session, as a chunk when `content_range` is given.
    pub async fn patch(&self, location: &str, content_range: Option<&str>, data: &[u8]) -> Resp {
        let range: Vec<_> = content_range
            .map(|r| ("content-range", r))
            .into_iter()
            .collect();
        self.send_bytes(Method::PATCH, location, &range, data).await
    }

    /// `PATCH`es `body` into an upload session as a stream: no `Content-Length`, no
    /// `Content-Range` (a client that does not know the length up front).
    pub async fn patch_stream(&self, location: &str, body: impl Into<Body>) -> Resp {
        self.request(Method::PATCH, location, &[], body).await
    }

    /// Finishes an upload session with `PUT ?digest=` and a last chunk of `data`.
    pub async fn finish(&self, location: &str, digest: &str, data: &[u8]) -> Resp {
        let uri = with_digest(location, digest);
        self.send_bytes(Method::PUT, &uri, &[], data).await
    }

    /// Pushes `data` to `repo` in one monolithic `POST ?digest=`; returns the digest.
    pub async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256(data);
        let uri = format!("/v2/{repo}/blobs/uploads/?digest={digest}");
        self.send_bytes(Method::POST, &uri, &[], data)
            .await
            .assert_status(StatusCode::CREATED);
        digest
    }

    /// `POST /v2/<repo>/blobs/uploads/`, whatever the answer (a session, or a refusal).
    pub async fn try_start_upload(&self, repo: &str) -> Resp {
        self.post(&format!("/v2/{repo}/blobs/uploads/")).await
    }

    /// Starts an upload session in `repo`, which must be accepted; returns its `Location`.
    pub async fn start_upload(&self, repo: &str) -> String {
        let r = self.try_start_upload(repo).await;
        r.assert_status(StatusCode::ACCEPTED);
        r.header("location").to_owned()
    }

    /// `PUT`s a manifest with its media type as `Content-Type`.
    pub async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Resp {
        let uri = format!("/v2/{repo}/manifests/{reference}");
        let len = body.len().to_string();
        let headers = [
            ("content-type", media_type),
            ("content-length", len.as_str()),
        ];
        self.request(Method::PUT, &uri, &headers, body.to_vec())
            .await
    }

    /// Pushes a manifest that must be accepted; returns its digest.
    pub async fn push_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> String {
        let r = self.put_manifest(repo, reference, media_type, body).await;
        r.assert_status(StatusCode::CREATED);
        let digest = sha256(body);
        assert_eq!(r.header("docker-content-digest"), digest);
        digest
    }

    /// Pushes a config blob, one layer and an OCI image manifest tagged `tag`; `seed`
    /// makes the content unique. Returns the manifest's digest and bytes.
    pub async fn push_image(&self, repo: &str, tag: &str, seed: &str) -> (String, Vec<u8>) {
        let config = format!("{{\"seed\":\"{seed}\"}}");
        let layer = format!("layer of {seed}");
        let config = self
            .blob_descriptor(repo, OCI_CONFIG, config.as_bytes())
            .await;
        let layer = self
            .blob_descriptor(repo, OCI_LAYER, layer.as_bytes())
            .await;
        let body = image_manifest(OCI_MANIFEST, config, vec![layer], None);
        let digest = self.push_manifest(repo, tag, OCI_MANIFEST, &body).await;
        (digest, body)
    }

    /// Pushes `data` and returns its descriptor.
    pub async fn blob_descriptor(&self, repo: &str, media_type: &str, data: &[u8]) -> Value {
        self.push_blob(repo, data).await;
        descriptor(media_type, data)
    }
}

/// A Basic `Authorization` value.
pub fn basic(user: &str, secret: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"));
    format!("Basic {b64}")
}

/// The descriptor of `data`.
pub fn descriptor(media_type: &str, data: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": sha256(data), "size": data.len()})
}

/// An image manifest (OCI or Docker, by `media_type`), with an optional subject.
pub fn image_manifest(
    media_type: &str,
    config: Value,
    layers: Vec<Value>,
    subject: Option<Value>,
) -> Vec<u8> {
    let mut m =
        json!({"schemaVersion": 2, "mediaType": media_type, "config": config, "layers": layers});
    if let Some(subject) = subject {
        m["subject"] = subject;
    }
    serde_json::to_vec(&m).expect("manifest serializes")
}

/// An index (OCI or Docker manifest list, by `media_type`) of `children`.
pub fn index_manifest(media_type: &str, children: Vec<Value>) -> Vec<u8> {
    let m = json!({"schemaVersion": 2, "mediaType": media_type, "manifests": children});
    serde_json::to_vec(&m).expect("index serializes")
}

pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

pub fn sha512(data: &[u8]) -> String {
    format!("sha512:{}", hex::encode(sha2::Sha512::digest(data)))
}

/// Polls `condition` until it holds or `within` passes; `false` if it never held.
pub async fn eventually<F, Fut>(within: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A request to the REST API (`/api/v3{path}`) with `reg`'s credentials.
pub async fn api(reg: &TestRegistry, method: Method, path: &str) -> Resp {
    reg.request(method, &format!("/api/v3{path}"), &[], Body::empty())
        .await
}

/// Deletes the version of `package` (an API path such as `/user/packages/container/app`)
/// whose name is `digest`, through the REST API; returns its id.
pub async fn delete_version(reg: &TestRegistry, package: &str, digest: &str) -> u64 {
    let versions = api(reg, Method::GET, &format!("{package}/versions"))
        .await
        .json();
    let id = versions
        .as_array()
        .expect("a list of versions")
        .iter()
        .find(|v| v["name"] == digest)
        .unwrap_or_else(|| panic!("{digest} is not a version of {package}: {versions}"))["id"]
        .as_u64()
        .unwrap();
    api(reg, Method::DELETE, &format!("{package}/versions/{id}"))
        .await
        .assert_status(StatusCode::NO_CONTENT);
    id
}

/// `r` is GitHub's error JSON with `status` and `message`.
pub fn assert_github_error(r: &Resp, status: StatusCode, message: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let j = r.json();
    assert_eq!(j["message"], message, "{j}");
    assert_eq!(j["status"], status.as_u16().to_string(), "{j}");
    assert!(
        j["documentation_url"]
            .as_str()
            .unwrap()
            .starts_with("https://docs.github.com/")
    );
}
