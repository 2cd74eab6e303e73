//! `spawn_system()`: the whole system on port 0 with unique topics and a unique
//! database, and helpers to talk to it.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use platform::{AuthArgs, DEVELOPMENT_SECRET, KafkaArgs, Role};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Headers;
use rdkafka::{Message, Offset, TopicPartitionList};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use testkit::admin_client;

/// A token for the test services; see `testkit::token`.
pub fn token(role: Role, sub: &str, stores: &[&str]) -> String {
    testkit::token(role, sub, stores).unwrap()
}

/// How long a test waits for something that should happen at once.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The running services and what the test needs to reach them.
pub struct TestSystem {
    pub command_api: String,
    pub query_api: String,
    /// pos-bridge's feedback API; requests for the test store are signed
    /// with [`FEEDBACK_SECRET`].
    pub bridge: String,
    pub kafka: KafkaArgs,
    /// Where the projector puts records it cannot take.
    pub dead_letter_topic: String,
    /// Where the bridge sends tickets: the test's stand-in printer.
    pub printer: TcpListener,
    pub http: reqwest::Client,
    /// A token per role; staff and pos tokens are for the store `e2e-downtown`.
    pub customer: String,
    pub other_customer: String,
    pub staff: String,
    pub pos: String,
    pub admin: String,
    /// The settings of the first command-api, for starting more instances.
    pub command_config: command_api::Config,
    /// The read models' database, for starting more query-api instances and
    /// for breaking it on purpose.
    pub postgres: platform::PostgresArgs,
    database: String,
    cancel: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

async fn bind() -> anyhow::Result<TcpListener> {
    TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding port 0")
}

fn spawn<F>(
    tasks: &mut Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
    name: &'static str,
    f: F,
) where
    F: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    tasks.push((name, tokio::spawn(f)));
}

pub async fn spawn_system() -> anyhow::Result<TestSystem> {
    spawn_system_with(86_400).await
}

/// The system with command-api keeping ended orders `retention_secs` in memory.
pub async fn spawn_system_with(retention_secs: u64) -> anyhow::Result<TestSystem> {
    let testkit::Scratch {
        suffix,
        database,
        kafka,
        postgres,
    } = testkit::scratch("test", 4).await?;
    let printer = bind().await?;
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();

    let (command_listener, query_listener) = (bind().await?, bind().await?);
    let command_api = format!("http://{}", command_listener.local_addr()?);
    let query_api = format!("http://{}", query_listener.local_addr()?);
    let command_config = command_api::Config {
        addr: command_listener.local_addr()?,
        kafka: kafka.clone(),
        group: format!("test-{suffix}-command-api"),
        transactional_id_prefix: format!("test-{suffix}"),
        auth: AuthArgs {
            jwt_secret: DEVELOPMENT_SECRET.into(),
        },
        batch_max: 64,
        transaction_timeout_ms: 10_000,
        ended_order_retention_secs: retention_secs,
        gateway_timeout_ms: 300,
        http: platform::HttpLimits::default(),
        // The tests place many orders as one customer.
        limits: command_api::Limits {
            placements_per_minute: 1_000_000,
            placement_burst: 1_000_000,
            ..command_api::Limits::default()
        },
    };
    let command_template = command_config.clone();
    spawn(
        &mut tasks,
        "command-api",
        command_api::run(
            command_config,
            command_listener,
            cancel.clone().cancelled_owned(),
        ),
    );
    let dead_letter_topic = format!("test.{suffix}.dead-letter");
    let projector_listener = bind().await?;
    let projector_url = format!("http://{}", projector_listener.local_addr()?);
    let projector_config = projector::Config {
        addr: projector_listener.local_addr()?,
        kafka: kafka.clone(),
        postgres: postgres.clone(),
        group: format!("test-{suffix}-projector"),
        batch_max: 500,
        dead_letter_topic: dead_letter_topic.clone(),
        http: platform::HttpLimits::default(),
    };
    spawn(
        &mut tasks,
        "projector",
        projector::run(
            projector_config,
            projector_listener,
            cancel.clone().cancelled_owned(),
        ),
    );
    let query_config = query_api::Config {
        addr: query_listener.local_addr()?,
        postgres: postgres.clone(),
        auth: AuthArgs {
            jwt_secret: DEVELOPMENT_SECRET.into(),
        },
        http: platform::HttpLimits::default(),
        streams_per_caller: 8,
    };
    spawn(
        &mut tasks,
        "query-api",
        query_api::run(
            query_config,
            query_listener,
            cancel.clone().cancelled_owned(),
        ),
    );
    let bridge_listener = bind().await?;
    let bridge_url = format!("http://{}", bridge_listener.local_addr()?);
    let bridge_config = pos_bridge::Config {
        addr: bridge_listener.local_addr()?,
        kafka: kafka.clone(),
        postgres: postgres.clone(),
        group: format!("test-{suffix}-bridge"),
        instance_id: None,
        settings_file: "unused.toml".into(),
        http: platform::HttpLimits::default(),
    };
    // The test store's kitchen is the test's printer; nothing else is sent.
    // Its feedback is signed with FEEDBACK_SECRET and sent with a pos token.
    let mut bridge_settings = pos_bridge::Settings::new(command_api.clone());
    bridge_settings.dead_letter_topic = format!("test.{suffix}.bridge-dead-letter");
    bridge_settings.stores.insert(
        STORE.to_owned(),
        pos_bridge::StoreSettings {
            timezone: None,
            prep_minutes: 0,
            auto_accept: false,
            pos_token: Some(pos_bridge::Secret::new(token(
                Role::Pos,
                "pos-bridge",
                &[STORE],
            ))),
            feedback_secret: Some(pos_bridge::Secret::new(FEEDBACK_SECRET)),
            printers: vec![printer.local_addr()?.to_string()],
            kds: Vec::new(),
        },
    );
    spawn(
        &mut tasks,
        "pos-bridge",
        pos_bridge::run(
            bridge_config,
            bridge_settings,
            bridge_listener,
            cancel.clone().cancelled_owned(),
        ),
    );

    let mut system = TestSystem {
        command_api,
        query_api,
        bridge: bridge_url,
        kafka,
        dead_letter_topic,
        printer,
        http: reqwest::Client::new(),
        customer: token(Role::Customer, "cust-1", &[]),
        other_customer: token(Role::Customer, "cust-2", &[]),
        staff: token(Role::Staff, "staff-1", &["e2e-downtown"]),
        pos: token(Role::Pos, "pos-1", &["e2e-downtown"]),
        admin: token(Role::Admin, "admin-1", &[]),
        command_config: command_template,
        postgres,
        database,
        cancel,
        tasks,
    };
    for url in [
        system.command_api.clone(),
        system.query_api.clone(),
        projector_url,
        system.bridge.clone(),
    ] {
        system.wait_ready(&url).await?;
    }
    Ok(system)
}

