//! Watching a directory for changes (policy files, PATs, signing keys), debounced, with
//! notify; the callback rereads whatever it owns.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

/// Changes closer together than this are handled once.
const SETTLE: Duration = Duration::from_millis(50);

/// Calls `on_change` after files under `dir` change. Keep the returned watcher alive:
/// dropping it stops the watch.
pub fn watch_dir(
    dir: &Path,
    on_change: impl Fn() + Send + 'static,
) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, rx) = mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok_and(|e| !e.kind.is_access()) {
            let _ = tx.send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::Recursive)?;
    std::thread::Builder::new()
        .name("berth-watch".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                // Let a burst of events (an editor's save, a rename) settle first.
                while rx.recv_timeout(SETTLE).is_ok() {}
                on_change();
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(watcher)
}
