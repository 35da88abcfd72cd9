//! Waiting on conditions with a deadline, never a fixed sleep.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// How often a condition is checked again.
const POLL: Duration = Duration::from_millis(100);

/// Checks `check` until it returns `Some`, failing after `timeout`. An error from `check`
/// ends the wait at once: use [`eventually`] when errors are expected on the way.
pub async fn until<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Retries `attempt` until it succeeds, failing after `timeout` with the last error. For
/// what becomes true shortly after a write: RBAC bindings, caches, a server coming up.
pub async fn eventually<T, E, F, Fut>(timeout: Duration, what: &str, mut attempt: F) -> Result<T>
where
    E: Into<anyhow::Error>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        let error = match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) => error.into(),
        };
        if Instant::now() >= deadline {
            return Err(error.context(format!("timed out after {timeout:?} waiting for {what}")));
        }
        tokio::time::sleep(POLL).await;
    }
}
