//! The running system of a test: where each service is, requests to them as
//! the test's roles, more instances, and stopping it all.

use std::sync::Mutex;

use anyhow::Context;
use platform::AuthArgs;
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;
use testkit::fixtures::{Tokens, menu};
use testkit::{Record, Scratch};
use tokio::net::TcpListener;

use crate::instance::{Instance, PATIENCE, bind, eventually, is_ready, pause_before_next_look};
use crate::services::{bridge_config, query_api_config};
use crate::{Builder, Service};

/// The services a test started, on its own topics and database.
#[derive(Debug)]
pub struct System {
    /// The test's names, topics and database.
    pub scratch: Scratch,
    pub http: reqwest::Client,
    /// A token for each role; staff and pos are for `fixtures::STORE`. From
    /// the test issuer, or with identity from accounts made through it.
    pub tokens: Tokens,
    /// What command-api and query-api trust tokens of: the test issuer's
    /// key set, or identity's.
    pub auth: AuthArgs,
    /// Where the bridge gets `pos` tokens: the test issuer's token endpoint,
    /// or identity's with `with_identity()`.
    pub pos_token_url: String,
    /// With the bridge: where it sends the test store's tickets.
    pub(crate) printer: Option<TcpListener>,
    /// command-api's settings, for starting more instances in its group.
    pub(crate) command_config: Option<command_api::Config>,
    /// The services started with the system; a lock so that a readiness
    /// wait can take out one that died and say why.
    pub(crate) running: Mutex<Vec<Instance>>,
}

impl System {
    /// command-api, the projector and query-api unless the builder says
    /// otherwise; see [`Builder`].
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// The base URL of `service`; panics if the test did not start it.
    pub fn url(&self, service: Service) -> String {
        self.instance(service, |i| i.url.clone())
    }

    /// The address `service` listens on.
    pub fn addr(&self, service: Service) -> std::net::SocketAddr {
        self.instance(service, |i| i.addr)
    }

    fn instance<T>(&self, service: Service, f: impl Fn(&Instance) -> T) -> T {
        let running = self.running.lock().unwrap();
        let instance = running.iter().find(|i| i.service == service);
        f(instance.unwrap_or_else(|| panic!("{service} is not running in this test")))
    }

    pub fn command_api(&self) -> String {
        self.url(Service::CommandApi)
    }

    pub fn projector(&self) -> String {
        self.url(Service::Projector)
    }

    pub fn query_api(&self) -> String {
        self.url(Service::QueryApi)
    }

    /// The identity service (`with_identity`).
    pub fn identity(&self) -> String {
        self.url(Service::Identity)
    }

    /// identity's database: the scratch's (their tables do not meet); for a
    /// test that looks at what identity keeps (or no longer keeps).
    pub fn identity_database_url(&self) -> String {
        self.instance(Service::Identity, |_| {
            self.scratch.postgres.database_url.clone()
        })
    }

    /// pos-bridge's feedback API.
    pub fn bridge(&self) -> String {
        self.url(Service::Bridge)
    }

    /// The test's printer: the test store's kitchen (with the bridge).
    pub fn printer(&self) -> &TcpListener {
        self.printer
            .as_ref()
            .expect("no printer: start the system with_bridge()")
    }

    /// Where the projector puts records it cannot take.
    pub fn projector_dead_letter_topic(&self) -> String {
        self.scratch.topic("dead-letter")
    }

    /// Where a bridge of this system puts records it cannot take.
    pub fn bridge_dead_letter_topic(&self) -> String {
        self.scratch.topic("bridge-dead-letter")
    }

