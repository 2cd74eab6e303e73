//! The consumer: reads `qsr.orders` and `qsr.stores` (read_committed), turns
//! each polled batch of events into queued tickets in one Postgres
//! transaction, dead-letters the batch's poison once that transaction has
//! committed, and only then commits the offsets past them. So every ticket is
//! durably queued (scheduled ones held until they fire) and every poison
//! record dead-lettered before Kafka forgets it, and a batch read again after
//! a crash queues nothing twice: ticket ids are deterministic and unique per
//! sink. Poison is a record that does not decode, or one whose tickets
//! Postgres refuses for what they hold (SQLSTATE class 22 or 23, see
//! `platform::refused_data`): such a batch is queued again one record per
//! transaction, and the record refused alone is set aside. Any other failure
//! (Postgres down, say) is retried.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use deadpool_postgres::Pool;
use platform::KafkaContext;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use schemas::{Event, EventData, OrderStatus};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::StoreSettings;
use crate::db::{self, NewRow};
use crate::delivery::DeadLetter;
use crate::sinks::Sink;
use crate::ticket::{OrderDetails, Ticket, TicketKind, order_number, ticket_id};

/// Records per batch at most.
const BATCH_MAX: usize = 500;
/// How long a batch waits for one more record before it is applied.
const BATCH_LINGER: Duration = Duration::from_millis(2);

/// A configured store, as the bridge runs it.
#[derive(Debug)]
pub struct StoreRuntime {
    pub settings: StoreSettings,
    pub sinks: Vec<Sink>,
}

/// The wake-up of each (store, sink) task.
pub type Wakers = HashMap<(String, String), Arc<Notify>>;

pub struct OrderConsumer {
    pub consumer: StreamConsumer<KafkaContext>,
    pub pool: Pool,
    pub stores: Arc<BTreeMap<String, StoreRuntime>>,
    pub wakers: Arc<Wakers>,
    pub dead_letter: Arc<DeadLetter>,
    pub timezones: HashMap<String, Tz>,
}

impl std::fmt::Debug for OrderConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderConsumer").finish_non_exhaustive()
    }
}

/// A record the bridge sets aside, why (the `reason` label of
/// `qsr_bridge_records_dead_lettered_total`), and the reason in full.
type Poison<'m> = (&'m OwnedMessage, &'static str, String);

/// What one event asks of the queue.
#[derive(Debug, Default)]
struct Effects {
    rows: Vec<NewRow>,
    /// An order cancelled or rejected: (order, reason, when).
    cancel: Option<(Uuid, String, DateTime<Utc>)>,
}

impl OrderConsumer {
    /// Consumes until `cancel`; an error that is not about one record (Postgres
    /// down, say) is retried, never fatal.
    pub async fn run(mut self, cancel: CancellationToken) -> anyhow::Result<()> {
        loop {
            let batch = tokio::select! {
                () = cancel.cancelled() => return Ok(()),
                batch = self.poll_batch() => batch,
            };
            if batch.is_empty() {
                continue;
            }
            let (events, mut poison) = decode(&batch);
            let Some((touched, refused)) = self.queue(&events, &cancel).await else {
                return Ok(());
            };
            poison.extend(refused);
            metrics::counter!("qsr_bridge_records_total").increment(batch.len() as u64);
            for key in touched {
                if let Some(wake) = self.wakers.get(&key) {
                    wake.notify_one();
                }
            }
            // Only once Postgres has the batch: a transaction retried during
            // a Postgres outage would otherwise dead-letter the same record
            // on every retry. And before the offsets are committed, so a
            // crash in between dead-letters it again rather than never.
            if !self.dead_letter_all(&poison, &cancel).await {
                return Ok(());
            }
            self.commit(&batch);
        }
    }

