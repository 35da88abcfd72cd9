//! podman with its own storage per test, so tests run in parallel without sharing images.

use std::path::Path;
use std::process::Command;

use super::{run, run_stdout, tool};

pub struct Podman {
    dir: tempfile::TempDir,
}

impl Podman {
    pub fn new() -> Podman {
        let dir = tempfile::tempdir().expect("temp dir");
        // podman refuses a named auth file that does not exist yet.
        std::fs::write(dir.path().join("auth.json"), "{}").expect("auth file");
        Podman { dir }
    }

    /// `podman` with this instance's storage.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(tool("podman"));
        c.arg("--root")
            .arg(self.dir.path().join("root"))
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .env("REGISTRY_AUTH_FILE", self.dir.path().join("auth.json"));
        c
    }

    /// `podman login` to `berth` as `user` with `token`.
    pub fn login(&self, berth: &super::Berth, user: &str, token: &str) {
        let out = self.try_login(&berth.host(), user, token);
        assert!(
            out.status.success(),
            "podman login failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `podman login` to `host` as `user` with `token`, whether or not it succeeds.
    pub fn try_login(&self, host: &str, user: &str, token: &str) -> std::process::Output {
        use std::io::Write as _;
        let mut child = self
            .cmd()
            .args([
                "login",
                "--tls-verify=false",
                "-u",
                user,
                "--password-stdin",
                host,
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("podman login");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(token.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Logged in as the bootstrap admin.
    pub fn admin(berth: &super::Berth) -> Podman {
        let p = Podman::new();
        p.login(berth, "admin", berth.token());
        p
    }

    /// Builds `FROM scratch` + a file with `content` + `labels`, tagged `tag`.
    pub fn build(&self, tag: &str, platform: &str, content: &str, labels: &[(&str, &str)]) {
        let ctx = self
            .dir
            .path()
            .join(format!("ctx-{}", tag.replace(['/', ':', '.'], "-")));
        std::fs::create_dir_all(&ctx).expect("build context");
        std::fs::write(ctx.join("hello.txt"), content).expect("context file");
        let mut file = String::from("FROM scratch\nCOPY hello.txt /hello.txt\n");
        for (k, v) in labels {
            file.push_str(&format!("LABEL {k}=\"{v}\"\n"));
        }
        std::fs::write(ctx.join("Containerfile"), file).expect("Containerfile");
        run(self
            .cmd()
            .args(["build", "--platform", platform, "-t", tag])
            .arg(&ctx));
    }

    /// Pushes `image` and returns the pushed manifest's digest.
    pub fn push(&self, image: &str, extra: &[&str]) -> String {
        let digest_file = self.dir.path().join("digest");
        run(self
            .cmd()
            .args(["push", "--tls-verify=false", "--digestfile"])
            .arg(&digest_file)
            .args(extra)
            .arg(image));
        std::fs::read_to_string(&digest_file)
            .expect("podman wrote the digest")
            .trim()
            .to_owned()
    }

    /// Builds a linux/amd64 image holding `content` as `image` and pushes it; returns
    /// the manifest digest.
    pub fn publish(&self, image: &str, content: &str, labels: &[(&str, &str)]) -> String {
        self.build(image, "linux/amd64", content, labels);
        self.push(image, &[])
    }

    /// `podman pull` as the test runs it, whether or not it succeeds.
    pub fn try_pull(&self, image: &str) -> std::process::Output {
        self.cmd()
            .args(["pull", "--tls-verify=false", image])
            .output()
            .expect("running podman pull")
    }

    pub fn pull(&self, image: &str, extra: &[&str]) {
        run(self
            .cmd()
            .args(["pull", "--tls-verify=false"])
            .args(extra)
            .arg(image));
    }

    pub fn rmi_all(&self) {
        run(self.cmd().args(["rmi", "--all", "--force"]));
    }

    /// `podman image inspect --format FORMAT IMAGE`.
    pub fn inspect(&self, image: &str, format: &str) -> String {
        run_stdout(
            self.cmd()
                .args(["image", "inspect", "--format", format, image]),
        )
        .trim()
        .to_owned()
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}
