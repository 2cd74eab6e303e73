//! librdkafka's log lines and error callbacks at levels an operator can live
//! with: the end of a partition at DEBUG, a broker that is down or restarting
//! at WARN once per broker and [`REPEAT_INTERVAL`] (with the count of repeats
//! left out), fatal and unexpected errors at ERROR.
//!
//! librdkafka reports a broker that is down from every client, for every
//! connection attempt, through both its log and its error callback; the
//! default context of `rdkafka` logs each at ERROR, dozens a second while a
//! broker restarts. Every client of the services is created with
//! [`KafkaContext`], or with a context whose `log` and `error` call [`log`] and
//! [`error`].

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;

/// How long the repeats of one message (per kind and broker) are held back
/// after it was logged.
pub const REPEAT_INTERVAL: Duration = Duration::from_secs(30);

/// The client context of every Kafka client that needs nothing else: logs
/// through [`log`] and [`error`].
#[derive(Debug, Clone, Copy, Default)]
pub struct KafkaContext;

impl ClientContext for KafkaContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self::error(&error, reason);
    }
}

impl ConsumerContext for KafkaContext {}

/// For a `BaseProducer`, whose callers poll for delivery reports themselves
/// (or flush, or commit a transaction, which report failures too).
impl ProducerContext for KafkaContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &DeliveryResult<'_>, _: ()) {}
}

/// Logs one of librdkafka's log lines (the `log` callback of a context).
pub fn log(level: RDKafkaLogLevel, facility: &str, message: &str) {
    let verdict = classify_log(level, facility, message);
    emit(verdict, facility, message, Instant::now());
}

/// Logs one of librdkafka's global errors (the `error` callback of a context).
pub fn error(error: &KafkaError, reason: &str) {
    let verdict = classify_error(error, reason);
    let message = format!("{error}: {reason}");
    emit(verdict, "error", &message, Instant::now());
}

/// The level a message is logged at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// How to log one message: at `level`, and, with a `key`, only once per
/// [`REPEAT_INTERVAL`] for all messages of that key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Verdict {
    level: Level,
    key: Option<String>,
}

impl Verdict {
    fn once(level: Level, key: String) -> Verdict {
        Verdict {
            level,
            key: Some(key),
        }
    }

    fn always(level: Level) -> Verdict {
        Verdict { level, key: None }
    }
}

/// Error codes of a broker that is down, restarting or unreachable for a
/// while, which librdkafka retries by itself.
fn is_transient(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        code,
        C::BrokerTransportFailure
            | C::AllBrokersDown
            | C::Resolve
            | C::MessageTimedOut
            | C::OperationTimedOut
            | C::TimedOutQueue
            | C::RequestTimedOut
            | C::NetworkException
            | C::BrokerNotAvailable
            | C::LeaderNotAvailable
            | C::NotLeaderForPartition
            | C::CoordinatorLoadInProgress
            | C::CoordinatorNotAvailable
            | C::NotCoordinator
            | C::WaitingForCoordinator
            | C::NotEnoughReplicas
            | C::PreferredLeaderNotAvailable
            | C::DestroyBroker
            | C::BrokerDestroy
    )
}

fn classify_error(error: &KafkaError, reason: &str) -> Verdict {
    let code = error.rdkafka_error_code();
    if matches!(error, KafkaError::PartitionEOF(_)) || code == Some(RDKafkaErrorCode::PartitionEOF)
    {
        // Reached the end of a partition: news only to a reader that asked.
        return Verdict::always(Level::Debug);
    }
    let name = code.map_or_else(|| format!("{error:?}"), |code| format!("{code:?}"));
    let key = format!("error {name} {}", broker(reason));
    match code {
        Some(code) if is_transient(code) => Verdict::once(Level::Warn, key),
        _ => Verdict::once(Level::Error, key),
    }
}

/// Phrases of librdkafka's log lines about a broker connection that failed or
/// closed: it reconnects by itself.
const TRANSIENT_PHRASES: [&str; 9] = [
    "Connection refused",
    "Connect to",
    "Disconnected",
    "brokers are down",
    "Broker transport failure",
    "timed out",
    "Failed to resolve",
    "Connection reset",
    "Receive failed",
];

fn classify_log(level: RDKafkaLogLevel, facility: &str, message: &str) -> Verdict {
    let key = || format!("log {facility} {}", broker(message));
    match level {
        RDKafkaLogLevel::Debug => Verdict::always(Level::Debug),
        RDKafkaLogLevel::Info | RDKafkaLogLevel::Notice => Verdict::always(Level::Info),
        RDKafkaLogLevel::Warning => Verdict::once(Level::Warn, key()),
        RDKafkaLogLevel::Error
            if TRANSIENT_PHRASES
                .iter()
                .any(|phrase| message.contains(phrase)) =>
        {
            Verdict::once(Level::Warn, key())
        }
        RDKafkaLogLevel::Error
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Emerg => Verdict::once(Level::Error, key()),
    }
}

