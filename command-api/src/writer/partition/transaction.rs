//! One batch's Kafka transaction: its records, each encoded as a CloudEvent
//! with its provenance, sent to the partition, delivered and committed, or
//! aborted.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use domain::{Change, Store};
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use schemas::Provenance;
use uuid::Uuid;

use super::PartitionWriter;
use crate::writer::deliveries::WriterContext;
use crate::writer::queue::CommandMeta;

/// The transactional producer of a partition; its own thread serves the
/// delivery reports (see `deliveries`).
pub(super) type TxProducer = ThreadedProducer<WriterContext>;

/// A record ready to send: topic, key, payload, headers.
pub(super) type Record = (String, String, Vec<u8>, OwnedHeaders);

impl PartitionWriter {
    pub(super) fn commit(&self, producer: &TxProducer, records: &[Record]) -> anyhow::Result<()> {
        let started = Instant::now();
        producer.begin_transaction().context("begin_transaction")?;
        // Every earlier record was reported before its transaction committed,
        // so this transaction's records are the next reports.
        let reported_before = producer.context().reported();
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
                        // Room is made as reports come back.
                        let reported = producer.context().reported();
                        producer
                            .context()
                            .wait_for(reported + 1, Instant::now() + Duration::from_millis(10));
                        record = back;
                    }
                    Err((error, _)) => {
                        self.abort(producer);
                        return Err(error).context("queueing a record");
                    }
                }
            }
        }
        self.await_deliveries(producer, reported_before + records.len() as u64)?;
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

    /// Waits until the transaction's records are reported (`total` reports
    /// since the producer was created) and released, so that
    /// `commit_transaction`'s flush finds nothing in flight: a flush that
    /// does would wait out a 100 ms poll.
    fn await_deliveries(&self, producer: &TxProducer, total: u64) -> anyhow::Result<()> {
        let deadline = Instant::now() + self.transaction_timeout;
        let mut reported = producer.context().wait_for(total, deadline);
        // A record is released just after its report's callback returns.
        while reported && producer.in_flight_count() > 0 {
            if Instant::now() > deadline {
                reported = false;
            } else {
                std::thread::yield_now();
            }
        }
        if !reported {
            self.abort(producer);
            bail!(
                "the transaction's records were not delivered within {:?}",
                self.transaction_timeout
            );
        }
        Ok(())
    }

    fn abort(&self, producer: &TxProducer) {
        if let Err(error) = producer.abort_transaction(self.transaction_timeout) {
            tracing::error!(%error, "abort_transaction failed");
        }
    }
}
