use serde_json::json;

use super::*;

fn d(data: &[u8]) -> String {
    Digest::sha256_of(data).to_string()
}

fn image(media_type: Option<&str>) -> serde_json::Value {
    let mut v = json!({
        "schemaVersion": 2,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d(b"c"), "size": 1},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d(b"l"), "size": 1},
            {"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "digest": d(b"w"), "size": 9, "urls": ["https://x"]}
        ],
        "annotations": {"org.opencontainers.image.source": "https://git.example.com/a/b"},
        "extraField": {"kept": "ignored"}
    });
    if let Some(m) = media_type {
        v["mediaType"] = json!(m);
    }
    v
}

fn parse(ct: Option<&str>, v: &serde_json::Value) -> Result<Manifest, ManifestError> {
    Manifest::parse(ct, &serde_json::to_vec(v).unwrap())
}

#[test]
fn image_manifest_requires_config_and_non_external_layers() {
    let m = parse(Some(mt::OCI_MANIFEST), &image(Some(mt::OCI_MANIFEST))).unwrap();
    assert_eq!(m.kind, ManifestKind::Image);
    let required: Vec<_> = m.required_blobs().map(|d| d.digest.clone()).collect();
    assert_eq!(
        required,
        vec![Digest::sha256_of(b"c"), Digest::sha256_of(b"l")]
    );
    assert_eq!(
        m.effective_artifact_type(),
        Some("application/vnd.oci.image.config.v1+json")
    );
}

#[test]
fn media_type_comes_from_body_header_or_shape() {
    let ct_only = parse(
        Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
        &image(None),
    )
    .unwrap();
    assert_eq!(ct_only.media_type, mt::OCI_MANIFEST);
    let neither = parse(None, &image(None)).unwrap();
    assert_eq!(neither.media_type, mt::OCI_MANIFEST);
    let docker = parse(Some(mt::DOCKER_MANIFEST), &image(Some(mt::DOCKER_MANIFEST))).unwrap();
    assert_eq!(docker.media_type, mt::DOCKER_MANIFEST);
    assert!(matches!(
        parse(Some(mt::DOCKER_MANIFEST), &image(Some(mt::OCI_MANIFEST))),
        Err(ManifestError::MediaTypeMismatch { .. })
    ));
    assert!(matches!(
        parse(None, &image(Some("application/x-unknown"))),
        Err(ManifestError::UnsupportedMediaType(_))
    ));
}

#[test]
fn index_and_docker_list() {
    let idx = json!({
        "schemaVersion": 2,
        "mediaType": mt::DOCKER_LIST,
        "manifests": [{"mediaType": mt::DOCKER_MANIFEST, "digest": d(b"m"), "size": 3,
                       "platform": {"architecture": "amd64", "os": "linux"}}]
    });
    let m = parse(Some(mt::DOCKER_LIST), &idx).unwrap();
    assert_eq!(m.kind, ManifestKind::Index);
    assert_eq!(
        m.manifests[0].platform.as_ref().unwrap().architecture,
        "amd64"
    );
    assert_eq!(m.required_blobs().count(), 0);
    let mut no_manifests = idx.clone();
    no_manifests.as_object_mut().unwrap().remove("manifests");
    assert_eq!(
        parse(None, &no_manifests),
        Err(ManifestError::MissingManifests)
    );
}

#[test]
fn schema1_is_refused_clearly() {
    let s1 = json!({"schemaVersion": 1, "name": "a/b", "tag": "x", "fsLayers": []});
    assert_eq!(parse(None, &s1), Err(ManifestError::Schema1));
    assert_eq!(
        parse(Some(mt::DOCKER_SCHEMA1_SIGNED), &image(None)),
        Err(ManifestError::Schema1)
    );
    assert!(ManifestError::Schema1.to_string().contains("not supported"));
}

#[test]
fn malformed_manifests() {
    assert!(matches!(
        Manifest::parse(None, b"{"),
        Err(ManifestError::Json(_))
    ));
    assert!(matches!(
        Manifest::parse(None, b"[]"),
        Err(ManifestError::Json(_))
    ));
    let mut v = image(None);
    v["schemaVersion"] = json!(3);
    assert_eq!(parse(None, &v), Err(ManifestError::SchemaVersion));
    let mut v = image(Some(mt::OCI_MANIFEST));
    v["config"]["digest"] = json!("sha256:nothex");
    assert!(matches!(parse(None, &v), Err(ManifestError::Json(_))));
    let mut v = image(Some(mt::OCI_MANIFEST));
    v["layers"][0]["size"] = json!(-1);
    assert!(matches!(parse(None, &v), Err(ManifestError::Json(_))));
    let mut v = image(Some(mt::OCI_MANIFEST));
    v.as_object_mut().unwrap().remove("config");
    assert_eq!(parse(None, &v), Err(ManifestError::MissingConfig));
}

#[test]
fn data_field_must_match_the_descriptor() {
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut v = image(Some(mt::OCI_MANIFEST));
    v["config"]["data"] = json!(b64(b"c"));
    assert!(parse(None, &v).is_ok());
    v["config"]["data"] = json!(b64(b"x"));
    assert!(matches!(
        parse(None, &v),
        Err(ManifestError::DataMismatch(_))
    ));
}

#[test]
fn artifacts_and_subjects() {
    let mut v = image(Some(mt::OCI_MANIFEST));
    v["artifactType"] = json!("application/vnd.example.sbom");
    v["subject"] = json!({"mediaType": mt::OCI_MANIFEST, "digest": d(b"s"), "size": 5});
    let m = parse(None, &v).unwrap();
    assert_eq!(
        m.effective_artifact_type(),
        Some("application/vnd.example.sbom")
    );
    assert_eq!(m.subject.unwrap().digest, Digest::sha256_of(b"s"));
}
