//! Read-model changes, as the projector announces them: one connection
//! `LISTEN`s on its channel and bumps a counter every waiting request watches.
//! A lost connection is reopened; the counter is bumped then too, since a
//! change may have been missed meanwhile.

use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use tokio::sync::watch;
use tokio_postgres::AsyncMessage;
use tokio_util::sync::CancellationToken;

/// The channel the projector `NOTIFY`s after each batch it commits.
pub const CHANNEL: &str = "qsr_read_models";

/// How long a waiting request trusts the notifications alone: a safety net
/// for a notification lost with a connection, not the way changes are seen.
pub const RECHECK: Duration = Duration::from_secs(1);

/// A handle to wait for the next change of the read models. The watched value
/// counts changes, and says whether the count can be trusted right now (the
/// connection is listening).
#[derive(Debug, Clone)]
pub struct Changes(watch::Receiver<Generation>);

#[derive(Debug, Clone, Copy, Default)]
struct Generation {
    changes: u64,
    listening: bool,
}

impl Changes {
    /// Follows `database_url`'s notifications until `cancel`.
    pub fn listen(database_url: String, cancel: CancellationToken) -> Changes {
        let (sender, receiver) = watch::channel(Generation::default());
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            while !cancel.is_cancelled() {
                let outcome = follow(&database_url, &sender, &cancel).await;
                sender.send_modify(|g| g.listening = false);
                match outcome {
                    Ok(()) => break,
                    Err(error) => tracing::warn!(
                        error = format!("{error:#}"),
                        "lost the read-model notifications; reconnecting"
                    ),
                }
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
        Changes(receiver)
    }

    /// The number of changes so far, while it is trustworthy: a value cached
    /// at generation `g` is current as long as this answers `Some(g)`.
    pub fn generation(&self) -> Option<u64> {
        let generation = *self.0.borrow();
        generation.listening.then_some(generation.changes)
    }

    /// Counts every change so far as seen: [`Changes::next`] then waits for
    /// one after this call. Call it before reading what the change may alter.
    pub fn mark_seen(&mut self) {
        self.0.borrow_and_update();
    }

    /// Returns after the next change, or after [`RECHECK`] at the latest.
    pub async fn next(&mut self) {
        let _ = tokio::time::timeout(RECHECK, self.0.changed()).await;
    }
}

async fn follow(
    database_url: &str,
    sender: &watch::Sender<Generation>,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let (client, mut connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .context("connecting to listen for notifications")?;
    let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
    let statement = format!("listen {CHANNEL}");
    let listen = client.batch_execute(&statement);
    tokio::pin!(listen);
    let mut listening = false;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            result = &mut listen, if !listening => {
                result.context("listening")?;
                listening = true;
                // Whatever changed before we listened: waiters look again.
                sender.send_modify(|g| {
                    g.changes += 1;
                    g.listening = true;
                });
                tracing::info!(channel = CHANNEL, "listening for read-model changes");
            }
            message = messages.next() => match message {
                Some(Ok(AsyncMessage::Notification(_))) => sender.send_modify(|g| g.changes += 1),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error).context("the notification connection failed"),
                None => anyhow::bail!("the notification connection closed"),
            },
        }
    }
}
