//! etcd and kube-apiserver die with the test process, even when a test panics and the
//! shared control plane (a static, never dropped) is left running.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

/// Whether `pid` is gone (or a zombie waiting to be reaped).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

#[test]
fn control_plane_dies_with_a_panicking_test_process() -> Result<()> {
    // The probe starts the shared control plane on a thread that then panics, as a
    // failing test would, and exits with the plane still held in its static.
    let output = Command::new(env!("CARGO_BIN_EXE_berth-e2e-teardown-probe"))
        .env_remove(berth_e2e::KUBECONFIG_ENV)
        .output()
        .context("run the teardown probe")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    ensure!(
        !output.status.success(),
        "the probe did not fail:\n{stdout}\n{stderr}"
    );
    ensure!(
        stdout.contains("alive after the starting thread ended"),
        "the control plane did not outlive the thread that started it:\n{stdout}\n{stderr}"
    );
    let pids: Vec<u32> = stdout
        .lines()
        .find_map(|line| line.strip_prefix("pids: "))
        .with_context(|| format!("no pids in the probe's output:\n{stdout}\n{stderr}"))?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    ensure!(pids.len() == 2, "expected two pids, got {pids:?}");

    let deadline = Instant::now() + Duration::from_secs(10);
    while !pids.iter().all(|&pid| dead(pid)) {
        ensure!(
            Instant::now() < deadline,
            "still running after the probe exited: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
