//! Online garbage collection against a serving registry, on both backends: `berth gc`
//! runs as its own process (as another replica would), paused between its steps
//! (`--pause-at`) while a request races it, then resumed; `berth fsck --full` after
//! every run. Each race either keeps the blob or answers the spec's error, never a
//! success that a pull then contradicts.

use std::sync::mpsc;
use std::time::Duration;

use crate::common::gc::{
    berth_gc, delete_version, dry_run, finish, finish_taken_over, fsck_clean, head, pulls,
    put_image, put_manifest, restore_version, upload, upload_to, version_id, wait_candidate,
};
use crate::common::{Backend, Berth, minio, sha256, wait_until};
use crate::push_image;

crate::on_every_backend!(
    gc_removes_what_nothing_references_and_every_image_still_pulls,
    an_upload_onto_a_tombstoned_blob_keeps_it,
    an_upload_onto_a_blob_being_removed_stores_it_afresh,
    a_manifest_naming_a_tombstoned_blob_keeps_it,
    a_manifest_naming_a_blob_being_removed_is_refused_then_pushes,
    a_mount_out_of_a_link_being_swept_keeps_it,
    a_killed_collection_is_finished_by_the_next_run,
    two_collections_at_once_remove_each_blob_once,
    a_referrer_pushed_while_its_subject_is_deleted_keeps_its_blobs,
    a_registry_killed_during_its_scheduled_sweep_is_finished_after_restart,
);

fn gc_removes_what_nothing_references_and_every_image_still_pulls(backend: Backend) {
    let berth = Berth::on(backend);
    let (_podman, image) = push_image(&berth, "acme/app", "v1", "kept by gc\n");
    let stray = upload(&berth, "acme/app", b"uploaded, never used by a manifest");
    wait_candidate(&berth, &stray);

    let out = finish(berth_gc(&berth, &[]));
    assert!(
        out.contains(&format!("removed blob {stray} (34 bytes)")),
        "{out}"
    );
    assert!(
        out.contains(&format!("removed link acme/app -> {stray}")),
        "{out}"
    );
    assert!(
        out.contains("removed 1 blobs (34 bytes)"),
        "only the stray: {out}"
    );
    assert_eq!(head(&berth, "acme/app", &stray), 404);
    fsck_clean(&berth);
    pulls(&berth, "acme/app", &image);

    let again = finish(berth_gc(&berth, &[]));
    assert!(again.contains("removed 0 blobs (0 bytes)"), "{again}");
}

fn an_upload_onto_a_tombstoned_blob_keeps_it(backend: Backend) {
    let berth = Berth::on(backend);
    let bytes = b"a layer whose manifest comes late";
    let layer = upload(&berth, "acme/app", bytes);
    wait_candidate(&berth, &layer);

    let mut gc = berth_gc(&berth, &["--pause-at", "tombstoned"]);
    gc.wait_paused("tombstoned");
    assert_eq!(
        upload(&berth, "acme/app", bytes),
        layer,
        "201 while it is tombstoned"
    );
    gc.resume();
    let out = finish(gc);
    assert!(out.contains("removed 0 blobs"), "{out}");
    assert!(out.contains("1 kept by requests"), "{out}");
    assert_eq!(head(&berth, "acme/app", &layer), 200);
    let manifest = put_image(&berth, "acme/app", "v1", (&layer, bytes.len()), "late")
        .expect("the layer is there");
    fsck_clean(&berth);
    pulls(&berth, "acme/app", &manifest);
}

fn an_upload_onto_a_blob_being_removed_stores_it_afresh(backend: Backend) {
    let berth = Berth::on(backend);
    let bytes = b"uploaded again while it is removed";
    let layer = upload(&berth, "acme/app", bytes);
    wait_candidate(&berth, &layer);

    let mut gc = berth_gc(&berth, &["--pause-at", "decided"]);
    gc.wait_paused("decided");
    assert_eq!(head(&berth, "acme/app", &layer), 404, "it is being removed");
    // The upload waits for the removal to finish, then stores the bytes again.
    let (done_tx, done_rx) = mpsc::channel();
    let (addr, token) = (berth.url(""), berth.token().to_owned());
    let uploader = std::thread::spawn(move || {
        let digest = upload_to(&addr, &token, "acme/app", bytes);
        done_tx.send(()).unwrap();
        digest
    });
    assert!(
        done_rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "the upload is held until the removal is done"
    );
    gc.resume();
    let out = finish(gc);
    assert!(out.contains(&format!("removed blob {layer}")), "{out}");
    assert_eq!(uploader.join().unwrap(), layer);
    assert_eq!(head(&berth, "acme/app", &layer), 200, "stored afresh");
    let manifest =
        put_image(&berth, "acme/app", "v1", (&layer, bytes.len()), "afresh").expect("it is there");
    fsck_clean(&berth);
    pulls(&berth, "acme/app", &manifest);
}

