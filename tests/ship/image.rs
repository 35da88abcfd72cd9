//! The image `make image` builds, run as users run it: `podman run --read-only` as its
//! non-root user, serving a podman push and pull, and pushed into Berth itself with
//! `make push-image`. The README's test command builds it first, from the binary the
//! tests run (so CI compiles berth once); the release image's size is a figure in
//! docs/benchmarks.md (34 MiB), not asserted on a debug build.

use std::os::unix::fs::chown;
use std::path::Path;
use std::process::Command;

use crate::common::podman::Podman;
use crate::common::{Berth, repo_root, run, run_stdout, tool};

/// The user the image runs as (the chart's and the operator's pods run as it too).
const USER: u32 = 65532;

const TEST_IMAGE: &str = "localhost/berth:test";

fn image() -> String {
    // `make test` tags it apart from the release image `make image` makes.
    let image = TEST_IMAGE.to_owned();
    let exists = Command::new(tool("podman"))
        .args(["image", "exists", &image])
        .status()
        .expect("running podman");
    assert!(
        exists.success(),
        "{image} is not built: `make test` builds it (`BERTH_IMAGE_BINARY=target/debug/berth scripts/image.sh build {image}`)"
    );
    image
}

fn inspect(image: &str, format: &str) -> String {
    run_stdout(Command::new(tool("podman")).args(["image", "inspect", "--format", format, image]))
        .trim()
        .to_owned()
}

/// The image's server in a container on the host's network (its port is picked by the
/// kernel, like every test registry's), removed on drop.
struct Container {
    name: String,
    berth: Berth,
}

impl Container {
    fn start(image: &str, data_dir: &Path) -> Container {
        let name = format!("berth-test-{:08x}", rand::random::<u32>());
        let mut cmd = Command::new(tool("podman"));
        // runc: crun refuses this machine's hybrid cgroup hierarchy. The limits: podman
        // asks for more open files and processes than this sandbox's hard limits allow.
        cmd.args(["--runtime", "runc", "run", "--rm", "--name", &name])
            .args(["--read-only", "--network", "host", "--cap-drop", "ALL"])
            .args([
                "--ulimit",
                "nofile=4096:4096",
                "--ulimit",
                "nproc=4096:4096",
            ])
            .arg("--volume")
            .arg(format!("{}:/data", data_dir.display()))
            .args(["--env", "RUST_LOG=info"])
            .arg(image)
            .args(["registry", "serve", "--listen", "127.0.0.1:0"]);
        let berth = Berth::spawn(cmd, data_dir).ready();
        Container { name, berth }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = Command::new(tool("podman"))
            .args(["rm", "--force", "--time", "0", &self.name])
            .output();
    }
}

#[test]
fn the_image_is_labelled_and_non_root() {
    let image = image();
    let label = |name: &str| {
        inspect(
            &image,
            &format!("{{{{index .Labels \"org.opencontainers.image.{name}\"}}}}"),
        )
    };
    assert_eq!(label("version"), env!("CARGO_PKG_VERSION"));
    let head = run_stdout(
        Command::new("git")
            .arg("-C")
            .arg(repo_root())
            .args(["rev-parse", "HEAD"]),
    );
    assert!(
        label("revision").starts_with(head.trim()),
        "revision {} is not this checkout's {}: build it again",
        label("revision"),
        head.trim()
    );
    assert_eq!(label("licenses"), "Apache-2.0");
    assert!(
        label("source").starts_with("https://"),
        "{}",
        label("source")
    );
    assert!(!label("description").is_empty());
    assert_eq!(
        inspect(&image, "{{.Config.User}}"),
        format!("{USER}:{USER}")
    );
    let layers = inspect(&image, "{{.RootFS.Layers}}");
    assert_eq!(
        layers.matches("sha256:").count(),
        2,
        "from scratch, only the files and /data: {layers}"
    );
}

#[test]
fn the_image_serves_a_podman_push_and_pull_read_only_and_non_root() {
    let image = image();
    let data = tempfile::tempdir().unwrap();
    chown(data.path(), Some(USER), Some(USER)).unwrap();
    let container = Container::start(&image, data.path());
    let berth = &container.berth;

    // Berth's own image, pushed into Berth with `make push-image`.
    let pushed = format!("{}/admin/berth:{}", berth.host(), env!("CARGO_PKG_VERSION"));
    run(Command::new("make")
        .env("BERTH_IMAGE_LOCAL", TEST_IMAGE)
        .arg("-C")
        .arg(repo_root())
        .arg("--no-print-directory")
        .arg("push-image")
        .arg(format!("IMAGE={pushed}"))
        .arg(format!(
            "PUSH_FLAGS=--tls-verify=false --creds admin:{}",
            berth.token()
        )));

    let client = Podman::admin(berth);
    client.pull(&pushed, &[]);
    assert_eq!(
        client.inspect(&pushed, "{{.Id}}"),
        inspect(&image, "{{.Id}}"),
        "the image pulled back is the one built"
    );

    // Everything the server wrote is its user's, in the one writable place.
    let marker = data.path().join("_berth/format");
    let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&marker).unwrap());
    assert_eq!(owner, USER, "{} is owned by uid {owner}", marker.display());
}
