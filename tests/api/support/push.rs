//! Fast pushes with the registry's own HTTP API: one config and one layer blob, then a
//! manifest PUT per version (each distinct by an annotation), in a few milliseconds each.

use reqwest::blocking::Client;
use serde_json::json;

use super::basic;
use crate::common::{Berth, sha256, with_digest};

/// What [`push_manifests`] stored: each manifest's digest, in push order.
pub struct Pushed {
    pub digests: Vec<String>,
}

/// Pushes `count` distinct single-layer image manifests to `repo` as `user` with `pat`
/// (`None`: the bootstrap admin); manifest `i` is tagged `tags[i]` when there is one
/// (an empty tag: by digest only).
pub fn push_manifests(
    berth: &Berth,
    repo: &str,
    count: usize,
    tags: &[&str],
    creds: Option<(&str, &str)>,
) -> Pushed {
    push_manifests_via(berth, None, repo, count, tags, creds)
}

/// [`push_manifests`] with `Host: host` on every request (split-host mode's
/// `containers.HOST`).
pub fn push_manifests_via(
    berth: &Berth,
    host: Option<&str>,
    repo: &str,
    count: usize,
    tags: &[&str],
    creds: Option<(&str, &str)>,
) -> Pushed {
    let (user, secret) = creds.unwrap_or(("admin", berth.token()));
    let host_header = host.unwrap_or_default();
    let with_host = |rb: reqwest::blocking::RequestBuilder| {
        if host_header.is_empty() {
            rb
        } else {
            rb.header("host", host_header)
        }
    };
    let auth = basic(user, secret);
    let client = Client::new();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let layer = format!("layer of {repo}\n").into_bytes();
    for blob in [&config[..], &layer[..]] {
        let digest = sha256(blob);
        let r = with_host(client.post(berth.url(&format!("/v2/{repo}/blobs/uploads/"))))
            .header("authorization", &auth)
            .send()
            .expect("starting an upload");
        assert_eq!(
            r.status(),
            202,
            "POST upload of {repo}: {}",
            r.text().unwrap_or_default()
        );
        let location = r.headers()["location"].to_str().unwrap().to_owned();
        // An absolute Location names the host the client used: keep only its path.
        let path = match location.split_once("://") {
            Some((_, rest)) => rest[rest.find('/').unwrap_or(rest.len())..].to_owned(),
            None => location,
        };
        let r = with_host(client.put(with_digest(&berth.url(&path), &digest)))
            .header("authorization", &auth)
            .header("content-type", "application/octet-stream")
            .body(blob.to_vec())
            .send()
            .expect("finishing an upload");
        assert_eq!(
            r.status(),
            201,
            "PUT blob to {repo}: {}",
            r.text().unwrap_or_default()
        );
    }
    let mut digests = Vec::with_capacity(count);
    for i in 0..count {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256(config), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": sha256(&layer), "size": layer.len()}],
            "annotations": {"dev.berth.test.version": i.to_string()},
        })
        .to_string();
        let digest = sha256(manifest.as_bytes());
        let reference = match tags.get(i) {
            Some(tag) if !tag.is_empty() => tag.to_string(),
            _ => digest.clone(),
        };
        let r = with_host(client.put(berth.url(&format!("/v2/{repo}/manifests/{reference}"))))
            .header("authorization", &auth)
            .header("content-type", "application/vnd.oci.image.manifest.v1+json")
            .body(manifest)
            .send()
            .expect("putting a manifest");
        assert_eq!(
            r.status(),
            201,
            "PUT manifest {i} of {repo}: {}",
            r.text().unwrap_or_default()
        );
        digests.push(digest);
    }
    Pushed { digests }
}
