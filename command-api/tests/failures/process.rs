//! Running command-api and a Kafka broker as child processes.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use platform::Role;
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::Value;
use testkit::fixtures::{Order, StoreProfile, menu};
use tokio::process::{Child, Command};

pub const PATIENCE: Duration = Duration::from_secs(60);
pub const STORE: &str = "fail-downtown";
pub const PARTITIONS: i32 = 3;

pub use testkit::brokers as shared_brokers;

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    testkit::free_port().unwrap()
}

pub fn token(role: Role, sub: &str) -> String {
    testkit::token(role, sub, &[]).unwrap()
}

/// A command-api process with its own topics and group.
pub struct Service {
    pub url: String,
    child: Child,
    env: Vec<(String, String)>,
}

impl Service {
    pub async fn start(brokers: &str, suffix: &str) -> Service {
        let port = free_port();
        let mut env: Vec<(String, String)> = vec![
            ("QSR_COMMAND_API_ADDR".into(), format!("127.0.0.1:{port}")),
            ("QSR_KAFKA_BROKERS".into(), brokers.into()),
            ("QSR_STORES_TOPIC".into(), format!("fail.{suffix}.stores")),
            ("QSR_ORDERS_TOPIC".into(), format!("fail.{suffix}.orders")),
            ("QSR_TOPIC_PARTITIONS".into(), PARTITIONS.to_string()),
            ("QSR_COMMAND_API_GROUP".into(), format!("fail-{suffix}")),
            (
                "QSR_TRANSACTIONAL_ID_PREFIX".into(),
                format!("fail-{suffix}"),
            ),
            ("QSR_TRANSACTION_TIMEOUT_MS".into(), "5000".into()),
            // The tests place many orders as one customer.
            ("QSR_PLACEMENTS_PER_MINUTE".into(), "1000000".into()),
            ("QSR_PLACEMENT_BURST".into(), "1000000".into()),
            ("RUST_LOG".into(), "warn".into()),
        ];
        // It trusts the test issuer, whose key set this process serves.
        env.extend(testkit::jwt_env());
        let child = spawn(&env);
        let service = Service {
            url: format!("http://127.0.0.1:{port}"),
            child,
            env,
        };
        service.wait_ready().await;
        service
    }

    pub fn env(&self, name: &str) -> String {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    }

    /// SIGKILL: no shutdown, no abort, no leaving the group.
    pub async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    /// SIGTERM: the graceful way down. Returns the exit status.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("the process is running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("command-api did not stop")
            .unwrap()
    }

    /// Starts the process again with the same settings.
    pub async fn restart(&mut self) {
        self.child = spawn(&self.env);
        self.wait_ready().await;
    }

    pub async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let ready = http
                .get(format!("{}/readyz", self.url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "command-api at {} never became ready",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Places a burger as `customer`, with an `Idempotency-Key` if given.
    pub async fn place(&self, customer: &str, key: Option<&str>) -> reqwest::Response {
        let mut request = reqwest::Client::new()
            .post(format!("{}/v1/orders", self.url))
            .bearer_auth(customer)
            .json(&burger());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send().await.unwrap()
    }

    /// Creates the test store with an all-day menu of one burger.
    pub async fn open_store(&self) {
        let http = reqwest::Client::new();
        let admin = token(Role::Admin, "admin");
        for (path, body) in [
            (
                format!("/v1/stores/{STORE}"),
                StoreProfile::named("Failing Downtown").body(),
            ),
            (format!("/v1/stores/{STORE}/menu"), menu()),
        ] {
            let response = http
                .put(format!("{}{path}", self.url))
                .bearer_auth(&admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), reqwest::StatusCode::OK);
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn spawn(env: &[(String, String)]) -> Child {
    testkit::spawn_service(env!("CARGO_BIN_EXE_command-api"), env).unwrap()
}

pub fn burger() -> Value {
    Order::at(STORE).body()
}

/// Every committed record of `topic` (read_committed): its envelope.
pub fn committed(brokers: &str, topic: &str) -> Vec<Value> {
    testkit::read_topic(brokers, topic, PARTITIONS)
        .unwrap()
        .into_iter()
        .map(|(_, _, _, body)| body)
        .collect()
}

/// A Kafka broker of the test's own, from the local stack's jars, so that it
/// can be killed without touching the broker other tests use.
pub struct Broker {
    pub address: String,
    /// Its data, configuration and log; removed on drop unless the test failed.
    dir: PathBuf,
    config: PathBuf,
    log: PathBuf,
    child: Child,
}

impl Drop for Broker {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("the test broker's files are kept in {:?}", self.dir);
            return;
        }
        // SIGKILL first, so that no broker thread writes into the folder as
        // it goes.
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn kafka_home() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../stack/kafka"))
}

/// `java` with the broker's class path and logging, appending to `log`;
/// returns the command and the open log file.
fn java(log: &std::path::Path) -> (Command, std::fs::File) {
    let lib = kafka_home().join("lib");
    assert!(
        lib.is_dir(),
        "no Kafka jars in {lib:?}: run `stack/stack.sh fetch` (make test does)"
    );
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut command = Command::new("java");
    command
        .arg("-Xmx512m")
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            kafka_home().join("log4j2.properties").display()
        ))
        .arg("-cp")
        .arg(format!("{}/*", lib.display()));
    (command, out)
}

