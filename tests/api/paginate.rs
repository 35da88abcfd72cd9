//! Paging: `octokit.paginate` through 250 versions, `Link` headers exactly as GitHub writes
//! them, the 100-per-page cap and the 10,000-result window.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::Berth;
use crate::support::{
    Answer, PAGE_LIMIT, base_url, get, paginate, pat, push_manifests, start, versions_of,
};

/// Parses a `Link` header written as GitHub writes it — `<URL>; rel="R"` parts joined by
/// `, ` — into `(rel, url)` in order, failing on any other spelling.
fn links(header: &str) -> Vec<(String, String)> {
    header
        .split(", ")
        .map(|part| {
            let (url, rel) = part
                .strip_prefix('<')
                .and_then(|p| p.split_once(">; rel=\""))
                .and_then(|(u, r)| Some((u, r.strip_suffix('"')?)))
                .unwrap_or_else(|| panic!("not GitHub's Link syntax: {part:?} in {header:?}"));
            (rel.to_owned(), url.to_owned())
        })
        .collect()
}

/// The query parameters of `url`.
fn query(url: &str) -> Vec<(String, String)> {
    let q = url.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded_pairs(q)
}

fn form_urlencoded_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// Checks one page's `Link` against GitHub's: rels in the order prev, next, last, first
/// (only those that apply), absolute URLs of the same list at the right pages, keeping
/// `per_page` and every other parameter of the request.
fn assert_links(
    berth: &Berth,
    path: &str,
    extra: &[(&str, &str)],
    link: Option<&str>,
    page: u64,
    last: u64,
) {
    let mut want: Vec<(&str, u64)> = Vec::new();
    if page > 1 {
        want.push(("prev", page - 1));
    }
    if page < last {
        want.push(("next", page + 1));
        want.push(("last", last));
    }
    if page > 1 {
        want.push(("first", 1));
    }
    if want.is_empty() {
        assert!(link.is_none(), "a single page has no Link: {link:?}");
        return;
    }
    let link = link.unwrap_or_else(|| panic!("page {page} of {last} has no Link header"));
    let got = links(link);
    let rels: Vec<&str> = got.iter().map(|(r, _)| r.as_str()).collect();
    let want_rels: Vec<&str> = want.iter().map(|(r, _)| *r).collect();
    assert_eq!(rels, want_rels, "rels of page {page}: {link}");
    let prefix = format!("{}{path}?", base_url(berth));
    for ((rel, url), (_, target)) in got.iter().zip(&want) {
        assert!(
            url.starts_with(&prefix),
            "{rel} is not an absolute URL of {prefix}: {url}"
        );
        let q = query(url);
        let page_param: Vec<&str> = q
            .iter()
            .filter(|(k, _)| k == "page")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(page_param, [target.to_string()], "{rel}: {url}");
        for (k, v) in extra {
            assert!(
                q.iter().any(|(qk, qv)| qk == k && qv == v),
                "{rel} keeps {k}={v}: {url}"
            );
        }
    }
}

#[test]
fn octokit_paginates_through_250_versions() {
    let berth = start();
    let mut tags = vec![""; 250];
    tags[249] = "latest";
    let pushed = push_manifests(&berth, "acme/many", 250, &tags, None);
    let token = pat(&berth, "olivia", "read:packages");
    let params = json!({"org": "acme", "package_type": "container", "package_name": "many"});

    for (per_page, pages) in [(Some(100), 3u64), (None, 9)] {
        let mut p = params.clone();
        if let Some(n) = per_page {
            p["per_page"] = json!(n);
        }
        let r = paginate(
            &berth,
            &token,
            "packages.getAllPackageVersionsForPackageOwnedByOrg",
            p,
        );
        assert_eq!(r["status"], 200, "{r:#}");
        let versions = versions_of(&r["data"]);
        let ids: BTreeSet<u64> = versions.iter().map(|(id, _, _)| *id).collect();
        let names: BTreeSet<&str> = versions.iter().map(|(_, n, _)| n.as_str()).collect();
        assert_eq!(
            versions.len(),
            250,
            "per_page {per_page:?}: every version once"
        );
        assert_eq!(ids.len(), 250, "distinct ids");
        assert_eq!(names, pushed.digests.iter().map(String::as_str).collect());
        assert_eq!(versions[0].1, pushed.digests[249], "newest first");
        assert_eq!(versions[0].2, ["latest"]);
        let requests = r["requests"].as_array().unwrap();
        assert_eq!(requests.len() as u64, pages, "requests: {requests:#?}");
        for (i, req) in requests.iter().enumerate() {
            assert_eq!(req["status"], 200, "{req}");
            let extra: Vec<(&str, String)> = per_page
                .map(|n| vec![("per_page", n.to_string())])
                .unwrap_or_default();
            let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            assert_links(
                &berth,
                "/orgs/acme/packages/container/many/versions",
                &extra,
                req["link"].as_str(),
                i as u64 + 1,
                pages,
            );
        }
    }
}

#[test]
fn link_headers_are_githubs_and_pages_are_capped() {
    let berth = start();
    push_manifests(&berth, "acme/many", 250, &["v1"], None);
    let token = pat(&berth, "olivia", "read:packages");
    let path = "/orgs/acme/packages/container/many/versions";
    let page = |q: &str| -> Answer {
        let a = get(&berth, &format!("{path}?{q}"), &token);
        assert_eq!(a.status, 200, "{q}: {a:?}");
        a
    };
    let count = |a: &Answer| a.json().as_array().map_or(0, Vec::len);

    for n in 1..=3 {
        let a = page(&format!("per_page=100&page={n}&state=active"));
        assert_eq!(count(&a), if n < 3 { 100 } else { 50 });
        assert_links(
            &berth,
            path,
            &[("per_page", "100"), ("state", "active")],
            a.header("link"),
            n,
            3,
        );
    }
    let past = page("per_page=100&page=4");
    assert_eq!(past.json(), json!([]), "past the last page: an empty list");

    // As on GitHub, per_page counts up to 100.
    let big = page("per_page=250");
    assert_eq!(count(&big), 100, "per_page=250 answers 100 items");
    // The default is 30.
    let default = page("");
    assert_eq!(count(&default), 30);
    assert_links(&berth, path, &[], default.header("link"), 1, 9);
}

#[test]
fn listing_packages_past_10000_results_is_githubs_400() {
    let berth = start();
    push_manifests(&berth, "acme/app", 1, &["v1"], None);
    push_manifests(&berth, "admin/app", 1, &["v1"], None);
    let token = pat(&berth, "admin", "read:packages");
    for path in [
        "/orgs/acme/packages",
        "/users/admin/packages",
        "/user/packages",
    ] {
        let ok = get(
            &berth,
            &format!("{path}?package_type=container&per_page=100&page=100"),
            &token,
        );
        assert_eq!(ok.status, 200, "page × per_page = 10000 is allowed: {ok:?}");
        assert_eq!(ok.json(), Value::Array(vec![]));
        let refused = get(
            &berth,
            &format!("{path}?package_type=container&per_page=100&page=101"),
            &token,
        );
        refused.assert_github_error(400, Some(PAGE_LIMIT));
        let refused = get(
            &berth,
            &format!("{path}?package_type=container&per_page=50&page=201"),
            &token,
        );
        refused.assert_github_error(400, Some(PAGE_LIMIT));
    }
}