impl TestSystem {
    /// Sends a command to command-api as the bearer of `token`.
    pub async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.http
            .request(method, format!("{}{path}", self.command_api))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.command(reqwest::Method::POST, path, token, body).await
    }

    /// Places `body` as the test customer, expecting `201`; answers the
    /// order's id.
    pub async fn place(&self, body: &serde_json::Value) -> String {
        let placed = expect(
            self.post("/v1/orders", &self.customer, body).await,
            StatusCode::CREATED,
            None,
        )
        .await;
        placed["order_id"].as_str().unwrap().to_owned()
    }

    pub async fn put(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.command(reqwest::Method::PUT, path, token, body).await
    }

    /// Reads `path` from query-api as the bearer of `token` (none if empty).
    pub async fn read(&self, path: &str, token: &str) -> reqwest::Response {
        self.read_with(path, token, &[]).await
    }

    /// `read` with request headers, e.g. `If-None-Match` or `Last-Event-ID`.
    pub async fn read_with(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.query_api));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// Starts another command-api instance in the same group; it runs until
    /// `stop` is cancelled.
    pub async fn another_command_api(
        &self,
        stop: CancellationToken,
    ) -> (String, JoinHandle<anyhow::Result<()>>) {
        let listener = bind().await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let config = command_api::Config {
            addr: listener.local_addr().unwrap(),
            ..self.command_config.clone()
        };
        let task = tokio::spawn(command_api::run(config, listener, stop.cancelled_owned()));
        (url, task)
    }

    /// Polls `/readyz` until it answers 200, failing early if a service died.
    pub async fn wait_ready(&mut self, base: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(i) = self.tasks.iter().position(|(_, task)| task.is_finished()) {
                let (name, task) = self.tasks.swap_remove(i);
                let outcome = match task.await {
                    Ok(Ok(())) => "stopped".to_owned(),
                    Ok(Err(error)) => format!("failed: {error:#}"),
                    Err(error) => format!("panicked: {error}"),
                };
                anyhow::bail!("{name} exited while starting: {outcome}");
            }
            let ok = self
                .http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "{base} not ready in {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops every service, checks that each stopped cleanly, and removes the
    /// test's database and topics.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.cancel.cancel();
        for (name, task) in self.tasks {
            task.await
                .with_context(|| format!("{name} panicked"))?
                .with_context(|| format!("{name} failed"))?;
        }
        admin_client()
            .await?
            .execute(
                &format!("drop database if exists {} with (force)", self.database),
                &[],
            )
            .await
            .context("dropping the test database")?;
        let admin: AdminClient<DefaultClientContext> = self
            .kafka
            .client_config()
            .create()
            .context("creating a Kafka admin client")?;
        admin
            .delete_topics(
                &[
                    &self.kafka.stores_topic,
                    &self.kafka.orders_topic,
                    &self.dead_letter_topic,
                    &self
                        .dead_letter_topic
                        .replace(".dead-letter", ".bridge-dead-letter"),
                ],
                &AdminOptions::new(),
            )
            .await
            .context("deleting the test topics")?;
        Ok(())
    }
}

