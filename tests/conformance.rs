//! The OCI distribution-spec conformance suite, all four workflows (pull, push, content
//! discovery, content management), against the `berth` binary.

mod common;

use std::process::Command;

use common::{Backend, Berth, tool};

/// Tests the suite may skip, and why. Anonymous mounts (`mount=` without `from=`) get a
/// new upload session instead: mounting from an unnamed repository would let anyone
/// who knows a digest copy it out of a private repository.
const EXPECTED_SKIPS: &[&str] = &["blob-mount-anonymous"];

#[test]
fn conformance_suite_passes_every_workflow_on_filesystem_storage() {
    conformance_suite_passes_every_workflow(Berth::on(Backend::Filesystem));
}

#[test]
fn conformance_suite_passes_every_workflow_on_s3_storage() {
    conformance_suite_passes_every_workflow(Berth::on(Backend::S3));
}

fn conformance_suite_passes_every_workflow(berth: Berth) {
    let results = tempfile::tempdir().unwrap();
    let out = Command::new(tool("oci-conformance"))
        .current_dir(results.path())
        .env("OCI_REGISTRY", berth.host())
        .env("OCI_TLS", "disabled")
        .env("OCI_USERNAME", "admin")
        .env("OCI_PASSWORD", berth.token())
        .env("OCI_REPO1", "conformance/repo1")
        .env("OCI_REPO2", "conformance/repo2")
        .env("OCI_RESULTS_DIR", results.path())
        .env("OCI_VERSION", "1.1")
        // Every optional API and data set on, but sparse manifests: Berth refuses a
        // manifest whose blobs are missing, as GHCR does.
        .env("OCI_API_PULL", "true")
        .env("OCI_API_PUSH", "true")
        .env("OCI_API_BLOBS_DELETE", "true")
        .env("OCI_API_BLOBS_UPLOAD_CANCEL", "true")
        .env("OCI_API_BLOBS_DIGEST_HEADER", "true")
        .env("OCI_API_MANIFESTS_DELETE", "true")
        .env("OCI_API_MANIFESTS_DIGEST_HEADER", "true")
        .env("OCI_API_MANIFESTS_TAG_PARAM", "true")
        .env("OCI_API_TAGS_DELETE", "true")
        .env("OCI_API_TAGS_LIST", "true")
        .env("OCI_API_REFERRER", "true")
        .env("OCI_DATA_SPARSE", "false")
        .output()
        .expect("running the conformance suite");
    let report = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failed: Vec<_> = report
        .lines()
        .filter(|l| l.trim_end().ends_with(": Fail"))
        .collect();
    let unexpected_skips: Vec<_> = report
        .lines()
        .filter(|l| l.trim_end().ends_with(": Skip"))
        .filter(|l| !EXPECTED_SKIPS.iter().any(|s| l.contains(s)))
        .collect();
    assert!(
        out.status.success() && failed.is_empty() && unexpected_skips.is_empty(),
        "conformance: {}\nfailed: {failed:#?}\nunexpected skips: {unexpected_skips:#?}\n{report}\n{stderr}",
        out.status
    );
    // results.yaml reports by API; map the spec's four workflows onto them.
    let yaml = std::fs::read_to_string(results.path().join("results.yaml")).unwrap();
    let results: Results = serde_saphyr::from_str(&yaml).expect("results.yaml");
    let workflows: [(&str, &[&str]); 4] = [
        (
            "pull",
            &[
                "Blob get",
                "Blob head",
                "Blob get range",
                "Manifest get by tag",
                "Manifest get by digest",
                "Manifest head by tag",
                "Manifest head by digest",
            ],
        ),
        (
            "push",
            &[
                "Blob post only",
                "Blob post put",
                "Blob chunked",
                "Blob streaming",
                "Blob mount",
                "Blob upload cancel",
                "Manifest put by tag",
                "Manifest put by digest",
                "Manifest put with subject",
                "Manifest put with tag params",
            ],
        ),
        ("content discovery", &["Tag listing", "Referrers"]),
        (
            "content management",
            &[
                "Blob delete",
                "Blob delete atomic",
                "Manifest delete",
                "Manifest delete atomic",
                "Tag delete",
                "Tag delete atomic",
            ],
        ),
    ];
    for (workflow, apis) in workflows {
        for api in apis {
            assert_eq!(
                results.apis.get(*api).map(String::as_str),
                Some("Pass"),
                "{workflow}: {api}\n{yaml}"
            );
        }
    }
    let not_passed: Vec<_> = results
        .data
        .iter()
        .filter(|(name, status)| *status != "Pass" && *name != "Sparse Manifests")
        .collect();
    assert!(not_passed.is_empty(), "data sets: {not_passed:?}");
}

#[derive(serde::Deserialize)]
struct Results {
    apis: std::collections::BTreeMap<String, String>,
    data: std::collections::BTreeMap<String, String>,
}
