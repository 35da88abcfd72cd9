//! Existence hiding: to someone who may not read it, a private package answers exactly
//! as a name that does not exist, byte for byte (only `Date` may differ).

use crate::common::Berth;
use crate::support::{
    Http, Response, basic, bearer, first_layer, pat, publish, registry_token, skopeo,
};

const SECRET: &str = "acme/secret";
const MISSING: &str = "acme/nosuch";

/// The read requests compared, for a repository.
fn requests(repo: &str, digest: &str, layer: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GET", format!("/v2/{repo}/manifests/v1")),
        ("HEAD", format!("/v2/{repo}/manifests/v1")),
        ("GET", format!("/v2/{repo}/manifests/{digest}")),
        ("GET", format!("/v2/{repo}/tags/list")),
        ("GET", format!("/v2/{repo}/blobs/{layer}")),
        ("HEAD", format!("/v2/{repo}/blobs/{layer}")),
        ("GET", format!("/v2/{repo}/referrers/{digest}")),
    ]
}

/// Sends each request for `SECRET` and for `MISSING` with `authorization` (one per
/// repository, so a token may be scoped to it) and returns the pairs.
fn compare(
    berth: &Berth,
    authorization: impl Fn(&str) -> String,
    digest: &str,
    layer: &str,
) -> Vec<(Response, Response)> {
    let (secret, missing) = (authorization(SECRET), authorization(MISSING));
    requests(SECRET, digest, layer)
        .into_iter()
        .zip(requests(MISSING, digest, layer))
        .map(|((method, a), (_, b))| {
            let send = |target: &str, auth: &str| {
                Http::new(berth, method, target)
                    .auth(auth)
                    .header("accept", "application/vnd.oci.image.manifest.v1+json")
                    .send()
                    .without_date()
            };
            (send(&a, &secret), send(&b, &missing))
        })
        .collect()
}

#[test]
fn an_outsider_cannot_tell_a_private_package_from_a_missing_one() {
    let berth = Berth::start();
    let (_admin, digest) = publish(&berth, "acme/secret:v1", "not for eve\n");
    let layer = first_layer(&berth, SECRET, &digest);
    let eve = pat(&berth, "eve", "read:packages");

    // The admin sees it: the comparison below is between a package and nothing.
    let admin = basic("admin", berth.token());
    for (method, target) in requests(SECRET, &digest, &layer) {
        let r = Http::new(&berth, method, &target).auth(&admin).send();
        assert_eq!(r.status, 200, "{method} {target} as admin: {}", r.text());
    }

    // Basic credentials on each request, and a registry token from /token for each name.
    let as_basic = compare(&berth, |_| basic("eve", &eve), &digest, &layer);
    let as_bearer = compare(
        &berth,
        |repo| bearer(&registry_token(&berth, &basic("eve", &eve), repo)),
        &digest,
        &layer,
    );
    for (how, pairs) in [("Basic", as_basic), ("Bearer", as_bearer)] {
        for (secret, missing) in pairs {
            assert_eq!(secret.status, 404, "{how}: {secret:?}");
            if !secret.body.is_empty() {
                secret.assert_error(404, "NAME_UNKNOWN");
            }
            assert_eq!(secret, missing, "{how}: the answers differ");
            assert_eq!(secret.header("content-type"), Some("application/json"));
        }
    }

    // Anonymous callers are asked to sign in; only the scope names the repository.
    for (secret, missing) in compare(&berth, |_| String::new(), &digest, &layer) {
        assert_eq!(secret.status, 401, "{secret:?}");
        let renamed = |r: &Response| {
            let mut r = r.clone();
            for (_, v) in &mut r.headers {
                *v = v.replace(SECRET, MISSING);
            }
            r
        };
        assert!(
            secret
                .header("www-authenticate")
                .is_some_and(|c| c.contains(&format!("repository:{SECRET}:pull"))),
            "{secret:?}"
        );
        assert_eq!(renamed(&secret), missing);
    }
}

#[test]
fn skopeo_sees_the_same_error_for_a_private_and_a_missing_image() {
    let berth = Berth::start();
    let _ = publish(&berth, "acme/secret:v1", "not for eve\n");
    let eve = pat(&berth, "eve", "read:packages");
    let inspect = |repo: &str| {
        let out = skopeo("inspect", Some(("eve", &eve)))
            .arg(format!("docker://{}/{repo}:v1", berth.host()))
            .output()
            .unwrap();
        assert!(!out.status.success(), "eve inspected {repo}");
        // skopeo's log lines start with a timestamp.
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(|l| {
                l.split_once("\" ")
                    .filter(|_| l.starts_with("time="))
                    .map_or(l, |(_, rest)| rest)
            })
            .collect::<Vec<_>>()
            .join("\n")
            .replace(repo, "REPO")
    };
    let (secret, missing) = (inspect(SECRET), inspect(MISSING));
    assert_eq!(secret, missing);
    assert!(
        secret.to_lowercase().contains("name unknown")
            || secret.to_lowercase().contains("not found"),
        "{secret}"
    );
    // The admin inspects the same reference fine.
    crate::common::run(
        skopeo("inspect", Some(("admin", berth.token())))
            .arg(format!("docker://{}/{SECRET}:v1", berth.host())),
    );
}

#[test]
fn a_mount_or_another_namespace_never_reveals_hidden_content() {
    let berth = Berth::start();
    let (_admin, digest) = publish(&berth, "acme/secret:v1", "not for eve\n");
    let layer = first_layer(&berth, SECRET, &digest);
    let eve = basic("eve", &pat(&berth, "eve", "write:packages"));
    let mount = |from: &str| {
        Http::new(
            &berth,
            "POST",
            &format!("/v2/eve/copy/blobs/uploads/?mount={layer}&from={from}"),
        )
        .auth(&eve)
        .send()
    };
    // An ordinary upload session, as for a repository that does not exist.
    for from in [SECRET, MISSING] {
        let r = mount(from);
        assert_eq!(r.status, 202, "mount from {from}: {r:?}");
        assert_eq!(r.header("docker-content-digest"), None, "{r:?}");
    }
    // Nor does eve's own namespace serve the content by digest.
    Http::get(&berth, &format!("/v2/eve/copy/blobs/{layer}"))
        .auth(&eve)
        .send()
        .assert_error(404, "BLOB_UNKNOWN");
    Http::get(&berth, &format!("/v2/eve/copy/manifests/{digest}"))
        .auth(&eve)
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .assert_error(404, "MANIFEST_UNKNOWN");
}

#[test]
fn internal_packages_show_to_members_and_hide_from_everyone_else() {
    let berth = crate::support::start_with_acme(&[]);
    let _ = publish(&berth, "acme/secret:v1", "for acme's members\n");
    let bob = basic("bob", &pat(&berth, "bob", "read:packages"));
    crate::support::share_package(&berth, SECRET, &["visibility: internal"], &bob);
    let eve = basic("eve", &pat(&berth, "eve", "read:packages"));
    let tags = |repo: &str, auth: &str| {
        Http::get(&berth, &format!("/v2/{repo}/tags/list"))
            .auth(auth)
            .send()
            .without_date()
    };
    let hidden = tags(SECRET, &eve);
    hidden.assert_error(404, "NAME_UNKNOWN");
    assert_eq!(hidden, tags(MISSING, &eve));
    tags(SECRET, "").assert_error(401, "UNAUTHORIZED");
}
