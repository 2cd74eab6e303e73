//! `spawn_env()`: command-api, the projector and query-api in process, on port
//! 0, with unique topics and a unique database; the bridge in process or as a
//! child; and helpers to place orders and read them back.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use platform::{AuthArgs, DEVELOPMENT_SECRET, KafkaArgs, PostgresArgs, Role};
use pos_bridge::{KdsSettings, Secret, Settings, StoreSettings};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long a test waits for something that should happen soon.
use testkit::admin_client;

/// A token for the test services; see `testkit::token`.
pub fn token(role: Role, sub: &str, stores: &[&str]) -> String {
    testkit::token(role, sub, stores).unwrap()
}

pub const PATIENCE: Duration = Duration::from_secs(30);
/// The secret of every test display.
pub const KDS_SECRET: &str = "test-kds-secret-0123456789";
/// The feedback secret of every test store.
pub const FEEDBACK_SECRET: &str = "test-feedback-secret-0123456789";

pub async fn bind() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").await.unwrap()
}

/// The system around the bridge.
pub struct TestEnv {
    pub suffix: String,
    pub kafka: KafkaArgs,
    pub postgres: PostgresArgs,
    pub command_api: String,
    pub query_api: String,
    pub http: reqwest::Client,
    pub admin: String,
    pub customer: String,
    pub dead_letter_topic: String,
    database: String,
    cancel: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>,
}

/// A bridge running in this process.
pub struct Bridge {
    pub url: String,
    cancel: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Bridge {
    /// Stops it gracefully and checks that it stopped cleanly.
    pub async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(PATIENCE, self.task)
            .await
            .expect("the bridge did not stop")
            .unwrap()
            .unwrap();
    }
}