fn a_manifest_naming_a_tombstoned_blob_keeps_it(backend: Backend) {
    let berth = Berth::on(backend);
    let bytes = b"pushed, then its manifest after the grace";
    let layer = upload(&berth, "acme/app", bytes);
    // Inside the grace period nothing is planned at all.
    let young = dry_run(&berth, "1h");
    assert!(young.contains("would remove 0 blobs"), "{young}");
    assert!(
        young.contains("1 unreferenced but inside the grace period"),
        "{young}"
    );
    wait_candidate(&berth, &layer);

    let mut gc = berth_gc(&berth, &["--pause-at", "tombstoned"]);
    gc.wait_paused("tombstoned");
    let manifest = put_image(&berth, "acme/app", "v1", (&layer, bytes.len()), "kept")
        .expect("201 while tombstoned");
    gc.resume();
    let out = finish(gc);
    assert!(!out.contains(&format!("removed blob {layer}")), "{out}");
    fsck_clean(&berth);
    pulls(&berth, "acme/app", &manifest);
}

fn a_manifest_naming_a_blob_being_removed_is_refused_then_pushes(backend: Backend) {
    let berth = Berth::on(backend);
    let bytes = b"its manifest comes as it is removed";
    let layer = upload(&berth, "acme/app", bytes);
    wait_candidate(&berth, &layer);

    let mut gc = berth_gc(&berth, &["--pause-at", "decided"]);
    gc.wait_paused("decided");
    let refused =
        put_image(&berth, "acme/app", "v1", (&layer, bytes.len()), "refused").unwrap_err();
    assert!(refused.contains("MANIFEST_BLOB_UNKNOWN"), "{refused}");
    gc.resume();
    finish(gc);
    // What a client does on that error: upload the layer again, push again.
    upload(&berth, "acme/app", bytes);
    let manifest = put_image(&berth, "acme/app", "v1", (&layer, bytes.len()), "refused")
        .expect("then it pushes");
    fsck_clean(&berth);
    pulls(&berth, "acme/app", &manifest);
}

fn a_mount_out_of_a_link_being_swept_keeps_it(backend: Backend) {
    let berth = Berth::on(backend);
    let bytes = b"linked in acme/old, used by nothing";
    let layer = upload(&berth, "acme/old", bytes);
    wait_candidate(&berth, &layer);

    let mut gc = berth_gc(&berth, &["--pause-at", "tombstoned"]);
    gc.wait_paused("tombstoned");
    let client = berth.admin_blocking_client();
    let mount = client
        .post(berth.url(&format!(
            "/v2/acme/new/blobs/uploads/?mount={layer}&from=acme/old"
        )))
        .send()
        .unwrap();
    assert_eq!(mount.status(), 201, "mounted while its link is tombstoned");
    gc.resume();
    let out = finish(gc);
    assert!(!out.contains(&format!("removed blob {layer}")), "{out}");
    assert_eq!(head(&berth, "acme/new", &layer), 200);
    let manifest =
        put_image(&berth, "acme/new", "v1", (&layer, bytes.len()), "mounted").expect("it is there");
    fsck_clean(&berth);
    pulls(&berth, "acme/new", &manifest);
}

fn a_killed_collection_is_finished_by_the_next_run(backend: Backend) {
    // Killed after winning its verdicts (nothing removed yet), and after removing the
    // bytes (its tombstones and verdicts left behind).
    for step in ["decided", "removed"] {
        let berth = Berth::on(backend);
        let (_podman, image) = push_image(&berth, "acme/app", "v1", "outlives a killed gc\n");
        let first = upload(&berth, "acme/app", b"the first stray");
        let second = upload(&berth, "acme/app", b"the second stray");
        wait_candidate(&berth, &first);
        wait_candidate(&berth, &second);

        let mut gc = berth_gc(&berth, &["--pause-at", step]);
        gc.wait_paused(step);
        gc.kill();
        assert_eq!(
            head(&berth, "acme/app", &first),
            404,
            "{step}: won by the dead run"
        );

        // The next run takes the dead run's verdicts over once they are older than its
        // takeover time, and finishes them.
        finish_taken_over(&berth, 2);
        assert_eq!(head(&berth, "acme/app", &first), 404, "{step}: removed");
        // Its tombstone is gone: an upload of it stores it at once (it would wait, then
        // fail, behind a tombstone left over).
        assert_eq!(upload(&berth, "acme/app", b"the first stray"), first);
        assert_eq!(head(&berth, "acme/app", &first), 200);
        fsck_clean(&berth);
        pulls(&berth, "acme/app", &image);
    }
}

