//! `redirect: true`: blob GETs answer 307 to a presigned MinIO URL; HEAD and ranges are
//! answered by the registry.

use std::process::Command;

use crate::berth_on;
use crate::common::data;
use crate::common::minio::{Minio, bucket_name};
use crate::common::podman::Podman;
use crate::common::{Berth, run, sha256, tool};

fn redirecting() -> Berth {
    berth_on(Minio::shared(), &bucket_name(), ("redirect: true", "", ""))
}

fn redirects(berth: &Berth) -> f64 {
    berth.counter(
        "berth_http_requests_total",
        r#"route="blob",method="GET",status="307""#,
    )
}

#[test]
fn podman_and_skopeo_pull_through_redirects() {
    let berth = redirecting();
    let image = format!("{}/acme/redirect:v1", berth.host());
    let pusher = Podman::admin(&berth);
    pusher.build(&image, "linux/amd64", "pulled through redirects\n", &[]);
    let digest = pusher.push(&image, &[]);

    let podman = Podman::admin(&berth);
    podman.pull(&image, &[]);
    assert_eq!(podman.inspect(&image, "{{.Digest}}"), digest);
    let after_podman = redirects(&berth);
    assert!(
        after_podman >= 2.0,
        "config and layer were redirected: {after_podman}"
    );

    let layout = tempfile::tempdir().unwrap();
    run(Command::new(tool("skopeo"))
        .args(["copy", "--src-tls-verify=false", "--src-creds"])
        .arg(format!("admin:{}", berth.token()))
        .arg(format!("docker://{image}"))
        .arg(format!("oci:{}:v1", layout.path().display())));
    assert!(redirects(&berth) >= after_podman + 2.0);
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(layout.path().join("index.json")).unwrap())
            .unwrap();
    assert_eq!(index["manifests"][0]["digest"], digest.as_str());
}

#[test]
fn get_redirects_while_head_and_ranges_are_answered_directly() {
    let berth = redirecting();
    let blob = data(1000, 6);
    let digest = sha256(&blob);
    let client = berth.admin_blocking_client();
    let r = client
        .post(berth.url(&format!("/v2/acme/r/blobs/uploads/?digest={digest}")))
        .body(blob.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let url = berth.url(&format!("/v2/acme/r/blobs/{digest}"));

    let r = client.get(&url).send().unwrap();
    assert_eq!(r.status(), 307);
    assert_eq!(r.headers()["docker-content-digest"], digest.as_str());
    let target = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        target.starts_with(&Minio::shared().endpoint()) && target.contains("X-Amz-Signature="),
        "{target}"
    );
    let bytes = reqwest::blocking::get(&target).unwrap().bytes().unwrap();
    assert_eq!(sha256(&bytes), digest, "the presigned URL serves the blob");

    let r = client.head(&url).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], "1000");

    let r = client
        .get(&url)
        .header("range", "bytes=10-19")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 10-19/1000");
    assert_eq!(&r.bytes().unwrap()[..], &blob[10..20]);

    // A blob the repository does not hold is not redirected anywhere.
    let r = client
        .get(berth.url(&format!("/v2/acme/other/blobs/{digest}")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
}