pub async fn spawn_env() -> TestEnv {
    let testkit::Scratch {
        suffix,
        database,
        kafka,
        postgres,
    } = testkit::scratch("bridge-test", 8).await.unwrap();
    let cancel = CancellationToken::new();
    let mut tasks = Vec::new();
    let (command_listener, query_listener, projector_listener) =
        (bind().await, bind().await, bind().await);
    let command_api = format!("http://{}", command_listener.local_addr().unwrap());
    let query_api = format!("http://{}", query_listener.local_addr().unwrap());
    let projector_url = format!("http://{}", projector_listener.local_addr().unwrap());
    let command_config = command_api::Config {
        addr: command_listener.local_addr().unwrap(),
        kafka: kafka.clone(),
        group: format!("bridge-test-{suffix}-command-api"),
        transactional_id_prefix: format!("bridge-test-{suffix}"),
        auth: AuthArgs {
            jwt_secret: DEVELOPMENT_SECRET.into(),
        },
        batch_max: 64,
        transaction_timeout_ms: 10_000,
        ended_order_retention_secs: 86_400,
        gateway_timeout_ms: 300,
        http: platform::HttpLimits::default(),
        // The tests place many orders as one customer.
        limits: command_api::Limits {
            placements_per_minute: 1_000_000,
            placement_burst: 1_000_000,
            ..command_api::Limits::default()
        },
    };
    tasks.push((
        "command-api",
        tokio::spawn(command_api::run(
            command_config,
            command_listener,
            cancel.clone().cancelled_owned(),
        )),
    ));
    let projector_config = projector::Config {
        addr: projector_listener.local_addr().unwrap(),
        kafka: kafka.clone(),
        postgres: postgres.clone(),
        group: format!("bridge-test-{suffix}-projector"),
        batch_max: 500,
        dead_letter_topic: format!("bridge-test.{suffix}.projector-dead-letter"),
        http: platform::HttpLimits::default(),
    };
    tasks.push((
        "projector",
        tokio::spawn(projector::run(
            projector_config,
            projector_listener,
            cancel.clone().cancelled_owned(),
        )),
    ));
    let query_config = query_api::Config {
        addr: query_listener.local_addr().unwrap(),
        postgres: postgres.clone(),
        auth: AuthArgs {
            jwt_secret: DEVELOPMENT_SECRET.into(),
        },
        http: platform::HttpLimits::default(),
        streams_per_caller: 8,
    };
    tasks.push((
        "query-api",
        tokio::spawn(query_api::run(
            query_config,
            query_listener,
            cancel.clone().cancelled_owned(),
        )),
    ));
    let mut env = TestEnv {
        dead_letter_topic: format!("bridge-test.{suffix}.dead-letter"),
        suffix,
        kafka,
        postgres,
        command_api,
        query_api,
        http: reqwest::Client::new(),
        admin: token(Role::Admin, "admin-1", &[]),
        customer: token(Role::Customer, "cust-1", &[]),
        database,
        cancel,
        tasks,
    };
    for url in [
        env.command_api.clone(),
        env.query_api.clone(),
        projector_url,
    ] {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if env.tasks.iter().any(|(_, t)| t.is_finished()) {
                panic!("{}", exit_reason(&mut env.tasks).await);
            }
            let ok = env
                .http
                .get(format!("{url}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{url} not ready in time"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    env
}

/// The error of a service that exited, for the panic message.
async fn exit_reason(tasks: &mut Vec<(&'static str, JoinHandle<anyhow::Result<()>>)>) -> String {
    let Some(i) = tasks.iter().position(|(_, t)| t.is_finished()) else {
        return String::new();
    };
    let (name, task) = tasks.remove(i);
    match task.await {
        Ok(Ok(())) => format!("{name} stopped"),
        Ok(Err(e)) => format!("{name} failed: {e:#}"),
        Err(e) => format!("{name} panicked: {e}"),
    }
}

/// A store of the test: its settings for the bridge.
pub fn store_settings(
    store_id: &str,
    printers: &[String],
    kds: &[String],
    prep_minutes: u32,
    auto_accept: bool,
) -> StoreSettings {
    StoreSettings {
        timezone: None,
        prep_minutes,
        auto_accept,
        pos_token: Some(Secret::new(token(Role::Pos, "bridge", &[store_id]))),
        feedback_secret: Some(Secret::new(FEEDBACK_SECRET)),
        printers: printers.to_vec(),
        kds: kds
            .iter()
            .map(|url| KdsSettings {
                url: url.clone(),
                secret: Secret::new(KDS_SECRET),
            })
            .collect(),
    }
}

impl TestEnv {
    /// Bridge settings with quick retries.
    pub fn settings(&self, stores: Vec<(&str, StoreSettings)>) -> Settings {
        Settings {
            command_api_url: self.command_api.clone(),
            dead_letter_topic: self.dead_letter_topic.clone(),
            max_attempts: 1000,
            backoff_initial_ms: 50,
            backoff_max_ms: 300,
            printer_timeout_ms: 2000,
            webhook_timeout_ms: 5000,
            signature_tolerance_secs: 300,
            retention_days: 30,
            stores: stores
                .into_iter()
                .map(|(id, s)| (id.to_owned(), s))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    pub fn bridge_config(&self, addr: std::net::SocketAddr) -> pos_bridge::Config {
        pos_bridge::Config {
            addr,
            kafka: self.kafka.clone(),
            postgres: self.postgres.clone(),
            group: format!("bridge-test-{}-bridge", self.suffix),
            instance_id: None,
            settings_file: "unused.toml".into(),
            http: platform::HttpLimits::default(),
        }
    }

    /// Starts a bridge in process and waits until it is ready.
    pub async fn start_bridge(&self, settings: Settings) -> Bridge {
        let listener = bind().await;
        let url = format!("http://{}", listener.local_addr().unwrap());
        let config = self.bridge_config(listener.local_addr().unwrap());
        let cancel = CancellationToken::new();
        let task = tokio::spawn(pos_bridge::run(
            config,
            settings,
            listener,
            cancel.clone().cancelled_owned(),
        ));
        self.wait_ready(&url).await;
        Bridge { url, cancel, task }
    }

    pub async fn wait_ready(&self, base: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let ok = self
                .http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{base} not ready in time"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Creates a store open around the clock with one-minute slots and no
    /// lead time, and publishes the burger menu, as the admin.
    pub async fn open_store(&self, store_id: &str) {
        let hours = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .map(|day| json!({"day": day, "open": "00:00", "close": "00:00"}));
        let store = json!({
            "name": format!("Store {store_id}"), "timezone": "America/New_York", "currency": "USD",
            "tax_rate_bps": 875, "hours": hours,
            "pickup": {"slot_minutes": 1, "lead_minutes": 0, "max_orders_per_slot": 1000, "max_days_ahead": 7}
        });
        let response = self
            .http
            .put(format!("{}/v1/stores/{store_id}", self.command_api))
            .bearer_auth(&self.admin)
            .json(&store)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        let usd = |amount: i64| json!({"amount": amount, "currency": "USD"});
        let menu = json!({"categories": [{
            "id": "burgers", "name": "Burgers",
            "items": [{
                "id": "classic", "name": "Classic Burger", "price": usd(899),
                "modifier_groups": [{"id": "cheese", "name": "Cheese", "min": 0, "max": 1, "options": [
                    {"id": "cheddar", "name": "Cheddar", "price_delta": usd(100)},
                    {"id": "swiss", "name": "Swiss", "price_delta": usd(120)}
                ]}]
            }]
        }]});
        let response = self
            .http
            .put(format!("{}/v1/stores/{store_id}/menu", self.command_api))
            .bearer_auth(&self.admin)
            .json(&menu)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }

    /// Places two classic burgers with cheddar and a note; answers the
    /// response's status and body.
    pub async fn try_place(
        &self,
        store_id: &str,
        pickup_at: Option<DateTime<Utc>>,
    ) -> (u16, Value) {
        let body = json!({
            "store_id": store_id,
            "fulfillment": {"type": "pickup", "pickup_at": pickup_at},
            "lines": [{"item_id": "classic", "quantity": 2, "modifiers": ["cheddar"], "note": "no onions"}],
            "payment": {"token": "tok_visa"}
        });
        let response = self
            .http
            .post(format!("{}/v1/orders", self.command_api))
            .bearer_auth(&self.customer)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Places an order; answers its id.
    pub async fn place(&self, store_id: &str, pickup_at: Option<DateTime<Utc>>) -> uuid::Uuid {
        let (status, body) = self.try_place(store_id, pickup_at).await;
        assert_eq!(status, 201, "{body}");
        body["order_id"].as_str().unwrap().parse().unwrap()
    }

    /// The order as query-api shows it, read as the admin.
    pub async fn order(&self, order_id: uuid::Uuid) -> Option<Value> {
        let response = self
            .http
            .get(format!("{}/v1/orders/{order_id}", self.query_api))
            .bearer_auth(&self.admin)
            .send()
            .await
            .unwrap();
        if response.status() == 404 {
            return None;
        }
        Some(response.json().await.unwrap())
    }

    /// Waits until query-api shows the order in `status`.
    pub async fn wait_status(&self, order_id: uuid::Uuid, status: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let order = self.order(order_id).await;
            if order.as_ref().is_some_and(|o| o["status"] == status) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "order {order_id} never became {status}: {order:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A connection to the test database, for looking at the bridge's tables.
    pub async fn db(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.postgres.database_url, tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(connection);
        client
    }

    pub fn pool(&self) -> deadpool_postgres::Pool {
        platform::connect_pool(&self.postgres).unwrap()
    }

    /// Stops the services and removes the database and topics.
    pub async fn stop(self) {
        self.cancel.cancel();
        for (name, task) in self.tasks {
            task.await
                .unwrap_or_else(|e| panic!("{name} panicked: {e}"))
                .unwrap_or_else(|e| panic!("{name} failed: {e:#}"));
        }
        admin_client()
            .await
            .unwrap()
            .execute(
                &format!("drop database if exists {} with (force)", self.database),
                &[],
            )
            .await
            .unwrap();
        let admin: AdminClient<DefaultClientContext> = self.kafka.client_config().create().unwrap();
        admin
            .delete_topics(
                &[
                    &self.kafka.stores_topic,
                    &self.kafka.orders_topic,
                    &self.dead_letter_topic,
                    &format!("bridge-test.{}.projector-dead-letter", self.suffix),
                ],
                &AdminOptions::new(),
            )
            .await
            .unwrap();
    }
}

/// Polls `check` until it answers `Some`, failing after `PATIENCE`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