    /// Sends a command to command-api as the bearer of `token`.
    pub async fn command(&self, method: Method, path: &str, token: &str, body: &Value) -> Response {
        self.http
            .request(method, format!("{}{path}", self.command_api()))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.command(Method::POST, path, token, body).await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Response {
        self.command(Method::PUT, path, token, body).await
    }

    /// Places `body` as the test customer, expecting `201`; answers the
    /// order's id.
    pub async fn place(&self, body: &Value) -> String {
        let response = self.post("/v1/orders", &self.tokens.customer, body).await;
        let status = response.status();
        let placed: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(status, StatusCode::CREATED, "{placed}");
        placed["order_id"].as_str().unwrap().to_owned()
    }

    /// Creates (or changes) `store` with `profile` and publishes the test
    /// menu, as the admin.
    pub async fn open_store(&self, store: &str, profile: &Value) {
        let path = format!("/v1/stores/{store}");
        for (path, body) in [(path.clone(), profile), (format!("{path}/menu"), &menu())] {
            let response = self.put(&path, &self.tokens.admin, body).await;
            let status = response.status();
            assert_eq!(
                status,
                StatusCode::OK,
                "{path}: {}",
                response.text().await.unwrap()
            );
        }
    }

    /// Reads `path` from query-api as the bearer of `token` (none if empty).
    pub async fn read(&self, path: &str, token: &str) -> Response {
        self.read_with(path, token, &[]).await
    }

    /// `read` with request headers, e.g. `If-None-Match` or `Last-Event-ID`.
    pub async fn read_with(&self, path: &str, token: &str, headers: &[(&str, &str)]) -> Response {
        let mut request = self.http.get(format!("{}{path}", self.query_api()));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// The order as query-api shows it to the admin; `None` while unknown.
    pub async fn order(&self, order_id: impl std::fmt::Display) -> Option<Value> {
        let response = self
            .read(&format!("/v1/orders/{order_id}"), &self.tokens.admin)
            .await;
        if response.status() == StatusCode::NOT_FOUND {
            return None;
        }
        Some(response.json().await.unwrap())
    }

    /// Waits until query-api shows the order in `status`.
    pub async fn wait_status(&self, order_id: impl std::fmt::Display, status: &str) {
        let what = format!("order {order_id} to become {status}");
        eventually(&what, || async {
            let order = self.order(&order_id).await;
            order.filter(|o| o["status"] == status).map(|_| ())
        })
        .await;
    }

    /// Every record of `topic` up to its end, read_committed.
    pub fn read_topic(&self, topic: &str) -> Vec<Record> {
        let kafka = &self.scratch.kafka;
        testkit::read_topic(&kafka.brokers, topic, kafka.partitions).unwrap()
    }

    /// A connection to the test's database.
    pub async fn db(&self) -> tokio_postgres::Client {
        testkit::connect(&self.scratch.postgres.database_url)
            .await
            .unwrap()
    }

    /// A pool on the test's database, as the services make theirs.
    pub fn pool(&self) -> deadpool_postgres::Pool {
        platform::connect_pool(&self.scratch.postgres).unwrap()
    }

    /// Another command-api in the same group, with the settings `tune`
    /// leaves of the first one's; ready when it returns.
    pub async fn spawn_command_api(
        &self,
        tune: impl FnOnce(&mut command_api::Config),
    ) -> anyhow::Result<Instance> {
        let listener = bind().await?;
        let mut config = command_api::Config {
            addr: listener.local_addr()?,
            ..self
                .command_config
                .clone()
                .context("command-api is not running in this test")?
        };
        tune(&mut config);
        self.ready(Instance::spawn(Service::CommandApi, listener, |l, stop| {
            command_api::run(config, l, stop)
        }))
        .await
    }

    /// Another query-api on the test's database with the settings `tune`
    /// leaves; ready when it returns.
    pub async fn spawn_query_api(
        &self,
        tune: impl FnOnce(&mut query_api::Config),
    ) -> anyhow::Result<Instance> {
        let listener = bind().await?;
        let mut config = query_api_config(
            &self.scratch.postgres,
            listener.local_addr()?,
            self.auth.clone(),
        );
        tune(&mut config);
        self.ready(Instance::spawn(Service::QueryApi, listener, |l, stop| {
            query_api::run(config, l, stop)
        }))
        .await
    }

    /// Bridge settings with quick retries and this system's command-api and
    /// dead-letter topic, for `stores` (see [`crate::store_settings`]).
    pub fn bridge_settings(
        &self,
        stores: Vec<(&str, pos_bridge::StoreSettings)>,
    ) -> pos_bridge::Settings {
        pos_bridge::Settings {
            dead_letter_topic: self.bridge_dead_letter_topic(),
            max_attempts: 1000,
            backoff_initial_ms: 50,
            backoff_max_ms: 300,
            printer_timeout_ms: 2000,
            webhook_timeout_ms: 5000,
            signature_tolerance_secs: 300,
            retention_days: 30,
            token_url: Some(self.pos_token_url.clone()),
            stores: stores
                .into_iter()
                .map(|(id, s)| (id.to_owned(), s))
                .collect(),
            ..pos_bridge::Settings::new(self.command_api())
        }
    }

    /// Starts a bridge with `settings` in this process; ready when it returns.
    pub async fn start_bridge(&self, settings: pos_bridge::Settings) -> anyhow::Result<Instance> {
        let listener = bind().await?;
        let config = bridge_config(&self.scratch, listener.local_addr()?);
        self.ready(Instance::spawn(Service::Bridge, listener, |l, stop| {
            pos_bridge::run(config, settings, l, stop)
        }))
        .await
    }

    /// `spawned` once it is ready.
    async fn ready(&self, spawned: anyhow::Result<Instance>) -> anyhow::Result<Instance> {
        let instance = spawned?;
        self.wait_ready(&instance.url).await?;
        Ok(instance)
    }

    /// Polls `base`'s `/readyz` until it answers 200; fails early if one of
    /// the system's services died.
    pub async fn wait_ready(&self, base: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let died = {
                let mut running = self.running.lock().unwrap();
                let dead = running.iter().position(Instance::is_finished);
                dead.map(|i| running.swap_remove(i))
            };
            if let Some(dead) = died {
                let reason = dead.exit_reason().await;
                anyhow::bail!("{reason}, while waiting for {base} to be ready");
            }
            if is_ready(&self.http, base).await {
                return Ok(());
            }
            pause_before_next_look(base, deadline).await?;
        }
    }

    /// Stops every service, checks that each stopped cleanly, and removes the
    /// test's database and topics.
    pub async fn stop(self) -> anyhow::Result<()> {
        let running = self.running.into_inner().unwrap();
        for instance in &running {
            instance.cancel();
        }
        for instance in running {
            instance.stop().await?;
        }
        let dead_letters = [
            self.scratch.topic("dead-letter"),
            self.scratch.topic("bridge-dead-letter"),
        ];
        self.scratch
            .remove(&dead_letters.each_ref().map(String::as_str))
            .await
    }
}