/// The broker a message is about (`127.0.0.1:9092/1` in
/// `[thrd:...]: 127.0.0.1:9092/1: Connect to ... failed`), or nothing.
fn broker(message: &str) -> &str {
    let message = match message.strip_prefix("[thrd:") {
        Some(rest) => rest.split_once("]: ").map_or(rest, |(_, rest)| rest),
        None => message,
    };
    match message.split_once(": ") {
        Some((subject, _)) if !subject.contains(char::is_whitespace) => subject,
        _ => "",
    }
}

/// The messages held back per key: shared by every client of the process, as
/// each reports the same broker being down.
static REPEATS: LazyLock<Mutex<Repeats>> =
    LazyLock::new(|| Mutex::new(Repeats::new(REPEAT_INTERVAL)));

fn emit(verdict: Verdict, facility: &str, message: &str, now: Instant) {
    let suppressed = match &verdict.key {
        Some(key) => {
            let mut repeats = REPEATS.lock().unwrap_or_else(PoisonError::into_inner);
            match repeats.check(key, now) {
                Some(suppressed) => suppressed,
                None => return,
            }
        }
        None => 0,
    };
    match verdict.level {
        Level::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
        Level::Info => tracing::info!(target: "librdkafka", facility, "{message}"),
        Level::Warn => tracing::warn!(target: "librdkafka", facility, suppressed, "{message}"),
        Level::Error => tracing::error!(target: "librdkafka", facility, suppressed, "{message}"),
    }
}

/// Lets one message per key through per interval, and counts the others.
#[derive(Debug)]
struct Repeats {
    interval: Duration,
    /// Per key: when it was last let through, and how many were held back since.
    seen: HashMap<String, (Instant, u64)>,
}

/// Keys kept before the stale ones are forgotten (librdkafka's messages are
/// keyed by kind and broker, so a process rarely has more than a few dozen).
const MAX_KEYS: usize = 1024;

impl Repeats {
    fn new(interval: Duration) -> Repeats {
        Repeats {
            interval,
            seen: HashMap::new(),
        }
    }

    /// `Some(n)` to log the message at `now`, `n` repeats having been held
    /// back since the last one logged; `None` to hold it back.
    fn check(&mut self, key: &str, now: Instant) -> Option<u64> {
        if let Some((shown, held)) = self.seen.get_mut(key) {
            if now.saturating_duration_since(*shown) < self.interval {
                *held += 1;
                return None;
            }
            let suppressed = *held;
            *shown = now;
            *held = 0;
            return Some(suppressed);
        }
        if self.seen.len() >= MAX_KEYS {
            let interval = self.interval;
            self.seen
                .retain(|_, (shown, _)| now.saturating_duration_since(*shown) < interval);
        }
        if self.seen.len() < MAX_KEYS {
            self.seen.insert(key.to_owned(), (now, 0));
        }
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use rdkafka::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, Consumer};

    use super::*;

