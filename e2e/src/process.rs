//! Child processes that cannot outlive the test process.
//!
//! A shared control plane lives in a `static`, and statics are never dropped, so `Drop`
//! alone cannot stop it. Every child is therefore started through util-linux's
//! `setpriv --pdeathsig KILL`, which asks the kernel to SIGKILL it when its parent dies.
//! The kernel ties that signal to the parent *thread*, not the process, and every Rust test
//! runs on a thread of its own that ends with the test, so all children are spawned from
//! one dedicated thread that lives as long as the process does.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::tools;

type SpawnRequest = (Command, Sender<std::io::Result<Child>>);

/// The channel to the spawner thread, started on first use.
fn spawner() -> &'static Sender<SpawnRequest> {
    static SPAWNER: OnceLock<Sender<SpawnRequest>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        thread::Builder::new()
            .name("berth-e2e-spawner".into())
            .spawn(move || {
                // The loop never ends while the process lives: the sender sits in a static.
                for (mut command, reply) in rx {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("start the berth-e2e spawner thread");
        tx
    })
}

/// A command that runs `program` under `setpriv --pdeathsig KILL`; add arguments, env and
/// a working directory, then start it with [`Process::spawn`].
pub fn command(program: impl AsRef<Path>) -> Result<Command> {
    let mut command = Command::new(tools::setpriv()?);
    command
        .args(["--pdeathsig", "KILL", "--"])
        .arg(program.as_ref());
    Ok(command)
}

/// A running child whose stdout and stderr go to files; killed when dropped.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Process {
    /// Starts `command` (from [`command`]) on the spawner thread, with its output written
    /// to `NAME.stdout` and `NAME.stderr` in `log_dir`.
    pub fn spawn(name: &str, mut command: Command, log_dir: &Path) -> Result<Self> {
        let stdout = log_dir.join(format!("{name}.stdout"));
        let stderr = log_dir.join(format!("{name}.stderr"));
        command
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).with_context(|| format!("create {stdout:?}"))?)
            .stderr(File::create(&stderr).with_context(|| format!("create {stderr:?}"))?);
        let (tx, rx) = mpsc::channel();
        spawner()
            .send((command, tx))
            .context("the berth-e2e spawner thread is gone")?;
        let child = rx
            .recv()
            .context("the berth-e2e spawner thread is gone")?
            .with_context(|| format!("start {name}"))?;
        Ok(Self {
            name: name.to_owned(),
            child,
            stdout,
            stderr,
        })
    }

    /// The name given to [`Process::spawn`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The process id (of the program itself: setpriv execs it in place).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the process has ended.
    pub fn try_status(&mut self) -> Result<Option<ExitStatus>> {
        self.child
            .try_wait()
            .with_context(|| format!("wait for {}", self.name))
    }

    /// Waits up to `timeout` for the process to end by itself.
    pub async fn wait(&mut self, timeout: Duration) -> Result<ExitStatus> {
        let name = self.name.clone();
        crate::wait::until(timeout, &format!("{name} to exit"), || {
            let status = self.try_status();
            async move { status }
        })
        .await
    }

    /// Everything the process has written to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// Everything the process has written to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The last lines of stderr then stdout, for error messages.
    pub fn log_tail(&self) -> String {
        let tail = |text: String| {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(25)..].join("\n")
        };
        format!(
            "--- {} stderr (tail) ---\n{}\n--- {} stdout (tail) ---\n{}",
            self.name,
            tail(self.stderr()),
            self.name,
            tail(self.stdout())
        )
    }

    /// Kills the process and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}