    /// Queues the events' tickets, retrying until Postgres has them; answers
    /// the sinks that got something and the records Postgres refuses, with
    /// why, or `None` on shutdown. A batch is applied whole or retried whole:
    /// nothing is committed to Kafka before Postgres has it. A batch Postgres
    /// refuses is queued again one record at a time, to find the poison.
    async fn queue<'m>(
        &mut self,
        events: &[(&'m OwnedMessage, Event)],
        cancel: &CancellationToken,
    ) -> Option<(HashSet<(String, String)>, Vec<Poison<'m>>)> {
        let all: Vec<&Event> = events.iter().map(|(_, event)| event).collect();
        loop {
            match self.apply(&all).await {
                Ok(touched) => return Some((touched, Vec::new())),
                Err(error) if platform::refused_data(&error).is_some() => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        events = events.len(),
                        "Postgres refused a batch; queueing its records one at a time"
                    );
                    break;
                }
                Err(error) => {
                    tracing::error!(
                        error = format!("{error:#}"),
                        "queueing a batch failed; retrying"
                    );
                    tokio::select! {
                        () = cancel.cancelled() => return None,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
        let (mut touched, mut refused) = (HashSet::new(), Vec::new());
        for (message, event) in events {
            loop {
                match self.apply(&[event]).await {
                    Ok(sinks) => touched.extend(sinks),
                    Err(error) => {
                        if let Some(refusal) = platform::refused_data(&error) {
                            let reason = format!(
                                "refused by Postgres (SQLSTATE {}): {error:#}",
                                refusal.code().code()
                            );
                            refused.push((*message, "refused_by_postgres", reason));
                        } else {
                            tracing::error!(
                                error = format!("{error:#}"),
                                "queueing a record failed; retrying"
                            );
                            tokio::select! {
                                () = cancel.cancelled() => return None,
                                () = tokio::time::sleep(Duration::from_secs(1)) => {}
                            }
                            continue;
                        }
                    }
                }
                break;
            }
        }
        Some((touched, refused))
    }

    /// Dead-letters each poison record, retrying until the topic has it;
    /// `false` on shutdown, when the batch's offsets must not be committed.
    async fn dead_letter_all(&self, records: &[Poison<'_>], cancel: &CancellationToken) -> bool {
        for &(message, cause, ref reason) in records {
            while let Err(error) = self.dead_letter_record(message, cause, reason).await {
                tracing::error!(
                    error = format!("{error:#}"),
                    "dead-lettering a record failed; retrying"
                );
                tokio::select! {
                    () = cancel.cancelled() => return false,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
        true
    }

    async fn poll_batch(&self) -> Vec<OwnedMessage> {
        let mut batch = Vec::new();
        match self.consumer.recv().await {
            Ok(message) => batch.push(message.detach()),
            Err(error) => {
                tracing::warn!(%error, "polling Kafka");
                tokio::time::sleep(Duration::from_millis(100)).await;
                return batch;
            }
        }
        while batch.len() < BATCH_MAX {
            match tokio::time::timeout(BATCH_LINGER, self.consumer.recv()).await {
                Ok(Ok(message)) => batch.push(message.detach()),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "polling Kafka");
                    break;
                }
                Err(_) => break,
            }
        }
        batch
    }

    fn commit(&self, batch: &[OwnedMessage]) {
        let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
        for m in batch {
            let at = next
                .entry((m.topic().to_owned(), m.partition()))
                .or_default();
            *at = (*at).max(m.offset() + 1);
        }
        let mut list = TopicPartitionList::new();
        for ((topic, partition), offset) in next {
            if let Err(error) = list.add_partition_offset(&topic, partition, Offset::Offset(offset))
            {
                tracing::warn!(%error, "building the offsets to commit");
            }
        }
        if let Err(error) = self.consumer.commit(&list, CommitMode::Async) {
            // The next batch's commit covers these too; a restart before then
            // reads them again and queues nothing twice.
            tracing::warn!(%error, "committing offsets");
        }
    }

    /// Queues the events' tickets in one transaction; answers the sinks that
    /// got something.
    async fn apply(&mut self, events: &[&Event]) -> anyhow::Result<HashSet<(String, String)>> {
        let mut client = self
            .pool
            .get()
            .await
            .context("getting a Postgres connection")?;
        let tx = client
            .transaction()
            .await
            .context("starting a transaction")?;
        let mut rows: Vec<NewRow> = Vec::new();
        let mut touched = HashSet::new();
        for &event in events {
            if let EventData::StoreConfigured(store) = &event.data {
                match store.timezone.parse::<Tz>() {
                    Ok(tz) => {
                        db::upsert_timezone(&tx, &store.store_id, tz).await?;
                        self.timezones.insert(store.store_id.clone(), tz);
                    }
                    Err(_) => tracing::warn!(
                        store_id = store.store_id,
                        timezone = store.timezone,
                        "a store's time zone is unknown; its tickets show UTC"
                    ),
                }
                continue;
            }
            let Some(store) = self.stores.get(&event.meta.store_id) else {
                continue;
            };
            let tz = self
                .timezones
                .get(&event.meta.store_id)
                .copied()
                .or_else(|| store.settings.timezone.as_deref()?.parse().ok())
                .unwrap_or(Tz::UTC);
            let effects = effects(event, store, tz);
            rows.extend(effects.rows);
            if let Some((order_id, reason, at)) = effects.cancel {
                // The order's kitchen ticket may be in `rows` still: queue first.
                db::insert_rows(&tx, &rows).await?;
                touched.extend(rows.drain(..).map(|r| (r.ticket.store_id, r.sink)));
                if let Some(fired) = db::cancel_kitchen(&tx, order_id).await? {
                    let ticket = Ticket {
                        ticket_id: ticket_id(order_id, TicketKind::Cancelled, None),
                        kind: TicketKind::Cancelled,
                        reason: Some(reason),
                        at,
                        status: None,
                        reprint: false,
                        ..fired
                    };
                    rows.extend(rows_for(store, &ticket, due_now(at)));
                }
            }
        }
        db::insert_rows(&tx, &rows).await?;
        tx.commit().await.context("committing the queued tickets")?;
        touched.extend(rows.into_iter().map(|r| (r.ticket.store_id, r.sink)));
        Ok(touched)
    }

    async fn dead_letter_record(
        &self,
        message: &OwnedMessage,
        cause: &'static str,
        reason: &str,
    ) -> anyhow::Result<()> {
        tracing::error!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            cause,
            reason,
            dead_letter_topic = self.dead_letter.topic,
            "dead-lettering a record the bridge cannot queue"
        );
        let key = message
            .key()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .unwrap_or_default();
        let (partition, offset) = (
            message.partition().to_string(),
            message.offset().to_string(),
        );
        self.dead_letter
            .send(
                &key,
                message.payload().unwrap_or_default(),
                &[
                    ("reason", reason),
                    ("source_topic", message.topic()),
                    ("source_partition", &partition),
                    ("source_offset", &offset),
                ],
            )
            .await?;
        metrics::counter!("qsr_bridge_records_dead_lettered_total", "reason" => cause).increment(1);
        Ok(())
    }
}

/// The batch's events with their records, and the records that cannot be
/// decoded with the reason. A record without a payload (a tombstone) is
/// neither.
fn decode(batch: &[OwnedMessage]) -> (Vec<(&OwnedMessage, Event)>, Vec<Poison<'_>>) {
    let mut events = Vec::with_capacity(batch.len());
    let mut undecodable = Vec::new();
    for message in batch {
        let Some(payload) = message.payload() else {
            continue;
        };
        match schemas::decode(payload) {
            Ok(event) => events.push((message, event)),
            Err(error) => undecodable.push((message, "undecodable", error.to_string())),
        }
    }
    (events, undecodable)
}

/// An immediate ticket is due at its event's time, or now if the writer's
/// clock runs ahead of ours.
fn due_now(at: DateTime<Utc>) -> DateTime<Utc> {
    at.min(Utc::now())
}

/// `ticket` for each of the store's sinks that takes its kind.
fn rows_for(store: &StoreRuntime, ticket: &Ticket, due_at: DateTime<Utc>) -> Vec<NewRow> {
    store
        .sinks
        .iter()
        .filter(|sink| sink.takes(ticket.kind))
        .map(|sink| NewRow {
            ticket: ticket.clone(),
            sink: sink.name.clone(),
            due_at,
        })
        .collect()
}

/// The tickets an event makes for a configured store.
fn effects(event: &Event, store: &StoreRuntime, tz: Tz) -> Effects {
    let meta = &event.meta;
    let base = |order_id: Uuid, kind: TicketKind, status: Option<OrderStatus>| Ticket {
        ticket_id: ticket_id(order_id, kind, status),
        kind,
        store_id: meta.store_id.clone(),
        order_id,
        number: order_number(order_id),
        reprint: false,
        at: meta.time,
        order: None,
        status,
        reason: None,
        correlation_id: Some(meta.correlation_id.clone()),
    };
    let mut effects = Effects::default();
    let (order_id, status, reason) = match &event.data {
        EventData::OrderPlaced(placed) => {
            let prep = chrono::Duration::minutes(i64::from(store.settings.prep_minutes));
            // Checked: a pickup time at the edge of the calendar fires at
            // placement rather than overflow.
            let fire_at = match placed.pickup_at.checked_sub_signed(prep) {
                Some(fire_at) if !placed.asap => fire_at.max(placed.placed_at),
                _ => placed.placed_at,
            };
            let details = OrderDetails::from_placed(placed, tz, fire_at);
            let now = due_now(meta.time);
            let order = Ticket {
                order: Some(details.clone()),
                ..base(placed.order_id, TicketKind::Order, None)
            };
            effects.rows.extend(rows_for(store, &order, now));
            let accept = base(placed.order_id, TicketKind::Accept, None);
            effects.rows.extend(rows_for(store, &accept, now));
            let kitchen = Ticket {
                order: Some(details),
                ..base(placed.order_id, TicketKind::Kitchen, None)
            };
            let fire = if placed.asap { now } else { fire_at };
            effects.rows.extend(rows_for(store, &kitchen, fire));
            return effects;
        }
        EventData::OrderAccepted(e) => (e.order_id, OrderStatus::Accepted, None),
        EventData::OrderRejected(e) => (e.order_id, OrderStatus::Rejected, Some(e.reason.clone())),
        EventData::PreparationStarted(e) => (e.order_id, OrderStatus::InPreparation, None),
        EventData::OrderReady(e) => (e.order_id, OrderStatus::Ready, None),
        EventData::OrderCompleted(e) => (e.order_id, OrderStatus::Completed, None),
        EventData::OrderCancelled(e) => {
            (e.order_id, OrderStatus::Cancelled, Some(e.reason.clone()))
        }
        _ => return effects,
    };
    let ticket = Ticket {
        reason: reason.clone(),
        ..base(order_id, TicketKind::Status, Some(status))
    };
    effects
        .rows
        .extend(rows_for(store, &ticket, due_now(meta.time)));
    if let Some(reason) = reason {
        effects.cancel = Some((order_id, reason, meta.time));
    }
    effects
}
