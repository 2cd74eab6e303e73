//! Delivery: one task per sink of each store, reading that sink's due tickets
//! from Postgres in order, so a dead printer holds back only its own tickets.
//! Each attempt that fails is retried with exponential backoff and jitter;
//! after `max_attempts` (or at once, for a failure no retry can fix) the
//! ticket goes to the dead-letter topic with the reason in its headers. A
//! delivery that Postgres will not record is recorded again, never sent again.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::Utc;
use deadpool_postgres::Pool;
use platform::KafkaContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::db::{self, QueuedRow};
use crate::sinks::{Failure, Senders, Sink};
use crate::ticket::TicketKind;

/// How often an idle sink looks for tickets queued by another process (a
/// `replay`), besides being woken by the consumer or by the next held
/// ticket's fire time.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// The shortest wait for a held ticket whose fire time has come by this
/// process's clock but not yet by Postgres's, so that a clock a little ahead
/// of the database's does not spin.
const FIRE_SLACK: Duration = Duration::from_millis(5);
/// Due tickets read per query.
const BATCH: i64 = 64;

/// What every sink task shares.
#[derive(Debug)]
pub struct Delivery {
    pub pool: Pool,
    pub senders: Senders,
    pub dead_letter: DeadLetter,
    pub max_attempts: u32,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
}

/// The dead-letter topic.
pub struct DeadLetter {
    pub producer: FutureProducer<KafkaContext>,
    pub topic: String,
}

impl std::fmt::Debug for DeadLetter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetter")
            .field("topic", &self.topic)
            .finish()
    }
}

impl DeadLetter {
    /// Writes one record and waits for the broker's acknowledgement.
    pub async fn send(
        &self,
        key: &str,
        payload: &[u8],
        headers: &[(&str, &str)],
    ) -> anyhow::Result<()> {
        let mut kafka_headers = OwnedHeaders::new();
        for (name, value) in headers {
            kafka_headers = kafka_headers.insert(Header {
                key: name,
                value: Some(value.as_bytes()),
            });
        }
        let record = FutureRecord::to(&self.topic)
            .key(key)
            .payload(payload)
            .headers(kafka_headers);
        self.producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .with_context(|| format!("writing to the dead-letter topic {}", self.topic))?;
        Ok(())
    }
}

/// What one pass over a sink's queue did.
enum Step {
    /// Tickets left the queue; look again at once.
    Worked,
    /// Nothing is due; the next held ticket fires then, if any.
    Idle(Option<chrono::DateTime<Utc>>),
    /// Shutdown came during the pass.
    Stopped,
}

