//! The writer's producer context: counts the delivery reports that the
//! producer's own polling thread serves, so that a writer waits for its
//! transaction's records by sleeping until they are reported, not by polling.
//!
//! Why: rdkafka's `BaseProducer::poll(timeout)` waits out the whole timeout
//! even when the reports come sooner, and `flush` polls in 100 ms slices, so a
//! single-threaded writer had to poll with a zero timeout and sleep 200 µs
//! between tries. Under load that was most of command-api's CPU: a context
//! switch every 200 µs per busy partition. A `ThreadedProducer` serves the
//! reports on its thread as they arrive; the callback here wakes the writer.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};

/// Logs as every Kafka client does ([`platform::kafka_log`]) and counts
/// delivery reports.
#[derive(Debug, Default)]
pub(super) struct WriterContext {
    /// Delivery reports served since the producer was created, successful or
    /// not (a failed record makes the transaction's commit fail).
    reported: Mutex<u64>,
    arrived: Condvar,
}

impl WriterContext {
    /// How many delivery reports have been served so far.
    pub fn reported(&self) -> u64 {
        *self.reported.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one delivery report and wakes the writer.
    fn report(&self) {
        *self.reported.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.arrived.notify_all();
    }

    /// Waits until at least `total` reports have been served since the
    /// producer was created, or until `deadline`; true if they have.
    pub fn wait_for(&self, total: u64, deadline: Instant) -> bool {
        let mut reported = self.reported.lock().unwrap_or_else(PoisonError::into_inner);
        while *reported < total {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            reported = self
                .arrived
                .wait_timeout(reported, left.max(Duration::from_micros(1)))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }
}

impl ClientContext for WriterContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        platform::kafka_log::log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        platform::kafka_log::error(&error, reason);
    }
}

impl ProducerContext for WriterContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {
        self.report();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn a_waiting_writer_wakes_when_the_last_report_arrives_and_not_before() {
        let context = Arc::new(WriterContext::default());
        let reporter = Arc::clone(&context);
        let reports = std::thread::spawn(move || {
            for _ in 0..3 {
                reporter.report();
            }
        });
        assert!(context.wait_for(3, Instant::now() + Duration::from_secs(10)));
        assert_eq!(context.reported(), 3);
        reports.join().ok();
        assert!(!context.wait_for(4, Instant::now() + Duration::from_millis(20)));
    }
}
