//! A runtime for the work a registry does beside answering requests, whose threads run
//! at a lower scheduling priority (nice 10) than the request runtime's.
//!
//! Webhook delivery reads, sends and records every event soon after the push that made
//! it; on the request runtime its tasks and blocking writes queued beside the pushes'
//! own and stretched their tail latency. Here they run on one worker thread and its own
//! blocking pool, and the kernel gives the request threads the CPU first whenever both
//! want it. Nothing is starved: nice 10 still gets a share of a busy CPU, and all of an
//! idle one.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Handle, Runtime};

/// How much lower than the process the background threads run (`nice` values: 0 is
/// the default, 19 the lowest).
const NICENESS: i32 = 10;

/// The background runtime's handle; it is built on first use and lives as long as the
/// process.
pub fn handle() -> &'static Handle {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("berth-background")
                .on_thread_start(lower_priority)
                .enable_all()
                .build()
                .expect("building the background runtime")
        })
        .handle()
}

/// Lowers the calling thread's priority (on Linux a thread's nice value is its own).
fn lower_priority() {
    let current = rustix::process::getpriority_process(None).unwrap_or(0);
    if let Err(e) = rustix::process::setpriority_process(None, current.max(NICENESS)) {
        tracing::debug!(error = %e, "cannot lower the background threads' priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_work_runs_at_a_lower_priority() {
        let on_background = handle()
            .block_on(async {
                tokio::task::spawn_blocking(|| rustix::process::getpriority_process(None)).await
            })
            .unwrap()
            .unwrap();
        let here = rustix::process::getpriority_process(None).unwrap();
        assert!(on_background >= NICENESS, "nice {on_background}");
        assert!(
            on_background > here || here >= NICENESS,
            "here {here}, there {on_background}"
        );
    }
}