/// Delivers `store_id`'s tickets to `sink` until `cancel`; `wake` is notified
/// when the consumer queued something for it.
pub async fn run_sink(
    delivery: Arc<Delivery>,
    store_id: String,
    sink: Sink,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    tracing::info!(store_id, sink = sink.name, "sink task started");
    loop {
        let wait = match step(&delivery, &store_id, &sink, &cancel).await {
            Ok(Step::Worked) => continue,
            Ok(Step::Stopped) => return,
            Ok(Step::Idle(next)) => next.map_or(IDLE_POLL, |at| {
                (at - Utc::now())
                    .to_std()
                    .unwrap_or_default()
                    .clamp(FIRE_SLACK, IDLE_POLL)
            }),
            Err(error) => {
                tracing::warn!(
                    store_id,
                    sink = sink.name,
                    error = format!("{error:#}"),
                    "reading the queue failed; trying again"
                );
                Duration::from_secs(1)
            }
        };
        tokio::select! {
            () = cancel.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

async fn step(
    delivery: &Delivery,
    store_id: &str,
    sink: &Sink,
    cancel: &CancellationToken,
) -> anyhow::Result<Step> {
    let (rows, depth) = db::next_due(&delivery.pool, store_id, &sink.name, BATCH).await?;
    set_queue_depth(store_id, sink, depth);
    if rows.is_empty() {
        let next = db::next_fire(&delivery.pool, store_id, &sink.name).await?;
        return Ok(Step::Idle(next));
    }
    let drained = rows.len() < BATCH as usize;
    for row in rows {
        if cancel.is_cancelled() {
            return Ok(Step::Stopped);
        }
        if !deliver(delivery, sink, row, cancel).await? {
            return Ok(Step::Stopped);
        }
    }
    if drained {
        // Nothing else was due when we looked; whatever was queued since has
        // woken us already (the wake-up is kept until we wait). A held ticket
        // may fall due while we wait, so wait until then at the most.
        let next = db::next_fire(&delivery.pool, store_id, &sink.name).await?;
        return Ok(Step::Idle(next));
    }
    Ok(Step::Worked)
}

/// `qsr_bridge_queue_depth{store_id, sink}`: the sink's due tickets waiting.
fn set_queue_depth(store_id: &str, sink: &Sink, depth: i64) {
    metrics::gauge!("qsr_bridge_queue_depth", "store_id" => store_id.to_owned(), "sink" => sink.name.clone())
        .set(depth as f64);
}

/// Counts the sink's due tickets again while its head ticket is retried: a
/// pass sets the gauge only when it starts, and a dead printer can hold one
/// pass for minutes, exactly while the operator needs to see its queue grow.
/// A failed count leaves the gauge as it was; it must not hold up delivery.
async fn refresh_queue_depth(delivery: &Delivery, store_id: &str, sink: &Sink) {
    match db::count_due(&delivery.pool, store_id, &sink.name).await {
        Ok(depth) => set_queue_depth(store_id, sink, depth),
        Err(error) => tracing::warn!(
            store_id,
            sink = sink.name,
            error = format!("{error:#}"),
            "counting the queue for its gauge failed"
        ),
    }
}

/// The pause before attempt `attempt + 1`: doubling from `initial`, capped at
/// `max`, with "equal jitter" (half fixed, half random), so sinks that failed
/// together do not retry in lockstep.
pub fn backoff(attempt: u32, initial: Duration, max: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let full = initial.saturating_mul(1 << exponent).min(max);
    let half = full / 2;
    half + half.mul_f64(fastrand::f64())
}

/// Attempts one ticket until it is delivered or dead-lettered; `false` when
/// shutdown interrupted the retries (the ticket stays queued).
async fn deliver(
    delivery: &Delivery,
    sink: &Sink,
    row: QueuedRow,
    cancel: &CancellationToken,
) -> anyhow::Result<bool> {
    let mut attempts = row.attempts;
    let ticket = &row.ticket;
    loop {
        attempts += 1;
        let failure = match sink.send(&delivery.senders, ticket).await {
            Ok(()) => {
                if !record_delivery(delivery, sink, &row, cancel).await {
                    return Ok(false);
                }
                metrics::counter!("qsr_bridge_tickets_delivered_total", "sink" => sink.kind())
                    .increment(1);
                if ticket.kind == TicketKind::Kitchen && !ticket.reprint {
                    let late = (Utc::now() - row.due_at).to_std().unwrap_or_default();
                    metrics::histogram!("qsr_bridge_fire_delay_seconds").record(late.as_secs_f64());
                }
                tracing::info!(
                    ticket_id = ticket.ticket_id,
                    store_id = ticket.store_id,
                    sink = sink.name,
                    attempts,
                    correlation_id = ticket.correlation_id,
                    "ticket delivered"
                );
                return Ok(true);
            }
            Err(failure) => failure,
        };
        let exhausted = attempts >= delivery.max_attempts;
        if matches!(failure, Failure::Permanent(_)) || exhausted {
            dead_letter(delivery, sink, &row, attempts, failure.reason(), cancel).await?;
            return Ok(true);
        }
        db::mark_failed(&delivery.pool, row.seq, attempts, failure.reason()).await?;
        metrics::counter!("qsr_bridge_delivery_retries_total", "sink" => sink.kind()).increment(1);
        refresh_queue_depth(delivery, &ticket.store_id, sink).await;
        let pause = backoff(attempts, delivery.backoff_initial, delivery.backoff_max);
        tracing::warn!(
            ticket_id = ticket.ticket_id,
            store_id = ticket.store_id,
            sink = sink.name,
            attempts,
            reason = failure.reason(),
            retry_in_ms = pause.as_millis() as u64,
            "delivery failed"
        );
        tokio::select! {
            () = cancel.cancelled() => return Ok(false),
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Records that `sink` took the ticket, trying again until Postgres has it or
/// shutdown comes; `false` on shutdown, when the ticket stays pending. The
/// ticket is never sent again in between: handing the failure to the sink
/// loop would read the row back as pending and print it a second time, and a
/// ticket may print twice only when the bridge dies between sending and
/// recording.
async fn record_delivery(
    delivery: &Delivery,
    sink: &Sink,
    row: &QueuedRow,
    cancel: &CancellationToken,
) -> bool {
    let mut failures = 0;
    loop {
        let error = match db::mark_delivered(&delivery.pool, row.seq).await {
            Ok(()) => return true,
            Err(error) => error,
        };
        failures += 1;
        let pause = backoff(failures, delivery.backoff_initial, delivery.backoff_max);
        tracing::error!(
            ticket_id = row.ticket.ticket_id,
            sink = sink.name,
            error = format!("{error:#}"),
            retry_in_ms = pause.as_millis() as u64,
            "recording a delivery failed; trying again without resending"
        );
        tokio::select! {
            () = cancel.cancelled() => return false,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

async fn dead_letter(
    delivery: &Delivery,
    sink: &Sink,
    row: &QueuedRow,
    attempts: u32,
    reason: &str,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let ticket = &row.ticket;
    let payload = serde_json::to_vec(ticket).context("encoding the ticket")?;
    let attempts_text = attempts.to_string();
    let headers = [
        ("reason", reason),
        ("ticket_id", ticket.ticket_id.as_str()),
        ("store_id", ticket.store_id.as_str()),
        ("sink", sink.name.as_str()),
        ("attempts", attempts_text.as_str()),
    ];
    // The ticket leaves the queue only once the dead-letter topic has it.
    loop {
        match delivery
            .dead_letter
            .send(&ticket.store_id, &payload, &headers)
            .await
        {
            Ok(()) => break,
            Err(error) => {
                tracing::error!(
                    ticket_id = ticket.ticket_id,
                    error = format!("{error:#}"),
                    "dead-lettering failed; trying again"
                );
                tokio::select! {
                    () = cancel.cancelled() => return Ok(()),
                    () = tokio::time::sleep(delivery.backoff_max) => {}
                }
            }
        }
    }
    db::mark_dead(&delivery.pool, row.seq, attempts, reason).await?;
    metrics::counter!("qsr_bridge_tickets_dead_lettered_total", "sink" => sink.kind()).increment(1);
    tracing::error!(
        ticket_id = ticket.ticket_id,
        store_id = ticket.store_id,
        sink = sink.name,
        attempts,
        reason,
        "ticket dead-lettered"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_secs(2));
        for (attempt, full_ms) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (5, 1600),
            (6, 2000),
            (40, 2000),
        ] {
            for _ in 0..50 {
                let pause = backoff(attempt, initial, max).as_millis() as u64;
                assert!(
                    (full_ms / 2..=full_ms).contains(&pause),
                    "attempt {attempt}: {pause} ms outside {}..={full_ms}",
                    full_ms / 2
                );
            }
        }
    }
}
