//! The outbox's sender: a background task that sends due mails over SMTP,
//! retries a failed one with exponential backoff, and gives one up after
//! [`outbox::MAX_ATTEMPTS`] or at a permanent (5xx) refusal. A relay that
//! is down loses nothing: the mails wait in Postgres.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use deadpool_postgres::Pool;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use tokio::sync::Notify;

use crate::config::MailArgs;
use crate::outbox::{self, Queued};

/// How many mails one step leases.
const BATCH: i64 = 16;
/// How long the sender rests when nothing is due, unless woken.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// The longest wait between two attempts at one mail.
const MAX_BACKOFF_SECONDS: f64 = 15.0 * 60.0;
/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// An SMTP relay and the `From` of every mail.
#[derive(Clone)]
pub struct Relay {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay").field("from", &self.from).finish()
    }
}

impl Relay {
    /// The relay of `args`, or `None` when `--smtp-url` is empty (the mails
    /// stay queued). A malformed URL or `From` fails the start.
    pub fn from_args(args: &MailArgs) -> anyhow::Result<Option<Relay>> {
        let url = args.smtp_url.expose_secret().trim();
        if url.is_empty() {
            return Ok(None);
        }
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("parsing --smtp-url (smtp://host:port or smtps://host:port)")?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from = args
            .mail_from
            .parse()
            .with_context(|| format!("parsing --mail-from {:?}", args.mail_from))?;
        Ok(Some(Relay { transport, from }))
    }
}

/// What one step of the sender did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStep {
    /// Mails were leased (sent, rescheduled or given up): look again at once.
    Worked(usize),
    /// Nothing was due.
    Idle,
}

/// The seconds to wait before attempt `attempts + 1`: 2, 4, 8… up to 15
/// minutes.
fn backoff(attempts: i32) -> f64 {
    2f64.powi(attempts.clamp(1, 20)).min(MAX_BACKOFF_SECONDS)
}

fn message(relay: &Relay, queued: &Queued) -> anyhow::Result<Message> {
    let to: Mailbox = queued
        .mail
        .recipient
        .parse()
        .context("parsing the recipient")?;
    Message::builder()
        .from(relay.from.clone())
        .to(to)
        .message_id(None)
        .subject(queued.mail.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(queued.mail.body.clone())
        .context("building the message")
}

/// Sends one leased mail and settles it.
async fn send_one(pool: &Pool, relay: &Relay, queued: Queued) -> anyhow::Result<()> {
    let attempts = queued.attempts + 1;
    let about = queued.about;
    let sent = match message(relay, &queued) {
        Ok(message) => relay
            .transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| (e.is_permanent(), e.to_string())),
        Err(e) => Err((true, format!("{e:#}"))),
    };
    match sent {
        Ok(()) => {
            outbox::sent(pool, queued.id).await?;
            metrics::counter!("qsr_identity_mails_total", "outcome" => "sent").increment(1);
            tracing::info!(%about, subject = %queued.mail.subject, "sent a mail");
        }
        Err((permanent, error)) => {
            let give_up = permanent || attempts >= outbox::MAX_ATTEMPTS;
            let retry_in = (!give_up).then(|| backoff(attempts));
            outbox::failed(pool, queued.id, &error, retry_in).await?;
            let outcome = if give_up { "failed" } else { "retry" };
            metrics::counter!("qsr_identity_mails_total", "outcome" => outcome).increment(1);
            tracing::warn!(%about, attempts, ?retry_in, %error, "a mail was not sent");
        }
    }
    Ok(())
}

/// Leases the due mails and sends each.
pub async fn step(pool: &Pool, relay: &Relay) -> anyhow::Result<SendStep> {
    let due = outbox::lease_due(pool, BATCH).await?;
    if due.is_empty() {
        return Ok(SendStep::Idle);
    }
    let count = due.len();
    for queued in due {
        send_one(pool, relay, queued).await?;
    }
    Ok(SendStep::Worked(count))
}

/// Sends mail until the task is aborted: at once when `wake` is notified
/// (a mail was queued), else every second; a database failure waits a few
/// seconds. Without a relay it only logs that mail stays queued.
pub async fn run(pool: Pool, relay: Option<Relay>, wake: Arc<Notify>) {
    let Some(relay) = relay else {
        tracing::warn!("no SMTP relay (--smtp-url is empty): mail stays queued in the outbox");
        return;
    };
    loop {
        match step(&pool, &relay).await {
            Ok(SendStep::Worked(_)) => continue,
            Ok(SendStep::Idle) => {
                let _ = tokio::time::timeout(IDLE_POLL, wake.notified()).await;
            }
            Err(error) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "the mail outbox is unreachable"
                );
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_quarter_hour() {
        assert_eq!(backoff(1), 2.0);
        assert_eq!(backoff(3), 8.0);
        assert_eq!(backoff(19), MAX_BACKOFF_SECONDS);
    }
}
