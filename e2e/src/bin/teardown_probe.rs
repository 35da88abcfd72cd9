//! A helper for the `teardown` test: starts the shared control plane on a thread that
//! panics (as a failing test does), checks that the processes outlived that thread, prints
//! their pids and exits with the plane still in its static. The test then checks that the
//! processes died with this one.

use std::path::Path;

fn main() {
    let starter = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a Tokio runtime");
        let pids = runtime.block_on(async {
            let cluster = berth_e2e::Cluster::shared()
                .await
                .expect("start the control plane");
            cluster
                .control_plane()
                .expect("the harness's own control plane")
                .pids()
        });
        println!("pids: {} {}", pids[0], pids[1]);
        panic!("a test fails while holding the shared control plane");
    });
    assert!(
        starter.join().is_err(),
        "the starting thread should have panicked"
    );

    let cluster = std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a Tokio runtime")
            .block_on(berth_e2e::Cluster::shared())
            .map(|cluster| cluster.control_plane().map(|plane| plane.pids()))
    })
    .join()
    .expect("the second thread");
    let pids = cluster
        .expect("the shared cluster")
        .expect("a control plane");
    if pids
        .iter()
        .all(|pid| Path::new(&format!("/proc/{pid}")).exists())
    {
        println!("alive after the starting thread ended");
    }
    std::process::exit(101);
}
