//! crane signing in with PATs: a member with write access copies within `acme` (and
//! creates a package there); an outsider gets the hidden answer.

use std::path::Path;
use std::process::Command;

use crate::common::{run, run_stdout, tool};
use crate::support::{
    basic, fails, pat, policy_dir, publish, read_yaml, share_package, start_with_acme,
};

/// crane with the docker config in `config_dir`.
fn crane(config_dir: &Path) -> Command {
    let mut c = Command::new(tool("crane"));
    c.arg("--insecure").env("DOCKER_CONFIG", config_dir);
    c
}

#[test]
fn a_writer_copies_within_the_organization_and_an_outsider_sees_nothing() {
    let berth = start_with_acme(&[]);
    let h = berth.host();
    let (_admin, digest) = publish(&berth, "acme/src:v1", "copy me\n");
    let bob_pat = pat(&berth, "bob", "write:packages");
    share_package(
        &berth,
        "acme/src",
        &["access: [{user: bob, role: write}]"],
        &basic("bob", &bob_pat),
    );

    let bob = berth.docker_config("bob", &bob_pat);
    // A new tag in the package bob may write, and a new package bob (a member) creates.
    run(crane(&bob).args([
        "copy",
        &format!("{h}/acme/src:v1"),
        &format!("{h}/acme/src:copy"),
    ]));
    run(crane(&bob).args([
        "copy",
        &format!("{h}/acme/src:v1"),
        &format!("{h}/acme/bobs:v1"),
    ]));
    for image in ["acme/src:copy", "acme/bobs:v1"] {
        let copied = run_stdout(crane(&bob).args(["digest", &format!("{h}/{image}")]));
        assert_eq!(copied.trim(), digest, "{image}");
    }
    let status = read_yaml(&policy_dir(&berth).join(".status/acme/bobs/status.yaml"));
    assert_eq!(status["publisher"]["user"], "bob", "{status}");
    let tags = run_stdout(crane(&bob).args(["ls", &format!("{h}/acme/src")]));
    assert_eq!(tags.lines().collect::<Vec<_>>(), ["copy", "v1"]);
    // Write is not admin: no deleting.
    let text = fails(crane(&bob).args(["delete", &format!("{h}/acme/src@{digest}")]));
    assert!(text.contains("DENIED"), "{text}");

    // eve signs in with `crane auth login` and sees neither package nor a difference.
    let eve_pat = pat(&berth, "eve", "read:packages");
    let eve = tempfile::tempdir().unwrap();
    run(crane(eve.path()).args(["auth", "login", &h, "-u", "eve", "-p", &eve_pat]));
    let manifest = |repo: &str| {
        fails(crane(eve.path()).args(["manifest", &format!("{h}/{repo}:v1")])).replace(repo, "REPO")
    };
    let (private, missing) = (manifest("acme/src"), manifest("acme/nosuch"));
    assert!(private.contains("NAME_UNKNOWN"), "{private}");
    assert_eq!(private, missing);
    let text = fails(crane(eve.path()).args([
        "copy",
        &format!("{h}/acme/src:v1"),
        &format!("{h}/eve/stolen:v1"),
    ]));
    assert!(text.contains("NAME_UNKNOWN"), "{text}");
}
