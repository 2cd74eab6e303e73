//! The bridge as a child process, killed with SIGKILL again and again while
//! orders keep coming (so in the middle of deliveries and of consuming):
//! after the restarts nothing is lost, nothing that was recorded as delivered
//! is sent again, and each display sees its queue in order. Also: `--help`,
//! and a bad settings file.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::helpers::{KDS_SECRET, PATIENCE, System, place, spawn_env, store_profile};
use crate::kds::{Received, TestKds};

const BIN: &str = env!("CARGO_BIN_EXE_pos-bridge");

fn free_port() -> u16 {
    testkit::free_port().unwrap()
}

/// The bridge process and how to start it again.
struct Process {
    url: String,
    env: Vec<(String, String)>,
    child: Child,
}

impl Process {
    async fn start(env: &System, settings_file: &std::path::Path) -> Process {
        let port = free_port();
        let vars = vec![
            (
                "QSR_POS_BRIDGE_ADDR".to_owned(),
                format!("127.0.0.1:{port}"),
            ),
            (
                "QSR_KAFKA_BROKERS".to_owned(),
                env.scratch.kafka.brokers.clone(),
            ),
            (
                "QSR_STORES_TOPIC".to_owned(),
                env.scratch.kafka.stores_topic.clone(),
            ),
            (
                "QSR_ORDERS_TOPIC".to_owned(),
                env.scratch.kafka.orders_topic.clone(),
            ),
            (
                "QSR_TOPIC_PARTITIONS".to_owned(),
                env.scratch.kafka.partitions.to_string(),
            ),
            (
                "DATABASE_URL".to_owned(),
                env.scratch.postgres.database_url.clone(),
            ),
            (
                "QSR_POS_BRIDGE_GROUP".to_owned(),
                format!("bridge-test-{}-child", env.scratch.suffix),
            ),
            (
                "QSR_POS_BRIDGE_CONFIG".to_owned(),
                settings_file.display().to_string(),
            ),
            // Static membership: each restart takes the partitions back at
            // once rather than after the dead member's session timeout.
            (
                "QSR_POS_BRIDGE_INSTANCE_ID".to_owned(),
                format!("bridge-test-{}-child", env.scratch.suffix),
            ),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        let child = spawn(&vars);
        let process = Process {
            url: format!("http://127.0.0.1:{port}"),
            env: vars,
            child,
        };
        env.wait_ready(&process.url).await.unwrap();
        process
    }

    /// SIGKILL: no shutdown, no last commit.
    async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    async fn restart(&mut self, env: &System) {
        self.child = spawn(&self.env);
        env.wait_ready(&self.url).await.unwrap();
    }
}

fn spawn(vars: &[(String, String)]) -> Child {
    testkit::spawn_service(BIN, vars).unwrap()
}

/// How many times the bridge is killed while orders keep coming.
const KILLS: u32 = 3;
/// The pace of the orders, across the stores.
const ORDER_EVERY: Duration = Duration::from_millis(25);

/// The (ticket, sink) pairs that `bridge_tickets` records as delivered.
async fn recorded_deliveries(db: &tokio_postgres::Client) -> HashSet<(String, String)> {
    db.query(
        "select ticket_id, sink from bridge_tickets where state = 'delivered'",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_again_and_again_while_orders_arrive_it_loses_nothing_and_resends_only_the_unrecorded()
 {
    let env = spawn_env().await;
    let stores = ["crash-a", "crash-b", "crash-c", "crash-d"];
    let mut displays = HashMap::new();
    let mut file = format!("command_api_url = \"{}\"\n", env.command_api());
    file.push_str(&format!(
        "dead_letter_topic = \"{}\"\nmax_attempts = 1000\nbackoff_initial_ms = 50\nbackoff_max_ms = 300\n",
        env.bridge_dead_letter_topic()
    ));
    for store in stores {
        env.open_store(store, &store_profile(store)).await;
        let kds = TestKds::start().await;
        // Slow displays, so a kill is likely to land between a send and its
        // record.
        kds.set_delay(Duration::from_millis(15));
        file.push_str(&format!(
            "[stores.{store}]\nkds = [{{ url = \"{}\", secret = \"{KDS_SECRET}\" }}]\n",
            kds.url
        ));
        displays.insert(store, kds);
    }
    let settings_file =
        std::env::temp_dir().join(format!("pos-bridge-{}.toml", env.scratch.suffix));
    std::fs::write(&settings_file, file).unwrap();
    let mut bridge = Process::start(&env, &settings_file).await;
    let db = env.db().await;
    let received = || displays.values().map(|k| k.received().len()).sum::<usize>();

    // Orders keep coming, round the stores, while the bridge is killed and
    // restarted: some events are consumed just before a kill, some while it
    // is down, some by each new run.
    let placed: std::sync::Mutex<Vec<(&str, uuid::Uuid)>> = std::sync::Mutex::default();
    let placed_count = || placed.lock().unwrap().len();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let placing = async {
        let mut pace = tokio::time::interval(ORDER_EVERY);
        for store in stores.iter().cycle() {
            if stop.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            pace.tick().await;
            let order_id = place(&env, store, None).await;
            placed.lock().unwrap().push((*store, order_id));
        }
    };
    // `recorded[k]`: what the bridge had recorded as delivered when it was
    // killed for the (k + 1)th time; the displays' epoch k + 1 is the run
    // after that kill.
    let killing = async {
        let mut recorded = Vec::new();
        for kill in 1..=KILLS {
            // A random moment in the middle of this run's deliveries.
            let at = received() + fastrand::usize(1..=12);
            let deadline = tokio::time::Instant::now() + PATIENCE;
            while received() < at {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "run {kill} delivered nothing"
                );
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            bridge.kill().await;
            let placed_at_kill = placed_count();
            recorded.push(recorded_deliveries(&db).await);
            for kds in displays.values() {
                kds.next_epoch();
            }
            bridge.restart(&env).await;
            assert!(
                placed_count() > placed_at_kill,
                "no order was placed while the bridge was down after kill {kill}"
            );
        }
        // The last run takes new orders too before they stop.
        let at = received() + 20;
        crate::helpers::eventually("deliveries after the last restart", || async {
            (received() >= at).then_some(())
        })
        .await;
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        recorded
    };
    let ((), recorded) = tokio::join!(placing, killing);
    let placed = placed.into_inner().unwrap();

    let mut expected: HashMap<&str, HashSet<String>> = HashMap::new();
    for (store, order_id) in &placed {
        let ids = expected.entry(store).or_default();
        ids.insert(format!("{order_id}:order"));
        ids.insert(format!("{order_id}:kitchen"));
    }
    for (store, ids) in &expected {
        let kds = &displays[store];
        // No ticket is lost.
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let got: HashSet<String> = kds.received().into_iter().map(|r| r.ticket_id).collect();
            let missing: Vec<_> = ids.difference(&got).collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{store} never got {missing:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let sink = format!("kds:{}", kds.url);
        let seqs: HashMap<String, i64> = db
            .query(
                "select ticket_id, seq from bridge_tickets where sink = $1",
                &[&sink],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let receptions = kds.received();
        let mut previous: Option<(i64, &Received)> = None;
        for r in &receptions {
            assert!(
                ids.contains(&r.ticket_id),
                "{store} got a stranger: {}",
                r.ticket_id
            );
            // Nothing recorded as delivered at a kill is sent after it.
            for (kill, delivered) in recorded.iter().enumerate().take(r.epoch as usize) {
                assert!(
                    !delivered.contains(&(r.ticket_id.clone(), sink.clone())),
                    "{} was recorded as delivered at kill {} yet sent again in run {}",
                    r.ticket_id,
                    kill + 1,
                    r.epoch
                );
            }
            // The display sees its queue in `seq` order. The one ticket sent
            // but not yet recorded when the bridge died comes again first
            // after a restart; nothing else repeats, and nothing overtakes.
            let seq = seqs[&r.ticket_id];
            if let Some((before, b)) = previous {
                assert!(
                    seq > before || (seq == before && r.epoch > b.epoch),
                    "{store}: {} (seq {seq}, run {}) came after {} (seq {before}, run {})",
                    r.ticket_id,
                    r.epoch,
                    b.ticket_id,
                    b.epoch
                );
            }
            previous = Some((seq, r));
        }
    }
    // Every ticket ends recorded as delivered (the last record may trail its
    // delivery by a moment).
    crate::helpers::eventually("every ticket recorded as delivered", || async {
        let undelivered: i64 = db
            .query_one(
                "select count(*) from bridge_tickets where state <> 'delivered'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        (undelivered == 0).then_some(())
    })
    .await;
    bridge.kill().await;
    std::fs::remove_file(&settings_file).unwrap();
    env.stop().await.unwrap();
}

#[tokio::test]
async fn every_command_answers_help() {
    for args in [
        &["--help"][..],
        &["replay", "--help"],
        &["print-sink", "--help"],
    ] {
        let output = Command::new(BIN).args(args).output().await.unwrap();
        assert!(output.status.success(), "{args:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(text.contains("Usage: pos-bridge"), "{text}");
    }
    let help = Command::new(BIN).arg("--help").output().await.unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("QSR_POS_BRIDGE_CONFIG"), "{text}");
}

#[tokio::test]
async fn a_bad_settings_file_stops_the_bridge_with_a_clear_error() {
    let path = std::env::temp_dir().join(format!("pos-bridge-bad-{}.toml", uuid::Uuid::new_v4()));
    std::fs::write(
        &path,
        "command_api_url = \"http://127.0.0.1:1\"\n[stores.s1]\nprep_minutes = \"ten\"\n",
    )
    .unwrap();
    let output = Command::new(BIN)
        .env("QSR_POS_BRIDGE_CONFIG", &path)
        .env("QSR_POS_BRIDGE_ADDR", "127.0.0.1:0")
        .output()
        .await
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains(&path.display().to_string()), "{stderr}");
    assert!(stderr.contains("prep_minutes"), "{stderr}");
    let missing = Command::new(BIN)
        .env("QSR_POS_BRIDGE_CONFIG", "/nonexistent/pos-bridge.toml")
        .output()
        .await
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        String::from_utf8(missing.stderr)
            .unwrap()
            .contains("/nonexistent/pos-bridge.toml")
    );
}