fn two_collections_at_once_remove_each_blob_once(backend: Backend) {
    let berth = Berth::on(backend);
    let (_podman, image) = push_image(&berth, "acme/app", "v1", "outlives two gcs\n");
    let stray = upload(&berth, "acme/app", b"wanted by two collections");
    wait_candidate(&berth, &stray);

    let mut one = berth_gc(&berth, &["--pause-at", "tombstoned"]);
    let mut two = berth_gc(&berth, &["--pause-at", "tombstoned"]);
    one.wait_paused("tombstoned");
    two.wait_paused("tombstoned");
    one.resume();
    two.resume();
    let both = finish(one) + &finish(two);
    assert_eq!(
        both.matches(&format!("removed blob {stray}")).count(),
        1,
        "one of them removes it: {both}"
    );
    assert_eq!(head(&berth, "acme/app", &stray), 404);
    fsck_clean(&berth);
    pulls(&berth, "acme/app", &image);
}

/// A signature pushed onto a subject as the subject's version is deleted, its own layer
/// tombstoned by a collection: the referrer is a version of its own (a root), so its
/// bytes stay; it is listed among the subject's referrers while the subject is deleted
/// and after its restore.
fn a_referrer_pushed_while_its_subject_is_deleted_keeps_its_blobs(backend: Backend) {
    let berth = Berth::on(backend);
    let bytes = b"the subject's layer";
    let layer = upload(&berth, "admin/app", bytes);
    // GitHub refuses to delete a package's last tagged version.
    put_image(&berth, "admin/app", "kept", (&layer, bytes.len()), "kept").unwrap();
    let subject = put_image(&berth, "admin/app", "v1", (&layer, bytes.len()), "subject").unwrap();
    let subject_len = berth
        .admin_blocking_client()
        .get(berth.url(&format!("/v2/admin/app/manifests/{subject}")))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .len();
    let signature: &'static [u8] = b"a signature of the subject, uploaded before its manifest";
    let sig = upload(&berth, "admin/app", signature);
    wait_candidate(&berth, &sig);

    let mut gc = berth_gc(&berth, &["--pause-at", "tombstoned"]);
    gc.wait_paused("tombstoned");
    let id = version_id(&berth, "app", &subject);
    delete_version(&berth, "app", id);
    let empty = upload(&berth, "admin/app", b"{}");
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.example.signature",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.example.signature", "digest": sig,
                    "size": signature.len()}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": subject, "size": subject_len},
    });
    let digest = sha256(manifest.to_string().as_bytes());
    let referrer = put_manifest(&berth, "admin/app", &digest, &manifest)
        .expect("a referrer of a deleted subject is accepted, as the spec asks");
    gc.resume();
    let out = finish(gc);
    assert!(!out.contains(&format!("removed blob {sig}")), "{out}");
    pulls(&berth, "admin/app", &referrer);

    let referrers = || -> Vec<String> {
        let index: serde_json::Value = berth
            .admin_blocking_client()
            .get(berth.url(&format!("/v2/admin/app/referrers/{subject}")))
            .send()
            .unwrap()
            .json()
            .unwrap();
        index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["digest"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        referrers(),
        vec![referrer.clone()],
        "listed while the subject is deleted"
    );
    fsck_clean(&berth);
    assert_eq!(restore_version(&berth, "app", id), 204);
    pulls(&berth, "admin/app", &subject);
    assert_eq!(referrers(), vec![referrer.clone()], "and after its restore");
    let again = finish(berth_gc(&berth, &[]));
    assert!(again.contains("removed 0 blobs"), "{again}");
    fsck_clean(&berth);
    pulls(&berth, "admin/app", &referrer);
}