pub const STORE: &str = "e2e-downtown";

/// The test store's feedback secret at pos-bridge.
pub const FEEDBACK_SECRET: &str = "e2e-feedback-secret-0123456789";

pub fn store_body(max_orders_per_slot: u32) -> Value {
    // Open around the clock, so the test passes whenever it runs.
    let hours = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .map(|day| json!({"day": day, "open": "00:00", "close": "00:00"}));
    json!({
        "name": "E2E Downtown",
        "timezone": "America/New_York",
        "currency": "USD",
        "tax_rate_bps": 875,
        "hours": hours,
        "pickup": {"slot_minutes": 15, "lead_minutes": 10, "max_orders_per_slot": max_orders_per_slot, "max_days_ahead": 7}
    })
}

pub fn menu_body() -> Value {
    let usd = |amount: i64| json!({"amount": amount, "currency": "USD"});
    json!({"categories": [{
        "id": "burgers", "name": "Burgers",
        "items": [{
            "id": "classic", "name": "Classic Burger", "price": usd(899),
            "modifier_groups": [{"id": "cheese", "name": "Cheese", "min": 0, "max": 1, "options": [
                {"id": "cheddar", "name": "Cheddar", "price_delta": usd(100)},
                {"id": "swiss", "name": "Swiss", "price_delta": usd(120)}
            ]}]
        }]
    }]})
}

impl TestSystem {
    /// Creates the test store and publishes its menu, as the admin.
    pub async fn open_store(&self, max_orders_per_slot: u32) {
        let store = self
            .put(
                &format!("/v1/stores/{STORE}"),
                &self.admin,
                &store_body(max_orders_per_slot),
            )
            .await;
        assert_eq!(store.status(), reqwest::StatusCode::OK);
        let menu = self
            .put(
                &format!("/v1/stores/{STORE}/menu"),
                &self.admin,
                &menu_body(),
            )
            .await;
        assert_eq!(menu.status(), reqwest::StatusCode::OK);
    }
}

/// Every record of `topic` up to its end, read_committed, as (key, partition,
/// type header, body).
pub fn read_topic(system: &TestSystem, topic: &str) -> Vec<(String, i32, String, Value)> {
    let consumer: BaseConsumer = system
        .kafka
        .client_config()
        .set("group.id", "e2e-reader")
        .set("isolation.level", "read_committed")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for p in 0..system.kafka.partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let (mut records, mut at_end) = (Vec::new(), 0);
    let deadline = std::time::Instant::now() + PATIENCE;
    while at_end < system.kafka.partitions {
        assert!(
            std::time::Instant::now() < deadline,
            "could not read {topic} to its end"
        );
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let key = String::from_utf8(m.key().unwrap().to_vec()).unwrap();
                let headers = m.headers().unwrap();
                let ce_type = headers
                    .iter()
                    .find(|h| h.key == schemas::TYPE_HEADER)
                    .map(|h| String::from_utf8(h.value.unwrap().to_vec()).unwrap())
                    .unwrap();
                let body = serde_json::from_slice(m.payload().unwrap()).unwrap();
                records.push((key, m.partition(), ce_type, body));
            }
            Some(Err(rdkafka::error::KafkaError::PartitionEOF(_))) => at_end += 1,
            Some(Err(e)) => panic!("reading {topic}: {e}"),
            None => {}
        }
    }
    records
}

/// Asserts the status and `code` of an answer, and returns its body.
/// What no route of the service at `base` takes is a problem too: `404
/// not_found` for an unknown path, `405 method_not_allowed` for `method` on
/// `path`.
pub async fn expect_fallbacks(http: &reqwest::Client, base: &str, method: Method, path: &str) {
    let unknown = http.get(format!("{base}/v1/nowhere")).send().await.unwrap();
    expect(unknown, StatusCode::NOT_FOUND, Some("not_found")).await;
    let wrong = http
        .request(method, format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    expect(
        wrong,
        StatusCode::METHOD_NOT_ALLOWED,
        Some("method_not_allowed"),
    )
    .await;
}

pub async fn expect(response: reqwest::Response, status: StatusCode, code: Option<&str>) -> Value {
    let actual = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(actual, status, "{body}");
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(
            content_type.as_deref(),
            Some("application/problem+json"),
            "{status}: {body}"
        );
    }
    if let Some(code) = code {
        assert_eq!(body["code"], code, "{body}");
    }
    body
}
