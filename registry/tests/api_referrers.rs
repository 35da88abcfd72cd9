//! `GET /v2/<name>/referrers/<digest>?artifactType=` and `OCI-Subject` on manifest PUT.

mod common;

use axum::http::StatusCode;
use common::{OCI_INDEX, OCI_MANIFEST, Resp, TestRegistry, descriptor, image_manifest, sha256};
use serde_json::{Value, json};

const SBOM: &str = "application/vnd.example.sbom.v1";
const SIGNATURE: &str = "application/vnd.example.signature+json";
const EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";

/// Pushes an artifact manifest about `subject`; returns its digest and bytes.
/// `artifact_type` of `None` leaves the config's media type to stand for it.
async fn push_referrer(
    reg: &TestRegistry,
    repo: &str,
    subject: &Value,
    artifact_type: Option<&str>,
    config_type: &str,
    note: &str,
) -> (String, Vec<u8>) {
    let config = reg.blob_descriptor(repo, config_type, b"{}").await;
    let layer = reg
        .blob_descriptor(repo, "application/octet-stream", note.as_bytes())
        .await;
    let mut m: Value = serde_json::from_slice(&image_manifest(
        OCI_MANIFEST,
        config,
        vec![layer],
        Some(subject.clone()),
    ))
    .unwrap();
    if let Some(t) = artifact_type {
        m["artifactType"] = json!(t);
    }
    m["annotations"] = json!({"org.example.note": note});
    let body = serde_json::to_vec(&m).unwrap();
    let r = reg
        .put_manifest(repo, &sha256(&body), OCI_MANIFEST, &body)
        .await;
    r.assert_status(StatusCode::CREATED);
    assert_eq!(r.header("oci-subject"), subject["digest"].as_str().unwrap());
    (sha256(&body), body)
}

/// The referrers index for `subject`, checked to be an OCI index.
#[track_caller]
fn index_of(r: &Resp) -> Vec<Value> {
    r.assert_status(StatusCode::OK);
    assert_eq!(r.header("content-type"), OCI_INDEX);
    let index = r.json();
    assert_eq!(index["schemaVersion"], 2);
    assert_eq!(index["mediaType"], OCI_INDEX);
    index["manifests"]
        .as_array()
        .expect("a manifests array")
        .clone()
}

/// The digests of an index's descriptors, in order.
fn digests(manifests: &[Value]) -> Vec<String> {
    manifests
        .iter()
        .map(|d| d["digest"].as_str().expect("a digest").to_owned())
        .collect()
}

/// The referrers endpoint of `subject` (a descriptor) in `repo`.
fn referrers_uri(repo: &str, subject: &Value) -> String {
    let digest = subject["digest"].as_str().expect("a digest");
    format!("/v2/{repo}/referrers/{digest}")
}

/// An image to refer to; returns its descriptor.
async fn subject(reg: &TestRegistry, repo: &str) -> Value {
    let (_, body) = reg.push_image(repo, "v1", "subject").await;
    descriptor(OCI_MANIFEST, &body)
}

#[tokio::test]
async fn an_unknown_subject_has_an_empty_index() {
    let reg = TestRegistry::new();
    let digest = sha256(b"nothing refers to this");
    for repo in ["acme/app", "never/pushed"] {
        let r = reg.get(&format!("/v2/{repo}/referrers/{digest}")).await;
        assert!(index_of(&r).is_empty());
        assert!(!r.has_header("oci-filters-applied"));
    }
}

#[tokio::test]
async fn referrers_are_listed_with_artifact_type_and_annotations() {
    let reg = TestRegistry::new();
    let subject = subject(&reg, "acme/app").await;
    let (sbom, sbom_body) =
        push_referrer(&reg, "acme/app", &subject, Some(SBOM), EMPTY_CONFIG, "sbom").await;
    // No artifactType: the config's media type stands for it.
    let (sig, sig_body) = push_referrer(&reg, "acme/app", &subject, None, SIGNATURE, "sig").await;
    let uri = referrers_uri("acme/app", &subject);
    let manifests = index_of(&reg.get(&uri).await);
    let mut want = vec![
        json!({"mediaType": OCI_MANIFEST, "digest": sbom, "size": sbom_body.len(), "artifactType": SBOM,
               "annotations": {"org.example.note": "sbom"}}),
        json!({"mediaType": OCI_MANIFEST, "digest": sig, "size": sig_body.len(), "artifactType": SIGNATURE,
               "annotations": {"org.example.note": "sig"}}),
    ];
    want.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
    assert_eq!(manifests, want);
}