/// `kill -9` of a registry whose own scheduled collection has removed bytes but not yet
/// cleared its tombstones and verdicts (a hidden pause point stops it there); after the
/// restart, images pull and push, the next collection finishes the dead one's work, and
/// fsck is clean after each step.
fn a_registry_killed_during_its_scheduled_sweep_is_finished_after_restart(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let storage = match backend {
        Backend::Filesystem => String::new(),
        Backend::S3 => {
            let minio = minio::Minio::shared();
            format!(
                "  storage: {{{}}}\n",
                minio.storage_yaml(&minio::bucket_name(), "")
            )
        }
    };
    let config = format!(
        "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {{name: test}}\nspec:\n\
         {storage}  garbageCollection: {{interval: 1s, gracePeriod: 1s}}\n"
    );
    let mut berth = Berth::start_config_in(
        dir.path(),
        &config,
        &[("BERTH_GC_PAUSE_AFTER_REMOVING", "true")],
    )
    .ready();
    let (_podman, image) = push_image(&berth, "acme/app", "v1", "outlives a killed registry\n");
    let first = upload(&berth, "acme/app", b"the first stray");
    let second = upload(&berth, "acme/app", b"the second stray");
    wait_until(
        "the scheduled collection to remove the strays and pause",
        Duration::from_secs(60),
        || {
            let log = berth.log.lock().unwrap();
            log.iter().any(|l| l.contains("paused after removing"))
        },
    );
    assert_eq!(
        head(&berth, "acme/app", &first),
        404,
        "removed before the kill"
    );
    berth.kill();
    let token = berth.admin_token.take();

    let mut berth = Berth::start_config_in(dir.path(), &config, &[]).ready();
    berth.admin_token = token;
    fsck_clean(&berth);
    pulls(&berth, "acme/app", &image);
    let (_podman, pushed) = push_image(&berth, "acme/app", "v2", "pushed after the restart\n");

    // The restarted registry's own runs leave the dead run's verdicts alone until its
    // takeover time (10 minutes); runs by hand with a short one finish them. Both strays'
    // removals were won by the dead run, and on S3 (whose times have whole seconds) one
    // verdict may come of age a run later than the other: a stray left tombstoned would
    // make its upload below wait for the takeover.
    finish_taken_over(&berth, 2);
    for stray in [&first, &second] {
        assert_eq!(
            head(&berth, "acme/app", stray),
            404,
            "{stray} stays removed"
        );
    }
    // No tombstone is left over: the stray uploads again and is stored at once.
    assert_eq!(upload(&berth, "acme/app", b"the first stray"), first);
    assert_eq!(head(&berth, "acme/app", &first), 200);
    fsck_clean(&berth);
    pulls(&berth, "acme/app", &image);
    pulls(&berth, "acme/app", &pushed);
}

/// Deleted versions are roots for the restore window (3 s here): a collection keeps
/// their bytes and a restore inside the window pulls; past it, the restore is refused
/// and collections remove the record, then what only it kept.
#[test]
fn a_restore_inside_the_window_pulls_and_one_outside_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("registry.yaml");
    std::fs::write(
        &config,
        "apiVersion: berth.dev/v1alpha1\nkind: Registry\nmetadata: {name: test}\nspec:\n  restoreWindow: 3s\n",
    )
    .unwrap();
    let mut berth = Berth::start_with(&["--config", config.to_str().unwrap()], |_| {});
    // `berth gc` and `fsck` read the same window.
    berth.config_file = Some(config.clone());
    let bytes = b"the layer of a deleted version";
    let layer = upload(&berth, "admin/app", bytes);
    put_image(&berth, "admin/app", "kept", (&layer, bytes.len()), "kept").unwrap();
    let other = b"the layer only the deleted version has";
    let only = upload(&berth, "admin/app", other);
    let deleted = put_image(&berth, "admin/app", "gone", (&only, other.len()), "gone").unwrap();
    // As old as the deleted version's blobs: once it is a candidate, only the window
    // keeps them.
    let stray = upload(
        &berth,
        "admin/app",
        b"a stray as old as the deleted version",
    );
    let id = version_id(&berth, "app", &deleted);
    let delete = || delete_version(&berth, "app", id);
    let restore = || restore_version(&berth, "app", id);

    // Inside the window: a collection keeps its bytes, and the restore pulls.
    delete();
    wait_candidate(&berth, &stray);
    let out = finish(berth_gc(&berth, &[]));
    assert!(out.contains(&format!("removed blob {stray}")), "{out}");
    assert!(!out.contains(&format!("removed blob {only}")), "{out}");
    assert_eq!(restore(), 204);
    pulls(&berth, "admin/app", &deleted);
    fsck_clean(&berth);

    // Past it: the restore is refused, and collections remove it all.
    delete();
    wait_until(
        "the restore window to pass",
        Duration::from_secs(30),
        || dry_run(&berth, GRACE_FOR_WINDOW).contains("past its restore window"),
    );
    assert_eq!(restore(), 404, "refused cleanly");
    let mut out = String::new();
    wait_until(
        "the version's bytes to be collected",
        Duration::from_secs(30),
        || {
            out += &finish(berth_gc(&berth, &[]));
            out.contains(&format!("removed blob {only}"))
                && out.contains(&format!("removed blob {deleted}"))
        },
    );
    assert!(out.contains("removed deleted version"), "{out}");
    assert_eq!(head(&berth, "admin/app", &only), 404);
    fsck_clean(&berth);
    let manifest = berth
        .admin_blocking_client()
        .get(berth.url(&format!("/v2/admin/app/manifests/{deleted}")))
        .send()
        .unwrap();
    assert_eq!(manifest.status(), 404);
}

const GRACE_FOR_WINDOW: &str = "1s";
