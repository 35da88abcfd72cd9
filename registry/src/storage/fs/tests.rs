//! The filesystem backend: the shared contract on a temp dir, and what only this backend
//! promises (temp files, keys confined to the root).

use super::*;
use crate::storage::contract;

fn storage() -> (tempfile::TempDir, FsStorage) {
    let dir = tempfile::tempdir().unwrap();
    let s = FsStorage::open(dir.path()).unwrap();
    (dir, s)
}

/// A fresh store on a temp dir, for the contract.
async fn empty_storage() -> (Arc<dyn Storage>, tempfile::TempDir) {
    let (dir, s) = storage();
    (Arc::new(s), dir)
}

mod contract_cases {
    crate::storage_contract_tests!(super::empty_storage());
}

fn tmp_entries(s: &FsStorage) -> Vec<PathBuf> {
    fs::read_dir(s.root().join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

/// Runs contract case `case` on a fresh store, and returns the store to look into.
async fn after<F: Future<Output = ()>>(
    case: impl FnOnce(Arc<dyn Storage>) -> F,
) -> (tempfile::TempDir, FsStorage) {
    let (dir, s) = storage();
    case(Arc::new(s.clone())).await;
    (dir, s)
}

#[tokio::test]
async fn writes_leave_no_temp_files() {
    let stores = [
        after(contract::put_if_absent_creates_once).await,
        after(contract::racing_creates_have_one_winner).await,
        after(contract::put_replaces_whole_values).await,
        after(contract::blobs_are_stored_once_by_digest_and_read_by_range).await,
        after(contract::uploads_append_discard_torn_tails_and_commit).await,
        after(contract::empty_uploads_commit_to_the_empty_blob).await,
    ];
    for (_dir, s) in &stores {
        assert_eq!(tmp_entries(s), Vec::<PathBuf>::new(), "{:?}", s.root());
    }
    // Deleting an upload removes its directory.
    assert!(!stores[4].1.root().join("uploads/u1").exists());
}

#[tokio::test]
async fn keys_cannot_escape_the_root() {
    let (_d, s) = storage();
    for bad in ["../x", "/etc/passwd", "a/../../x", ""] {
        assert!(s.get(bad).await.is_err(), "{bad}");
    }
}

#[tokio::test]
async fn stale_temp_files_are_removed_on_open() {
    let (dir, s) = storage();
    let fresh = s.tmp_path();
    fs::write(&fresh, b"in flight").unwrap();
    let stale = s.tmp_path();
    fs::write(&stale, b"crashed").unwrap();
    let old = SystemTime::now() - STALE_TMP - Duration::from_secs(60);
    File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    FsStorage::open(dir.path()).unwrap();
    assert!(fresh.exists());
    assert!(!stale.exists());
}

#[test]
fn a_body_is_gathered_into_writes_of_at_most_the_buffer_and_nothing_is_lost() {
    let mut g = Gathered::default();
    let mut writes = Vec::new();
    let mut sent = Vec::new();
    // Small buffers, an empty one, one as large as a write, then small ones again.
    let sizes = [1000, 0, 300_000, WRITE_BUFFER, 700_000, 500_000, 1];
    for (i, n) in sizes.into_iter().enumerate() {
        let chunk = Bytes::from(vec![i as u8; n]);
        sent.extend_from_slice(&chunk);
        writes.extend(g.add(chunk));
    }
    writes.extend(g.rest());
    assert!(g.rest().is_none(), "the rest is taken once");
    let lens: Vec<usize> = writes.iter().map(Bytes::len).collect();
    assert_eq!(lens, [301_000, WRITE_BUFFER, 700_000, 500_001]);
    assert_eq!(writes.concat(), sent);
}
