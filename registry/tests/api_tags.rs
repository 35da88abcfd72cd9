//! `GET /v2/<name>/tags/list?n=&last=`: order, pagination and `Link`.

mod common;

use axum::http::StatusCode;
use common::{OCI_MANIFEST, Resp, TestRegistry};
use serde_json::json;

/// A repository with one manifest under each of `tags`.
async fn tagged(reg: &TestRegistry, repo: &str, tags: &[&str]) {
    let (_, body) = reg.push_image(repo, tags[0], "tags").await;
    for tag in &tags[1..] {
        reg.push_manifest(repo, tag, OCI_MANIFEST, &body).await;
    }
}

#[track_caller]
fn assert_page(r: &Resp, name: &str, tags: &[&str], next: Option<&str>) {
    r.assert_status(StatusCode::OK);
    assert_eq!(r.json(), json!({"name": name, "tags": tags}));
    assert_eq!(r.headers.get("link").map(|v| v.to_str().unwrap()), next);
}

#[tokio::test]
async fn tags_are_listed_in_lexical_order() {
    let reg = TestRegistry::new();
    tagged(
        &reg,
        "acme/app",
        &["v2", "latest", "V1", "1.0", "_x", "v10"],
    )
    .await;
    let r = reg.get("/v2/acme/app/tags/list").await;
    assert_page(
        &r,
        "acme/app",
        &["1.0", "V1", "_x", "latest", "v10", "v2"],
        None,
    );
    assert!(r.header("content-type").starts_with("application/json"));
}

#[tokio::test]
async fn pages_follow_link_until_a_short_page() {
    let reg = TestRegistry::new();
    tagged(&reg, "acme/app", &["a", "b", "c", "d", "e"]).await;
    let r = reg.get("/v2/acme/app/tags/list?n=2").await;
    let next = "</v2/acme/app/tags/list?n=2&last=b>; rel=\"next\"";
    assert_page(&r, "acme/app", &["a", "b"], Some(next));
    let r = reg.get("/v2/acme/app/tags/list?n=2&last=b").await;
    let next = "</v2/acme/app/tags/list?n=2&last=d>; rel=\"next\"";
    assert_page(&r, "acme/app", &["c", "d"], Some(next));
    let r = reg.get("/v2/acme/app/tags/list?n=2&last=d").await;
    assert_page(&r, "acme/app", &["e"], None);
}

#[tokio::test]
async fn following_every_link_visits_every_tag_once() {
    let reg = TestRegistry::new();
    let tags: Vec<String> = (0..7).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    tagged(&reg, "acme/app", &refs).await;
    let mut seen = Vec::new();
    let mut uri = "/v2/acme/app/tags/list?n=3".to_owned();
    for _ in 0..10 {
        let r = reg.get(&uri).await;
        r.assert_status(StatusCode::OK);
        seen.extend(
            r.json()["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned()),
        );
        let Some(link) = r.headers.get("link") else {
            break;
        };
        let link = link.to_str().unwrap();
        uri = link[1..link.find('>').unwrap()].to_owned();
    }
    assert_eq!(seen, tags);
}

#[tokio::test]
async fn last_alone_and_boundaries() {
    let reg = TestRegistry::new();
    tagged(&reg, "acme/app", &["a", "b", "c"]).await;
    assert_page(
        &reg.get("/v2/acme/app/tags/list?last=a").await,
        "acme/app",
        &["b", "c"],
        None,
    );
    // `last` need not be a tag: the list resumes after where it would sort.
    assert_page(
        &reg.get("/v2/acme/app/tags/list?last=bb").await,
        "acme/app",
        &["c"],
        None,
    );
    assert_page(
        &reg.get("/v2/acme/app/tags/list?last=c").await,
        "acme/app",
        &[],
        None,
    );
    // A page exactly as long as what is left still links on; the next page is empty.
    let r = reg.get("/v2/acme/app/tags/list?n=3").await;
    let next = "</v2/acme/app/tags/list?n=3&last=c>; rel=\"next\"";
    assert_page(&r, "acme/app", &["a", "b", "c"], Some(next));
    assert_page(
        &reg.get("/v2/acme/app/tags/list?n=3&last=c").await,
        "acme/app",
        &[],
        None,
    );
    // More than there are.
    assert_page(
        &reg.get("/v2/acme/app/tags/list?n=100").await,
        "acme/app",
        &["a", "b", "c"],
        None,
    );
}

#[tokio::test]
async fn n_zero_is_an_empty_page_with_no_link() {
    let reg = TestRegistry::new();
    tagged(&reg, "acme/app", &["a", "b"]).await;
    assert_page(
        &reg.get("/v2/acme/app/tags/list?n=0").await,
        "acme/app",
        &[],
        None,
    );
}

#[tokio::test]
async fn a_bad_n_is_400_pagination_number_invalid() {
    let reg = TestRegistry::new();
    tagged(&reg, "acme/app", &["a"]).await;
    for n in ["-1", "abc", "1.5", "", "99999999999999999999999"] {
        let r = reg.get(&format!("/v2/acme/app/tags/list?n={n}")).await;
        r.assert_error(StatusCode::BAD_REQUEST, "PAGINATION_NUMBER_INVALID");
    }
}

#[tokio::test]
async fn an_unknown_repository_is_404_name_unknown() {
    let reg = TestRegistry::new();
    tagged(&reg, "acme/app", &["a"]).await;
    for name in ["acme/none", "other/app", "acme/app/sub"] {
        let r = reg.get(&format!("/v2/{name}/tags/list")).await;
        r.assert_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
    }
}

#[tokio::test]
async fn a_repository_with_only_blobs_has_no_tags() {
    let reg = TestRegistry::new();
    reg.push_blob("acme/app", b"layer").await;
    assert_page(
        &reg.get("/v2/acme/app/tags/list").await,
        "acme/app",
        &[],
        None,
    );
}

#[tokio::test]
async fn nested_names_list_their_own_tags() {
    let reg = TestRegistry::new();
    tagged(&reg, "a/b", &["outer"]).await;
    tagged(&reg, "a/b/c", &["inner", "second"]).await;
    assert_page(
        &reg.get("/v2/a/b/c/tags/list").await,
        "a/b/c",
        &["inner", "second"],
        None,
    );
    assert_page(&reg.get("/v2/a/b/tags/list").await, "a/b", &["outer"], None);
    let r = reg.get("/v2/a/b/c/tags/list?n=1").await;
    let next = "</v2/a/b/c/tags/list?n=1&last=inner>; rel=\"next\"";
    assert_page(&r, "a/b/c", &["inner"], Some(next));
    // A parent holding only nested repositories is not itself a repository.
    tagged(&reg, "x/y/z", &["deep"]).await;
    reg.get("/v2/x/y/tags/list")
        .await
        .assert_error(StatusCode::NOT_FOUND, "NAME_UNKNOWN");
}

#[tokio::test]
async fn deleted_tags_leave_the_list() {
    let reg = TestRegistry::new();
    tagged(&reg, "acme/app", &["a", "b", "c"]).await;
    reg.delete("/v2/acme/app/manifests/b")
        .await
        .assert_status(StatusCode::ACCEPTED);
    assert_page(
        &reg.get("/v2/acme/app/tags/list").await,
        "acme/app",
        &["a", "c"],
        None,
    );
}
