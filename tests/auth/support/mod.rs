//! What the permission tests share: policy files, images, PATs, client commands; raw
//! HTTP exchanges (`http`) and JWTs with a test OIDC issuer (`jwt`).

mod http;
mod jwt;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;

pub use self::http::{Http, Response, basic, bearer, registry_token};
pub use self::jwt::{Issuer, jwt_parts, new_key, now, segment, sign_es256};
use crate::common::podman::Podman;
use crate::common::{Berth, tool, wait_until};

/// The organization most tests use: `olivia` owns it, `bob` is a member, members may
/// create private and internal packages (the policy bounds visibility too, so an
/// internal package needs it), and it has the repositories `app` and `other`.
pub const ACME: &str = "apiVersion: berth.dev/v1alpha1
kind: Organization
metadata: {name: acme}
spec:
  owners: [olivia]
  members: [bob]
  packageCreation: {private: true, internal: true, public: false}
  repositories:
    - {name: app, url: https://git.example.com/acme/app}
    - {name: other, url: https://git.example.com/acme/other}
";

/// How long a policy or token change may take to apply (PRODUCT.md §4).
pub const APPLY: Duration = Duration::from_secs(2);

// ---------------------------------------------------------------------------------------
// Policy files

/// Writes `file` into `policy_dir` in one step, so the watcher never reads half of it.
pub fn write_file(policy_dir: &Path, file: &str, text: &str) {
    std::fs::create_dir_all(policy_dir).expect("policy dir");
    let tmp = policy_dir.join(format!(".{file}.tmp"));
    std::fs::write(&tmp, text).expect("writing a policy file");
    std::fs::rename(&tmp, policy_dir.join(file)).expect("moving a policy file in place");
}

/// A registry (single host) whose policy dir holds the organization `acme` from the
/// start, with `extra` arguments.
pub fn start_with_acme(extra: &[&str]) -> Berth {
    Berth::start_with(extra, |data| {
        write_file(&data.join("policy"), "acme.yaml", ACME)
    })
}

/// The default policy directory of `berth`.
pub fn policy_dir(berth: &Berth) -> PathBuf {
    berth.data_dir.join("policy")
}

/// Rewrites the Package of `repo` (`OWNER/NAME`) in the file its first push created, with
/// these extra `spec` lines (`visibility: public`, `access: [...]`).
pub fn write_package(berth: &Berth, repo: &str, spec: &[&str]) {
    let (owner, name) = repo.split_once('/').expect("OWNER/NAME");
    let mut text = format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Package\nmetadata: {{name: {owner}.{name}}}\nspec:\n  owner: {owner}\n  name: {name}\n"
    );
    for line in spec {
        text.push_str(&format!("  {line}\n"));
    }
    let file = format!("{owner}.{name}.yaml");
    assert!(
        policy_dir(berth).join(&file).is_file(),
        "{file} should exist (the first push writes it)"
    );
    write_file(&policy_dir(berth), &file, &text);
}

/// The status of listing `repo`'s tags with `authorization`: 200 when it may read.
pub fn read_status(berth: &Berth, repo: &str, authorization: &str) -> u16 {
    Http::get(berth, &format!("/v2/{repo}/tags/list"))
        .auth(authorization)
        .send()
        .status
}

/// `acme/tool:v1` published by the admin, carol a writer of it with a `read:packages`
/// PAT (which caps her at reading): the published digest and her PAT.
pub fn tool_with_read_only_carol(berth: &Berth) -> (String, String) {
    let (_admin, digest) = publish(berth, "acme/tool:v1", "v1\n");
    let read_pat = pat(berth, "carol", "read:packages");
    share_package(
        berth,
        "acme/tool",
        &["access: [{user: carol, role: write}]"],
        &basic("carol", &read_pat),
    );
    (digest, read_pat)
}

/// [`write_package`], then waits until `reader` (an `Authorization` value) may read it.
pub fn share_package(berth: &Berth, repo: &str, spec: &[&str], reader: &str) {
    write_package(berth, repo, spec);
    wait_until(&format!("{repo} to be readable"), APPLY, || {
        read_status(berth, repo, reader) == 200
    });
}

/// A YAML file read as JSON.
pub fn read_yaml(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------
// Images

/// The admin publishes `REPO:TAG` holding `content` with podman; returns the podman
/// (still holding the image) and the manifest digest.
pub fn publish(berth: &Berth, repo_tag: &str, content: &str) -> (Podman, String) {
    let podman = Podman::admin(berth);
    let digest = podman.publish(&format!("{}/{repo_tag}", berth.host()), content, &[]);
    (podman, digest)
}

/// The digest of the first layer of `REPO@DIGEST`, read as the admin.
pub fn first_layer(berth: &Berth, repo: &str, digest: &str) -> String {
    let r = Http::get(berth, &format!("/v2/{repo}/manifests/{digest}"))
        .auth(&basic("admin", berth.token()))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send();
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["layers"][0]["digest"]
        .as_str()
        .expect("a layer")
        .to_owned()
}

/// Combined stdout and stderr of a finished command.
pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `cmd`, which must fail; returns what it printed.
pub fn fails(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let text = output_text(&out);
    assert!(
        !out.status.success(),
        "{cmd:?} should fail but printed:\n{text}"
    );
    text
}

/// `skopeo SUBCOMMAND` over plain HTTP, signed in with `user:secret` (none: anonymous).
pub fn skopeo(subcommand: &str, creds: Option<(&str, &str)>) -> Command {
    let mut c = Command::new(tool("skopeo"));
    // No auth file, so nothing from the machine signs in.
    c.env("REGISTRY_AUTH_FILE", "/nonexistent/auth.json")
        .args([subcommand, "--tls-verify=false"]);
    match creds {
        Some((user, secret)) => c.arg(format!("--creds={user}:{secret}")),
        None => c.arg("--no-creds"),
    };
    c
}

// ---------------------------------------------------------------------------------------
// PATs

/// A new PAT of `user` (`berth token create`), once the running registry accepts it:
/// it rereads the token directory a moment after it changes.
pub fn pat(berth: &Berth, user: &str, scopes: &str) -> String {
    let pat = berth.create_token(user, scopes, None);
    wait_until(
        &format!("the registry to accept {user}'s new PAT"),
        APPLY,
        || {
            Http::get(berth, "/v2/")
                .auth(&basic(user, &pat))
                .send()
                .status
                == 200
        },
    );
    pat
}

pub use crate::common::{pat_id, revoke_pat};