/// Runs one of Kafka's tools to completion.
async fn kafka_tool(args: &[&str], log: &std::path::Path) -> std::process::Output {
    let (mut command, out) = java(log);
    command.args(args).stderr(out).output().await.unwrap()
}

impl Broker {
    pub async fn start() -> Broker {
        let dir =
            std::env::temp_dir().join(format!("qsr-broker-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let (port, controller) = (free_port(), free_port());
        let template = std::fs::read_to_string(kafka_home().join("server.properties.in")).unwrap();
        let config = dir.join("server.properties");
        std::fs::write(
            &config,
            template
                .replace("@DATA_DIR@", &dir.join("data").display().to_string())
                .replace("@BROKER_PORT@", &port.to_string())
                .replace("@CONTROLLER_PORT@", &controller.to_string()),
        )
        .unwrap();
        let log = dir.join("kafka.log");
        let id = kafka_tool(&["kafka.tools.StorageTool", "random-uuid"], &log).await;
        let id = String::from_utf8(id.stdout).unwrap().trim().to_owned();
        let formatted = kafka_tool(
            &[
                "kafka.tools.StorageTool",
                "format",
                "-t",
                &id,
                "-c",
                config.to_str().unwrap(),
            ],
            &log,
        )
        .await;
        assert!(
            formatted.status.success(),
            "formatting the test broker failed; see {log:?}"
        );
        let child = Self::spawn(&config, &log);
        let broker = Broker {
            address: format!("127.0.0.1:{port}"),
            dir,
            config,
            log,
            child,
        };
        broker.wait_ready().await;
        broker
    }

    fn spawn(config: &std::path::Path, log: &std::path::Path) -> Child {
        let (mut command, out) = java(log);
        command
            .arg("kafka.Kafka")
            .arg(config)
            .stdout(out)
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    }

    /// Waits until a metadata request lists the broker.
    pub async fn wait_ready(&self) {
        let address = self.address.clone();
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = ClientConfig::new()
                .set("bootstrap.servers", &address)
                .create()
                .unwrap();
            let deadline = std::time::Instant::now() + PATIENCE;
            while consumer
                .fetch_metadata(None, Duration::from_secs(1))
                .map_or(true, |m| m.brokers().is_empty())
            {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the test broker never started; see {log:?}"
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .await
        .unwrap();
    }

    pub async fn kill(&mut self) {
        self.child.kill().await.unwrap();
    }

    pub async fn restart(&mut self) {
        self.child = Self::spawn(&self.config, &self.log);
        self.wait_ready().await;
    }
}
