//! The bridge as a child process, killed with SIGKILL in the middle of
//! deliveries: after a restart nothing is lost, and nothing that was recorded
//! as delivered is sent again. Also: `--help`, and a bad settings file.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::helpers::{KDS_SECRET, PATIENCE, TestEnv, spawn_env};
use crate::kds::TestKds;

const BIN: &str = env!("CARGO_BIN_EXE_pos-bridge");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The bridge process and how to start it again.
struct Process {
    url: String,
    env: Vec<(String, String)>,
    child: Child,
}

impl Process {
    async fn start(env: &TestEnv, settings_file: &std::path::Path) -> Process {
        let port = free_port();
        let vars = vec![
            (
                "QSR_POS_BRIDGE_ADDR".to_owned(),
                format!("127.0.0.1:{port}"),
            ),
            ("QSR_KAFKA_BROKERS".to_owned(), env.kafka.brokers.clone()),
            (
                "QSR_STORES_TOPIC".to_owned(),
                env.kafka.stores_topic.clone(),
            ),
            (
                "QSR_ORDERS_TOPIC".to_owned(),
                env.kafka.orders_topic.clone(),
            ),
            (
                "QSR_TOPIC_PARTITIONS".to_owned(),
                env.kafka.partitions.to_string(),
            ),
            ("DATABASE_URL".to_owned(), env.postgres.database_url.clone()),
            (
                "QSR_POS_BRIDGE_GROUP".to_owned(),
                format!("bridge-test-{}-child", env.suffix),
            ),
            (
                "QSR_POS_BRIDGE_CONFIG".to_owned(),
                settings_file.display().to_string(),
            ),
            ("RUST_LOG".to_owned(), "warn".to_owned()),
        ];
        let child = spawn(&vars);
        let process = Process {
            url: format!("http://127.0.0.1:{port}"),
            env: vars,
            child,
        };
        env.wait_ready(&process.url).await;
        process
    }

    /// SIGKILL: no shutdown, no last commit.
    async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    async fn restart(&mut self, env: &TestEnv) {
        self.child = spawn(&self.env);
        env.wait_ready(&self.url).await;
    }
}

fn spawn(vars: &[(String, String)]) -> Child {
    Command::new(BIN)
        .envs(vars.iter().cloned())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_nothing_is_lost_and_nothing_recorded_is_sent_twice() {
    let env = spawn_env().await;
    let stores = ["crash-a", "crash-b", "crash-c", "crash-d"];
    let mut displays = HashMap::new();
    let mut file = format!("command_api_url = \"{}\"\n", env.command_api);
    file.push_str(&format!(
        "dead_letter_topic = \"{}\"\nmax_attempts = 1000\nbackoff_initial_ms = 50\nbackoff_max_ms = 300\n",
        env.dead_letter_topic
    ));
    for store in stores {
        env.open_store(store).await;
        let kds = TestKds::start().await;
        // Slow displays, so the kill lands in the middle of deliveries.
        kds.set_delay(Duration::from_millis(40));
        file.push_str(&format!(
            "[stores.{store}]\nkds = [{{ url = \"{}\", secret = \"{KDS_SECRET}\" }}]\n",
            kds.url
        ));
        displays.insert(store, kds);
    }
    let settings_file = std::env::temp_dir().join(format!("pos-bridge-{}.toml", env.suffix));
    std::fs::write(&settings_file, file).unwrap();
    let mut bridge = Process::start(&env, &settings_file).await;

    let mut expected: HashMap<&str, HashSet<String>> = HashMap::new();
    for _ in 0..10 {
        for store in stores {
            let order_id = env.place(store, None).await;
            let ids = expected.entry(store).or_default();
            ids.insert(format!("{order_id}:order"));
            ids.insert(format!("{order_id}:kitchen"));
        }
    }
    let total: usize = expected.values().map(HashSet::len).sum();
    assert_eq!(total, 80);
    let received = || displays.values().map(|k| k.received().len()).sum::<usize>();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while received() < 16 {
        assert!(tokio::time::Instant::now() < deadline, "no deliveries");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bridge.kill().await;

    // What the bridge had recorded as delivered when it died.
    let db = env.db().await;
    let recorded: HashSet<(String, String)> = db
        .query(
            "select ticket_id, sink from bridge_tickets where state = 'delivered'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(
        !recorded.is_empty() && recorded.len() < total,
        "killed at {} of {total}",
        recorded.len()
    );
    for kds in displays.values() {
        kds.next_epoch();
    }
    bridge.restart(&env).await;

    for (store, ids) in &expected {
        let kds = &displays[store];
        for id in ids {
            kds.wait_for(id).await;
        }
        let sink = format!("kds:{}", kds.url);
        let receptions = kds.received();
        for r in &receptions {
            assert!(
                ids.contains(&r.ticket_id),
                "{store} got a stranger: {}",
                r.ticket_id
            );
            if r.epoch == 1 {
                assert!(
                    !recorded.contains(&(r.ticket_id.clone(), sink.clone())),
                    "{} was recorded as delivered yet sent again after the restart",
                    r.ticket_id
                );
            }
        }
        // At most the one ticket in flight at the kill arrives twice.
        let duplicates = receptions.len() - ids.len();
        assert!(duplicates <= 1, "{store}: {duplicates} duplicates");
        // Each display got its tickets in the order they were queued.
        let order_tickets: Vec<_> = receptions
            .iter()
            .filter(|r| r.body["kind"] == "order")
            .map(|r| r.ticket_id.clone())
            .collect();
        let mut deduped = order_tickets.clone();
        deduped.dedup();
        assert_eq!(deduped.len(), ids.len() / 2, "{store}: {order_tickets:?}");
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
    env.stop().await;
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
