//! Real registry clients against the `berth` binary on a free 127.0.0.1 port, one
//! module per client, each test once per storage backend
//! (`<client>::filesystem::<test>` and `<client>::s3::<test>`).

#[path = "../common/mod.rs"]
mod common;

mod crane;
mod gc;
mod maintenance;
mod oras;
mod podman;
mod regctl;
mod retention;
mod skopeo;

use common::Berth;
use common::podman::Podman;

/// Runs each listed test (a `fn(Backend)` in the calling module) once per storage
/// backend, as `filesystem::NAME` and `s3::NAME` (a bucket on the shared MinIO).
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod filesystem {
            $(#[test]
            fn $name() {
                super::$name($crate::common::Backend::Filesystem)
            })*
        }
        mod s3 {
            $(#[test]
            fn $name() {
                super::$name($crate::common::Backend::S3)
            })*
        }
    };
}

/// Builds a single-platform image with podman and pushes it as `repo:tag`; returns the
/// podman instance (which still holds it) and the manifest digest.
pub fn push_image(berth: &Berth, repo: &str, tag: &str, content: &str) -> (Podman, String) {
    let podman = Podman::admin(berth);
    let image = format!("{}/{repo}:{tag}", berth.host());
    podman.build(
        &image,
        "linux/amd64",
        content,
        &[(
            "org.opencontainers.image.source",
            "https://git.example.com/acme/app",
        )],
    );
    let digest = podman.push(&image, &[]);
    (podman, digest)
}

/// Pushes a two-platform index (amd64, arm64) as `repo:tag`; returns its digest.
pub fn push_index(berth: &Berth, repo: &str, tag: &str) -> String {
    let podman = Podman::admin(berth);
    let list = format!("{}/{repo}:{tag}", berth.host());
    for arch in ["amd64", "arm64"] {
        podman.build(
            &format!("localhost/img:{arch}"),
            &format!("linux/{arch}"),
            &format!("built for {arch}\n"),
            &[],
        );
    }
    common::run(podman.cmd().args(["manifest", "create", &list]));
    for arch in ["amd64", "arm64"] {
        common::run(
            podman
                .cmd()
                .args(["manifest", "add", &list])
                .arg(format!("containers-storage:localhost/img:{arch}")),
        );
    }
    let digest_file = podman.path().join("index-digest");
    common::run(
        podman
            .cmd()
            .args([
                "manifest",
                "push",
                "--all",
                "--tls-verify=false",
                "--digestfile",
            ])
            .arg(&digest_file)
            .arg(&list)
            .arg(format!("docker://{list}")),
    );
    std::fs::read_to_string(digest_file)
        .unwrap()
        .trim()
        .to_owned()
}
