//! The packages REST API on two replicas sharing a bucket: versions, ids and deletes are
//! kept in the bucket, so what one replica does the other sees.

use std::time::Instant;

use serde_json::Value;

use crate::common::Berth;
use crate::common::minio::{Minio, bucket_name};
use crate::{PROMPTLY, config_on, push_manifest};

/// Pushes a small image to `repo:tag` through `berth`; returns its digest.
async fn push(client: &reqwest::Client, berth: &Berth, repo: &str, tag: &str) -> String {
    let config = format!("{{\"tag\":\"{tag}\"}}");
    push_manifest(client, berth, repo, tag, config.as_bytes()).await
}

async fn api(
    client: &reqwest::Client,
    berth: &Berth,
    method: reqwest::Method,
    path: &str,
) -> (u16, Value) {
    let r = client
        .request(method, berth.url(&format!("/api/v3{path}")))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body = r.text().await.unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

async fn manifest_status(client: &reqwest::Client, berth: &Berth, reference: &str) -> u16 {
    client
        .get(berth.url(&format!("/v2/admin/app/manifests/{reference}")))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Two replicas on a fresh bucket.
async fn two_replicas() -> (Berth, Berth) {
    let config = config_on(Minio::shared(), &bucket_name(), ("", "", ""));
    // Starting waits on the processes (blocking HTTP), off the runtime's threads.
    let mut replicas = tokio::task::spawn_blocking(move || Berth::replicas(&config, 2))
        .await
        .unwrap();
    let (b, a) = (replicas.pop().unwrap(), replicas.pop().unwrap());
    (a, b)
}

/// Polls `probe` until it returns a value, for at most `PROMPTLY` (a replica's metadata
/// cache may serve the old answer for its staleness bound; the other replica reads the
/// shared policy directory through its watcher).
async fn eventually<T, F: Future<Output = Result<T, String>>>(mut probe: impl FnMut() -> F) -> T {
    let start = Instant::now();
    loop {
        match probe().await {
            Ok(v) => return v,
            Err(last) => assert!(start.elapsed() < PROMPTLY, "{last}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Polls until `reference` answers `status` on `berth`.
async fn until_manifest(client: &reqwest::Client, berth: &Berth, reference: &str, status: u16) {
    eventually(|| async {
        let got = manifest_status(client, berth, reference).await;
        (got == status).then_some(()).ok_or_else(|| {
            format!(
                "{reference} answered {got}, never {status}, on {}",
                berth.host()
            )
        })
    })
    .await
}

/// Polls until `GET /api/v3{path}` with `pat` answers `status` on `berth`; returns its
/// body.
async fn until_api(berth: &Berth, pat: &str, path: &str, status: u16) -> Value {
    eventually(|| async {
        let (got, body) = as_user(berth, pat, reqwest::Method::GET, path).await;
        (got == status)
            .then(|| serde_json::from_str(&body).unwrap_or(Value::Null))
            .ok_or_else(|| {
                format!(
                    "{path} answered {got}, never {status}, on {}: {body}",
                    berth.host()
                )
            })
    })
    .await
}
#[tokio::test(flavor = "multi_thread")]
async fn a_version_deleted_through_one_replica_is_deleted_on_the_other_and_restored_back() {
    let (a, b) = two_replicas().await;
    let client = a.admin_client();
    push(&client, &a, "admin/app", "keep").await;
    let gone = push(&client, &b, "admin/app", "gone").await;

    // Both replicas list the same versions with the same ids.
    let path = "/user/packages/container/app/versions";
    let (status, on_a) = api(&client, &a, reqwest::Method::GET, path).await;
    assert_eq!(status, 200, "{on_a}");
    let (_, on_b) = api(&client, &b, reqwest::Method::GET, path).await;
    let ids = |list: &Value| -> Vec<(u64, String, Value)> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["id"].as_u64().unwrap(),
                    v["name"].as_str().unwrap().to_owned(),
                    v["metadata"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        ids(&on_a),
        ids(&on_b),
        "the same ids, digests and tags on both"
    );
    assert_eq!(on_a.as_array().unwrap().len(), 2);
    let id = on_a
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == gone.as_str())
        .unwrap()["id"]
        .as_u64()
        .unwrap();

    let (status, body) = api(
        &client,
        &a,
        reqwest::Method::DELETE,
        &format!("{path}/{id}"),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (_, deleted_on_b) = api(
        &client,
        &b,
        reqwest::Method::GET,
        &format!("{path}?state=deleted"),
    )
    .await;
    assert_eq!(deleted_on_b[0]["id"], id, "{deleted_on_b}");
    until_manifest(&client, &b, &gone, 404).await;
    until_manifest(&client, &b, "gone", 404).await;

    let (status, body) = api(
        &client,
        &b,
        reqwest::Method::POST,
        &format!("{path}/{id}/restore"),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    until_manifest(&client, &a, "gone", 200).await;
    let (_, active_on_a) = api(&client, &a, reqwest::Method::GET, path).await;
    assert_eq!(active_on_a.as_array().unwrap().len(), 2, "{active_on_a}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_package_deleted_through_one_replica_is_gone_on_the_other_and_restored_back() {
    let (a, b) = two_replicas().await;
    let client = a.admin_client();
    push(&client, &a, "admin/app", "one").await;
    push(&client, &b, "admin/app", "two").await;
    let path = "/user/packages/container/app";
    let before = until_api(&b, a.token(), path, 200).await;

    let (status, body) = api(&client, &a, reqwest::Method::DELETE, path).await;
    assert_eq!(status, 204, "{body}");
    until_api(&b, a.token(), path, 404).await;
    until_manifest(&client, &b, "one", 404).await;
    until_manifest(&client, &b, "two", 404).await;

    let (status, body) = api(
        &client,
        &b,
        reqwest::Method::POST,
        &format!("{path}/restore"),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let after = until_api(&a, a.token(), path, 200).await;
    assert_eq!(after["id"], before["id"], "the same package: {after}");
    assert_eq!(after["version_count"], 2, "{after}");
    until_manifest(&client, &a, "one", 200).await;
    until_manifest(&client, &a, "two", 200).await;
}

/// `METHOD /api/v3{path}` on `berth` with `pat` ("" = anonymous): status and body.
async fn as_user(berth: &Berth, pat: &str, method: reqwest::Method, path: &str) -> (u16, String) {
    let mut r = reqwest::Client::new().request(method, berth.url(&format!("/api/v3{path}")));
    if !pat.is_empty() {
        r = r.header("authorization", format!("token {pat}"));
    }
    let r = r.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_permission_axes_hold_on_both_replicas() {
    let (a, b) = two_replicas().await;
    let policy = a.data_dir.join("policy");
    std::fs::create_dir_all(&policy).unwrap();
    std::fs::write(
        policy.join(".acme.tmp"),
        "apiVersion: berth.dev/v1alpha1\nkind: Organization\nmetadata: {name: acme}\nspec: {owners: [olivia], members: [bob]}\n",
    )
    .unwrap();
    std::fs::rename(policy.join(".acme.tmp"), policy.join("acme.yaml")).unwrap();
    let client = a.admin_client();
    push(&client, &a, "acme/app", "v1").await;
    push(&client, &a, "acme/app", "v2").await;
    // `berth token create` waits on a process: off the runtime's threads.
    let tokens = tokio::task::block_in_place(|| {
        [
            ("olivia", "read:packages"),
            ("olivia", "read:packages,write:packages,delete:packages"),
            ("bob", "read:packages,write:packages,delete:packages"),
            ("eve", "read:packages,write:packages,delete:packages"),
        ]
        .map(|(user, scopes)| a.create_token(user, scopes, None))
    });
    let [reader, owner, member, stranger] = tokens.each_ref().map(String::as_str);
    let app = "/orgs/acme/packages/container/app";
    // Asked of the replica that did not take the pushes, once its watchers have the
    // organization and the tokens.
    until_api(&b, reader, app, 200).await;
    let (_, versions) = as_user(&b, reader, reqwest::Method::GET, &format!("{app}/versions")).await;
    let versions: Value = serde_json::from_str(&versions).unwrap();
    let id = versions[0]["id"].as_u64().unwrap();

    // Existence hiding: a member without a grant and a stranger see what a missing
    // package looks like, byte for byte.
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let nosuch = "/orgs/acme/packages/container/nosuch";
        let missing = as_user(&b, stranger, method.clone(), nosuch).await;
        assert_eq!(missing.0, 404, "{}", missing.1);
        for (who, pat) in [("bob", member), ("eve", stranger)] {
            let got = as_user(&b, pat, method.clone(), app).await;
            assert_eq!(got, missing, "{who}: {method} {app}");
        }
    }
    // Scopes: reading is not deleting; no credentials is a 401.
    let (s, body) = as_user(
        &b,
        reader,
        reqwest::Method::DELETE,
        &format!("{app}/versions/{id}"),
    )
    .await;
    assert_eq!(s, 403, "{body}");
    let (s, body) = as_user(&b, "", reqwest::Method::GET, app).await;
    assert_eq!(s, 401, "{body}");
    // The organization's owner deletes through one replica; the other sees it gone.
    let (s, body) = as_user(&b, owner, reqwest::Method::DELETE, app).await;
    assert_eq!(s, 204, "{body}");
    until_api(&a, owner, app, 404).await;
    let (s, body) = as_user(&a, owner, reqwest::Method::POST, &format!("{app}/restore")).await;
    assert_eq!(s, 204, "{body}");
    // The other replica has it back once its watcher reads the restored Package.
    let version = format!("{app}/versions/{id}");
    until_api(&b, reader, &version, 200).await;
}
