//! Garbage collection with two replicas on one MinIO bucket: a HEAD answered by one
//! replica, then a collection, then the manifest through the other; and a stress run in
//! the manner of zot's gc-stress, with collections back to back while pushers share
//! layers, move tags and delete versions.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::Berth;
use crate::common::gc::{
    berth_gc, finish, fsck_clean, head, pulls, put_image, upload, wait_candidate,
};
use crate::common::minio::{Minio, bucket_name};
use crate::config_on;

/// Two replicas on a fresh bucket, deleted versions restorable for `window`.
fn replicas(window: &str) -> (Berth, Berth) {
    let spec = format!("  restoreWindow: {window}\n");
    let config = config_on(Minio::shared(), &bucket_name(), ("", "", &spec));
    let mut replicas = Berth::replicas(&config, 2);
    let mut b = replicas.pop().unwrap();
    let a = replicas.pop().unwrap();
    // One set of PATs for both (their state directory is shared).
    b.admin_token = a.admin_token.clone();
    (a, b)
}

#[test]
fn a_head_on_one_replica_during_a_collection_keeps_the_blob_for_the_other() {
    let (a, b) = replicas("30days");
    let bytes = b"asked about on b, named by a manifest on a";
    let layer = upload(&a, "acme/app", bytes);
    wait_candidate(&a, &layer);

    let mut gc = berth_gc(&a, &["--pause-at", "tombstoned"]);
    gc.wait_paused("tombstoned");
    // b has the blob's length cached from nothing: the HEAD reads the store and claims.
    assert_eq!(head(&b, "acme/app", &layer), 200);
    gc.resume();
    let out = finish(gc);
    assert!(out.contains("1 kept by requests"), "{out}");
    let manifest = put_image(&a, "acme/app", "v1", (&layer, bytes.len()), "a").unwrap();
    fsck_clean(&a);
    pulls(&b, "acme/app", &manifest);

    // Once a run has won it, b says so and a refuses a manifest naming it.
    let bytes = b"asked about on b while it is removed";
    let gone = upload(&a, "acme/app", bytes);
    wait_candidate(&a, &gone);
    let mut gc = berth_gc(&a, &["--pause-at", "decided"]);
    gc.wait_paused("decided");
    assert_eq!(
        head(&b, "acme/app", &gone),
        404,
        "b does not answer from a cache"
    );
    let refused = put_image(&a, "acme/app", "v2", (&gone, bytes.len()), "a2").unwrap_err();
    assert!(refused.contains("MANIFEST_BLOB_UNKNOWN"), "{refused}");
    gc.resume();
    finish(gc);
    fsck_clean(&a);
}

/// Layers every pusher draws from, so pushes share blobs with each other and with
/// versions being deleted.
const SHARED: [&[u8]; 4] = [
    b"shared layer 0",
    b"shared layer 1",
    b"shared layer 2",
    b"shared layer 3",
];

#[test]
fn pushes_tag_moves_and_deletes_on_two_replicas_with_collections_back_to_back() {
    // Deleted versions expire at once, so collections really remove what they kept.
    let (a, b) = replicas("1s");
    let replicas = [Arc::new(a), Arc::new(b)];
    let stop = Arc::new(AtomicBool::new(false));
    let collections = {
        let (first, stop) = (replicas[0].clone(), stop.clone());
        std::thread::spawn(move || {
            let mut runs = 0;
            while !stop.load(Ordering::Relaxed) {
                finish(berth_gc(&first, &[]));
                runs += 1;
            }
            runs
        })
    };
    // Manifests that got a 201 and were not deleted, and what each pusher saw refused.
    let live: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let refusals = Arc::new(Mutex::new(0));
    let deadline = Instant::now() + Duration::from_secs(20);
    let pushers: Vec<_> = (0..3)
        .map(|p| {
            let (replicas, live, refusals) = (replicas.clone(), live.clone(), refusals.clone());
            std::thread::spawn(move || {
                let mut i = 0usize;
                while Instant::now() < deadline {
                    let berth = &replicas[i % 2];
                    let repo = format!("acme/app{}", p % 2);
                    let shared = SHARED[(i + p) % SHARED.len()];
                    let own: &'static [u8] = Box::leak(
                        format!("pusher {p} image {i}")
                            .into_bytes()
                            .into_boxed_slice(),
                    );
                    // One shared and one own layer, as two images of one base would be.
                    let layer = if i.is_multiple_of(2) { shared } else { own };
                    upload(berth, &repo, layer);
                    let digest = crate::common::sha256(layer);
                    let tag = format!("t{}", i % 3);
                    match put_image(
                        berth,
                        &repo,
                        &tag,
                        (&digest, layer.len()),
                        &format!("{p}-{i}"),
                    ) {
                        Ok(manifest) => {
                            live.lock().unwrap().insert(manifest.clone(), repo.clone());
                            if i % 4 == 3 {
                                let other = &replicas[(i + 1) % 2];
                                delete(other, &repo, &manifest);
                                live.lock().unwrap().remove(&manifest);
                            }
                        }
                        // A layer collected between its upload and its manifest (the
                        // grace is a second): the client uploads again, as on any
                        // MANIFEST_BLOB_UNKNOWN.
                        Err(e) => {
                            assert!(e.contains("MANIFEST_BLOB_UNKNOWN"), "{e}");
                            *refusals.lock().unwrap() += 1;
                        }
                    }
                    i += 1;
                }
                i
            })
        })
        .collect();
    let pushes: usize = pushers.into_iter().map(|t| t.join().unwrap()).sum();
    stop.store(true, Ordering::Relaxed);
    let runs = collections.join().unwrap();
    // And once more with nothing going on.
    let last = finish(berth_gc(&replicas[0], &[]));
    eprintln!(
        "{pushes} pushes, {runs} collections, {} refused: {last}",
        refusals.lock().unwrap()
    );
    assert!(runs >= 2, "collections ran during the pushes: {runs}");

    fsck_clean(&replicas[0]);
    let live = live.lock().unwrap();
    assert!(!live.is_empty());
    for (manifest, repo) in live.iter() {
        pulls(&replicas[1], repo, manifest);
    }
}

/// Deletes manifest `digest` (a version) with the OCI API.
fn delete(berth: &Berth, repo: &str, digest: &str) {
    let r = berth
        .admin_blocking_client()
        .delete(berth.url(&format!("/v2/{repo}/manifests/{digest}")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().unwrap());
}
