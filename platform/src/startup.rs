//! Starting while a dependency is still coming up (a broker or a database
//! started at the same moment): retry for a while instead of exiting at once.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How long a service keeps trying a dependency at start.
pub const STARTUP_PATIENCE: Duration = Duration::from_secs(60);

/// Runs `attempt` until it succeeds or [`STARTUP_PATIENCE`] has passed,
/// logging each failure with `what`; answers the last failure then.
pub async fn retry_at_start<T, F, Fut>(what: &str, mut attempt: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let deadline = Instant::now() + STARTUP_PATIENCE;
    let mut backoff = Duration::from_millis(200);
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if Instant::now() + backoff < deadline => {
                tracing::warn!(error = format!("{error:#}"), retry_in = ?backoff, "{what} failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => {
                return Err(error.context(format!("{what}: gave up after {STARTUP_PATIENCE:?}")));
            }
        }
    }
}