#[tokio::test]
async fn artifact_type_filters_and_says_so() {
    let reg = TestRegistry::new();
    let subject = subject(&reg, "acme/app").await;
    let (sbom, _) =
        push_referrer(&reg, "acme/app", &subject, Some(SBOM), EMPTY_CONFIG, "sbom").await;
    let (sig, _) = push_referrer(
        &reg,
        "acme/app",
        &subject,
        Some(SIGNATURE),
        EMPTY_CONFIG,
        "sig",
    )
    .await;
    let base = referrers_uri("acme/app", &subject);
    let cases = [
        (format!("{base}?artifactType={SBOM}"), vec![sbom]),
        // `+` must be percent-encoded in a query, as clients do.
        (
            format!("{base}?artifactType={}", SIGNATURE.replace('+', "%2B")),
            vec![sig],
        ),
        (format!("{base}?artifactType=application/vnd.none"), vec![]),
    ];
    for (uri, want) in cases {
        let r = reg.get(&uri).await;
        let got = digests(&index_of(&r));
        assert_eq!(got, want, "{uri}");
        assert_eq!(r.header("oci-filters-applied"), "artifactType", "{uri}");
    }
    // An empty filter is no filter.
    let r = reg.get(&format!("{base}?artifactType=")).await;
    assert_eq!(index_of(&r).len(), 2);
    assert!(!r.has_header("oci-filters-applied"));
}

#[tokio::test]
async fn deleting_a_referrer_removes_it_from_the_index() {
    let reg = TestRegistry::new();
    let subject = subject(&reg, "acme/app").await;
    let (gone, _) =
        push_referrer(&reg, "acme/app", &subject, Some(SBOM), EMPTY_CONFIG, "gone").await;
    let (kept, _) =
        push_referrer(&reg, "acme/app", &subject, Some(SBOM), EMPTY_CONFIG, "kept").await;
    reg.delete(&format!("/v2/acme/app/manifests/{gone}"))
        .await
        .assert_status(StatusCode::ACCEPTED);
    let uri = referrers_uri("acme/app", &subject);
    let got = digests(&index_of(&reg.get(&uri).await));
    assert_eq!(got, [kept]);
}

#[tokio::test]
async fn a_referrer_may_arrive_before_its_subject() {
    let reg = TestRegistry::new();
    let missing = descriptor(OCI_MANIFEST, b"a subject not yet pushed");
    let (digest, _) = push_referrer(
        &reg,
        "acme/app",
        &missing,
        Some(SBOM),
        EMPTY_CONFIG,
        "early",
    )
    .await;
    let uri = referrers_uri("acme/app", &missing);
    let manifests = index_of(&reg.get(&uri).await);
    assert_eq!(manifests.len(), 1);
    assert_eq!(manifests[0]["digest"], digest);
}

#[tokio::test]
async fn referrers_are_per_repository() {
    let reg = TestRegistry::new();
    let subject = subject(&reg, "acme/a").await;
    push_referrer(&reg, "acme/a", &subject, Some(SBOM), EMPTY_CONFIG, "a").await;
    let uri = referrers_uri("acme/b", &subject);
    assert!(index_of(&reg.get(&uri).await).is_empty());
}

#[tokio::test]
async fn no_subject_no_oci_subject_header() {
    let reg = TestRegistry::new();
    let (_, body) = reg.push_image("acme/app", "v1", "plain").await;
    let r = reg
        .put_manifest("acme/app", "v2", OCI_MANIFEST, &body)
        .await;
    r.assert_status(StatusCode::CREATED);
    assert!(!r.has_header("oci-subject"));
}

#[tokio::test]
async fn a_bad_subject_digest_is_400() {
    let reg = TestRegistry::new();
    for digest in [
        "sha256:short",
        "latest",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
    ] {
        let r = reg.get(&format!("/v2/acme/app/referrers/{digest}")).await;
        r.assert_error(StatusCode::BAD_REQUEST, "DIGEST_INVALID");
    }
}
