//! One running service in this process: where it listens, how to stop it,
//! and waiting until it is ready.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::Service;

/// How long a test waits for something that should happen soon.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(50);

/// A service running on a task of this process until it is stopped.
#[derive(Debug)]
pub struct Instance {
    pub service: Service,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    pub addr: SocketAddr,
    cancel: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

/// A listener on port 0 of the loopback interface.
pub(crate) async fn bind() -> anyhow::Result<TcpListener> {
    TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding port 0")
}

impl Instance {
    /// Spawns `run`, which serves on `listener` until the future it was
    /// given completes: `run(listener, shutdown)`.
    pub(crate) fn spawn<F, R>(
        service: Service,
        listener: TcpListener,
        run: R,
    ) -> anyhow::Result<Instance>
    where
        R: FnOnce(TcpListener, tokio_util::sync::WaitForCancellationFutureOwned) -> F,
        F: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(listener, cancel.clone().cancelled_owned()));
        Ok(Instance {
            service,
            url: format!("http://{addr}"),
            addr,
            cancel,
            task,
        })
    }

    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Asks it to stop (graceful shutdown), without waiting.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Stops it gracefully and checks that it stopped cleanly.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.cancel.cancel();
        self.join().await
    }

    /// Waits until it ended; an error if it failed or panicked.
    pub(crate) async fn join(self) -> anyhow::Result<()> {
        let name = self.service.name();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .with_context(|| format!("{name} did not stop in {PATIENCE:?}"))?
            .with_context(|| format!("{name} panicked"))?
            .with_context(|| format!("{name} failed"))
    }

    /// Why it ended, for the error of a test whose service died.
    pub(crate) async fn exit_reason(self) -> String {
        let name = self.service.name();
        match self.join().await {
            Ok(()) => format!("{name} stopped"),
            Err(error) => format!("{error:#}"),
        }
    }
}

/// Polls `check` until it answers `Some`, failing the test after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Whether `base` answers `/readyz` with a success.
pub(crate) async fn is_ready(http: &reqwest::Client, base: &str) -> bool {
    http.get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// Sleeps between two looks of a readiness loop; an error after `PATIENCE`.
pub(crate) async fn pause_before_next_look(
    base: &str,
    deadline: tokio::time::Instant,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        tokio::time::Instant::now() < deadline,
        "{base} not ready in {PATIENCE:?}"
    );
    tokio::time::sleep(POLL).await;
    Ok(())
}