    /// Log output captured in memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn lines(&self) -> Vec<String> {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    #[test]
    fn a_client_whose_broker_is_down_warns_once_per_kind_and_logs_no_error() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .finish();
        // Nothing listens on port 1; librdkafka retries every few milliseconds.
        let broker = "127.0.0.1:1";
        let lines = tracing::subscriber::with_default(subscriber, || {
            let consumer: BaseConsumer<KafkaContext> = ClientConfig::new()
                .set("bootstrap.servers", broker)
                .set("reconnect.backoff.ms", "5")
                .set("reconnect.backoff.max.ms", "20")
                .create_with_context(KafkaContext)
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(20);
            // Until librdkafka has said the broker is down through both callbacks.
            while Instant::now() < deadline
                && !captured
                    .lines()
                    .iter()
                    .any(|l| l.contains("brokers are down"))
            {
                let _ = consumer.fetch_metadata(None, Duration::from_millis(50));
                consumer.poll(Duration::from_millis(10));
            }
            // A flood of the same, as from every client while a broker restarts.
            for _ in 0..100 {
                let reason = format!(
                    "{broker}/bootstrap: Connect to ipv4#{broker} failed: Connection refused"
                );
                error(
                    &KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure),
                    &reason,
                );
                log(
                    RDKafkaLogLevel::Error,
                    "FAIL",
                    &format!("[thrd:{broker}/bootstrap]: {reason}"),
                );
            }
            captured.lines()
        });
        let level = |line: &String| line.split_whitespace().nth(1).unwrap_or("").to_owned();
        let about_the_broker: Vec<&String> = lines
            .iter()
            .filter(|line| line.contains(broker) || line.contains("brokers are down"))
            .collect();
        assert!(about_the_broker.len() >= 2, "{lines:#?}");
        assert!(
            lines.iter().all(|line| level(line) != "ERROR"),
            "{lines:#?}"
        );
        assert!(
            about_the_broker.iter().all(|line| level(line) == "WARN"),
            "{lines:#?}"
        );
        // One line per kind: the log line, the transport error, all brokers down.
        assert!(about_the_broker.len() <= 3, "{lines:#?}");
    }

    const REFUSED: &str = "[thrd:127.0.0.1:9092/bootstrap]: 127.0.0.1:9092/bootstrap: \
        Connect to ipv4#127.0.0.1:9092 failed: Connection refused (after 0ms in state CONNECT)";

    #[test]
    fn the_end_of_a_partition_is_debug() {
        let eof = KafkaError::Global(RDKafkaErrorCode::PartitionEOF);
        assert_eq!(
            classify_error(
                &eof,
                "Fetch from broker 1 reached end of partition at offset 7"
            )
            .level,
            Level::Debug
        );
        assert_eq!(
            classify_error(&KafkaError::PartitionEOF(3), "").level,
            Level::Debug
        );
    }

    #[test]
    fn a_broker_that_is_down_is_a_warning_held_back_per_broker() {
        let all_down = classify_error(
            &KafkaError::Global(RDKafkaErrorCode::AllBrokersDown),
            "1/1 brokers are down",
        );
        assert_eq!(all_down.level, Level::Warn);
        assert!(all_down.key.is_some());
        let transport = |broker: &str| {
            classify_error(
                &KafkaError::Global(RDKafkaErrorCode::BrokerTransportFailure),
                &format!(
                    "{broker}: Connect to ipv4#{broker} failed: Connection refused (after 3ms in state CONNECT)"
                ),
            )
        };
        assert_eq!(transport("10.0.0.1:9092/1").level, Level::Warn);
        assert_eq!(transport("10.0.0.1:9092/1"), transport("10.0.0.1:9092/1"));
        assert_ne!(
            transport("10.0.0.1:9092/1").key,
            transport("10.0.0.2:9092/2").key
        );
        let logged = classify_log(RDKafkaLogLevel::Error, "FAIL", REFUSED);
        assert_eq!(logged.level, Level::Warn);
        let again = REFUSED.replace("CONNECT)", "CONNECT, 4 identical error(s) suppressed)");
        assert_eq!(classify_log(RDKafkaLogLevel::Error, "FAIL", &again), logged);
    }

    #[test]
    fn fatal_and_unexpected_errors_are_errors() {
        let fatal = classify_error(
            &KafkaError::Global(RDKafkaErrorCode::Fatal),
            "Fatal error: Broker: Producer attempted an operation with an old epoch",
        );
        assert_eq!(fatal.level, Level::Error);
        let auth = classify_error(
            &KafkaError::Global(RDKafkaErrorCode::Authentication),
            "SASL authentication error",
        );
        assert_eq!(auth.level, Level::Error);
        let odd = classify_log(RDKafkaLogLevel::Error, "ASSIGN", "Group failed to assign");
        assert_eq!(odd.level, Level::Error);
        assert_eq!(
            classify_log(RDKafkaLogLevel::Critical, "X", "y").level,
            Level::Error
        );
        assert_eq!(
            classify_log(RDKafkaLogLevel::Debug, "FETCH", "z").level,
            Level::Debug
        );
    }

    #[test]
    fn the_broker_is_read_from_the_message() {
        assert_eq!(broker(REFUSED), "127.0.0.1:9092/bootstrap");
        assert_eq!(
            broker("kafka-2:9092/2: Disconnected (after 10ms in state UP)"),
            "kafka-2:9092/2"
        );
        assert_eq!(broker("1/1 brokers are down"), "");
        assert_eq!(broker("Group \"x\": unexpected"), "");
    }

    #[test]
    fn repeats_are_held_back_for_the_interval_and_then_counted() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut repeats = Repeats::new(Duration::from_secs(30));
        assert_eq!(repeats.check("a", at(0)), Some(0));
        for secs in 1..30 {
            assert_eq!(repeats.check("a", at(secs)), None, "at {secs} s");
        }
        assert_eq!(
            repeats.check("b", at(5)),
            Some(0),
            "another broker is its own"
        );
        assert_eq!(repeats.check("a", at(30)), Some(29));
        assert_eq!(repeats.check("a", at(31)), None);
        assert_eq!(repeats.check("a", at(100)), Some(1));
        assert_eq!(repeats.check("a", at(200)), Some(0));
    }

    #[test]
    fn stale_keys_are_forgotten_so_memory_stays_bounded() {
        let start = Instant::now();
        let mut repeats = Repeats::new(Duration::from_secs(30));
        for n in 0..MAX_KEYS * 3 {
            let now = start + Duration::from_secs(n as u64);
            assert_eq!(repeats.check(&format!("key {n}"), now), Some(0));
        }
        assert!(repeats.seen.len() <= MAX_KEYS);
    }
}
