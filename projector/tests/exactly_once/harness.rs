//! What both scenarios share: unique topics and databases, the projector as a
//! child process that can be killed with SIGKILL, and bounded waits that poll
//! the projector's stored offsets.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use platform::KafkaArgs;
use tokio::process::{Child, Command};

pub use testkit::{admin_database_url as shared_database_url, brokers, connect, with_database};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    testkit::free_port().unwrap()
}

/// How long a bounded wait waits before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);
/// How often a bounded wait looks again.
pub const POLL: Duration = Duration::from_millis(100);
/// Partitions of each topic: fewer than stores, so partitions hold several.
pub const PARTITIONS: i32 = 3;

/// Creates the database `name` on the server of `url`.
pub async fn create_database(url: &str, name: &str) {
    connect(url)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}; is the stack up?"))
        .execute(&format!("create database {name}"), &[])
        .await
        .unwrap();
}

pub async fn drop_database(url: &str, name: &str) {
    connect(url)
        .await
        .unwrap()
        .execute(&format!("drop database if exists {name} with (force)"), &[])
        .await
        .unwrap();
}

/// One scenario's names: its topics, group, database and working folder.
pub struct Run {
    pub suffix: String,
    pub kafka: KafkaArgs,
    pub dead_letter_topic: String,
    pub database: String,
    /// Logs of the processes the test starts.
    pub dir: PathBuf,
}

impl Run {
    /// Unique names, and the topics created.
    pub async fn new(name: &str) -> Run {
        let suffix = format!("{name}_{}", uuid::Uuid::new_v4().simple());
        let kafka = KafkaArgs {
            brokers: brokers(),
            stores_topic: format!("eo.{suffix}.stores"),
            orders_topic: format!("eo.{suffix}.orders"),
            partitions: PARTITIONS,
            replication: 1,
        };
        platform::ensure_topics(&kafka).await.unwrap();
        let dir = std::env::temp_dir().join(format!("qsr-eo-{suffix}"));
        std::fs::create_dir_all(&dir).unwrap();
        Run {
            dead_letter_topic: format!("eo.{suffix}.dead-letter"),
            database: format!("eo_{suffix}"),
            suffix,
            kafka,
            dir,
        }
    }

    /// The projector's settings for the read models at `database_url`.
    pub fn projector_env(&self, database_url: &str) -> Vec<(String, String)> {
        [
            ("QSR_KAFKA_BROKERS", self.kafka.brokers.clone()),
            ("QSR_STORES_TOPIC", self.kafka.stores_topic.clone()),
            ("QSR_ORDERS_TOPIC", self.kafka.orders_topic.clone()),
            ("QSR_TOPIC_PARTITIONS", PARTITIONS.to_string()),
            ("DATABASE_URL", database_url.to_owned()),
            ("QSR_DB_POOL_SIZE", "4".to_owned()),
            ("QSR_PROJECTOR_GROUP", format!("eo-{}", self.suffix)),
            ("QSR_DEAD_LETTER_TOPIC", self.dead_letter_topic.clone()),
            ("RUST_LOG", "warn".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

/// The real `projector` binary as a child process.
pub struct Projector {
    child: Child,
    env: Vec<(String, String)>,
    log: PathBuf,
    pub starts: usize,
}

impl Projector {
    pub fn start(env: Vec<(String, String)>, log: PathBuf) -> Projector {
        let child = spawn(&env, &log);
        Projector {
            child,
            env,
            log,
            starts: 1,
        }
    }

    /// SIGKILL: no shutdown, no rollback but the one Postgres does itself.
    pub async fn kill(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "the projector had died by itself ({status}); see {:?}",
                self.log
            );
        }
        self.child.kill().await.unwrap();
    }

    /// Starts the process again, with a new batch size so that batches end
    /// at other offsets than before.
    pub fn restart(&mut self) {
        self.child = spawn(&self.env, &self.log);
        self.starts += 1;
    }

    /// Fails the test if the projector is no longer running.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the projector died ({status}); see {:?}", self.log);
        }
    }

    pub fn log(&self) -> &PathBuf {
        &self.log
    }
}

fn spawn(env: &[(String, String)], log: &PathBuf) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let batch_max = [1, 7, 50, 200, 1000][fastrand::usize(0..5)];
    Command::new(env!("CARGO_BIN_EXE_projector"))
        .envs(env.iter().cloned())
        .env("QSR_PROJECTOR_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("QSR_PROJECTOR_BATCH_MAX", batch_max.to_string())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// The projector's stored offsets, or `None` while the database (or the
/// table, before the first migration) cannot be read.
pub async fn stored_offsets(database_url: &str) -> Option<BTreeMap<(String, i32), i64>> {
    let client = connect(database_url).await.ok()?;
    let rows = client
        .query(
            "select topic, partition, next_offset from projector_offsets",
            &[],
        )
        .await
        .ok()?;
    Some(
        rows.iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect(),
    )
}

/// All the offsets the projector stored, added up: grows with its progress.
pub async fn progress(database_url: &str) -> Option<i64> {
    stored_offsets(database_url)
        .await
        .map(|offsets| offsets.values().sum())
}

/// Waits (bounded) until the projector has stored progress beyond `past`,
/// and answers the new progress.
pub async fn wait_for_progress(database_url: &str, past: i64, projector: &mut Projector) -> i64 {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(now) = progress(database_url).await
            && now > past
        {
            return now;
        }
        projector.assert_running();
        assert!(
            tokio::time::Instant::now() < deadline,
            "the projector made no progress past {past} in {PATIENCE:?}; see {:?}",
            projector.log()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits (bounded) until the stored offsets are exactly `ends`: the projector
/// has applied every committed record of every partition.
pub async fn wait_until_caught_up(
    database_url: &str,
    ends: &BTreeMap<(String, i32), i64>,
    projector: &mut Projector,
) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let stored = stored_offsets(database_url).await;
        if stored.as_ref() == Some(ends) {
            return;
        }
        if let Some(stored) = &stored {
            for (partition, offset) in stored {
                let end = ends.get(partition).copied().unwrap_or(0);
                assert!(
                    *offset <= end,
                    "the projector stored offset {offset} for {partition:?}, past the last \
                     committed record's next offset {end}"
                );
            }
        }
        projector.assert_running();
        assert!(
            tokio::time::Instant::now() < deadline,
            "the projector did not catch up in {PATIENCE:?}: stored {stored:?}, \
             expected {ends:?}; see {:?}",
            projector.log()
        );
        tokio::time::sleep(POLL).await;
    }
}

/// A pause of random length in `range` (milliseconds): where in its work
/// the projector or Postgres is hit is left to chance.
pub async fn random_moment(range: std::ops::Range<u64>) {
    tokio::time::sleep(Duration::from_millis(fastrand::u64(range))).await;
}
