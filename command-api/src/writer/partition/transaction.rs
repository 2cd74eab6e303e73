//! One batch's Kafka transaction: its records, each encoded as a CloudEvent
//! with its provenance, sent to the partition, delivered and committed, or
//! aborted.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use domain::{Change, Store};
use platform::KafkaContext;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use schemas::Provenance;
use uuid::Uuid;

use super::PartitionWriter;
use crate::writer::queue::CommandMeta;

/// A record ready to send: topic, key, payload, headers.
pub(super) type Record = (String, String, Vec<u8>, OwnedHeaders);

impl PartitionWriter {
    pub(super) fn commit(
        &self,
        producer: &BaseProducer<KafkaContext>,
        records: &[Record],
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        producer.begin_transaction().context("begin_transaction")?;
        for (topic, key, payload, headers) in records {
            let mut record = BaseRecord::to(topic)
                .key(key)
                .payload(payload)
                .partition(self.partition)
                .headers(headers.clone());
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        producer.poll(Duration::from_millis(10));
                        record = back;
                    }
                    Err((error, _)) => {
                        self.abort(producer);
                        return Err(error).context("queueing a record");
                    }
                }
            }
        }
        self.await_deliveries(producer)?;
        if let Err(error) = producer.commit_transaction(self.transaction_timeout) {
            self.abort(producer);
            return Err(error).context("commit_transaction");
        }
        metrics::histogram!("qsr_transaction_commit_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(())
    }

    /// The record of `event`, whose store has already folded it in.
    pub(super) fn record(
        &self,
        store: &Store,
        event: &domain::Event,
        meta: &CommandMeta,
    ) -> anyhow::Result<Record> {
        let (topic, version) = match &event.change {
            Change::Store(_) => (&self.kafka.stores_topic, store.version),
            Change::Order { order_id, .. } => (
                &self.kafka.orders_topic,
                store.orders.get(order_id).map_or(0, |o| o.version),
            ),
        };
        let provenance = Provenance {
            id: Uuid::now_v7(),
            source: "/command-api".to_owned(),
            time: Utc::now(),
            correlation_id: meta.correlation_id.clone(),
            causation_id: meta.command_id.to_string(),
        };
        let wire = schemas::to_wire(event, version, provenance);
        let payload = schemas::encode(&wire)?;
        let headers = schemas::record_headers(wire.data.event_type())
            .into_iter()
            .fold(OwnedHeaders::new(), |headers, (key, value)| {
                headers.insert(Header {
                    key,
                    value: Some(value),
                })
            });
        Ok((topic.clone(), event.store_id.to_string(), payload, headers))
    }

    /// Serves the delivery reports of the transaction's records as they come.
    /// rdkafka's own flush, which `commit_transaction` calls first, polls in
    /// slices of 100 ms and waits each one out even when the reports come
    /// sooner; and its `poll` spins through the last millisecond of a timeout.
    /// So: take what is there, then sleep a moment, until nothing is in flight.
    fn await_deliveries(&self, producer: &BaseProducer<KafkaContext>) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.transaction_timeout;
        loop {
            producer.poll(Duration::ZERO);
            if producer.in_flight_count() == 0 {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.abort(producer);
                bail!(
                    "the transaction's records were not delivered within {:?}",
                    self.transaction_timeout
                );
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    fn abort(&self, producer: &BaseProducer<KafkaContext>) {
        if let Err(error) = producer.abort_transaction(self.transaction_timeout) {
            tracing::error!(%error, "abort_transaction failed");
        }
    }
}
