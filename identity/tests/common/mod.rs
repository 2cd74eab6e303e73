//! The identity service in process, on a database of its own.

#![allow(dead_code)] // Each test file uses part of it.

pub use testkit::mail;

use std::net::SocketAddr;

use clap::Parser;
use serde_json::{Value, json};
use testkit::Scratch;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running service and what it was started on.
pub struct Service {
    pub base: String,
    pub http: reqwest::Client,
    pub scratch: Scratch,
    /// The flags it was started with, kept for a restart.
    flags: Vec<String>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

/// The issuer the tests' services sign as, whatever port they listen on
/// (as behind a gateway), so a restarted service is the same issuer.
pub const ISSUER: &str = "https://identity.test";
/// The audience the tests' services sign for.
pub const AUDIENCE: &str = "qsr-test";

impl Service {
    /// A service on a new database, whose mail stays queued (no relay).
    pub async fn start(prefix: &str) -> Service {
        Service::start_with(prefix, &["--smtp-url", ""]).await
    }

    /// A service on a new database that sends its mail to the test SMTP
    /// sink (`QSR_TEST_SMTP_URL`).
    pub async fn start_with_mail(prefix: &str) -> Service {
        let smtp = mail::smtp_url();
        Service::start_with(prefix, &["--smtp-url", &smtp]).await
    }

    /// A service on a new database, with these flags besides the test
    /// defaults.
    pub async fn start_with(prefix: &str, flags: &[&str]) -> Service {
        let scratch = testkit::scratch(prefix, 4).await.unwrap();
        let flags = flags.iter().map(|f| f.to_string()).collect();
        Service::on(scratch, flags).await
    }

    /// A service on `scratch`'s database (another one may run on it too),
    /// configured as the binary would be by `flags`.
    pub async fn on(scratch: Scratch, flags: Vec<String>) -> Service {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let mut config = identity::Config::try_parse_from(
            ["identity", "--issuer", ISSUER, "--audience", AUDIENCE]
                .into_iter()
                .map(str::to_owned)
                .chain(flags.iter().cloned()),
        )
        .unwrap();
        config.addr = addr;
        config.postgres = scratch.postgres.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(identity::run(config, listener, async move {
            let _ = stopped.await;
        }));
        Service {
            base,
            http: reqwest::Client::new(),
            scratch,
            flags,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// Stops the service and waits for it to end.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Stops the service and starts another on its database, with the
    /// same flags.
    pub async fn restart(self) -> Service {
        let flags = self.flags.clone();
        self.restart_with(flags).await
    }

    /// Stops the service and starts another on its database with `flags`.
    pub async fn restart_with(mut self, flags: Vec<String>) -> Service {
        self.stop().await;
        Service::on(self.scratch, flags).await
    }

    /// A connection to the service's database, to look at its rows.
    pub async fn database(&self) -> tokio_postgres::Client {
        testkit::connect(&self.scratch.postgres.database_url)
            .await
            .unwrap()
    }

    /// Stops the service and drops its database. The service uses no
    /// Kafka: the scratch's topics were never created, and are not deleted.
    pub async fn remove(mut self) {
        self.stop().await;
        testkit::connect(&self.scratch.admin_database_url)
            .await
            .unwrap()
            .execute(
                &format!(
                    "drop database if exists {} with (force)",
                    self.scratch.database
                ),
                &[],
            )
            .await
            .unwrap();
    }

    /// `method path`, with a bearer token and a JSON body when given: the
    /// status and the body as JSON (or `null` when empty).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.unwrap()).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, None, Some(body))
            .await
    }

    /// `POST path` with a bearer token and a JSON body.
    pub async fn post_as(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    /// `DELETE path` with a bearer token.
    pub async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path, Some(token), None)
            .await
    }

    /// Creates an admin directly, as `identity admin create` does, and logs
    /// it in: its tokens.
    pub async fn admin(&self, email: &str) -> Value {
        identity::accounts::create(
            &self.scratch.postgres,
            identity::accounts::NewAccount {
                email: email.to_owned(),
                name: "Grace Admin".to_owned(),
                password: PASSWORD.to_owned(),
                role: identity::AccountRole::Admin,
                stores: Vec::new(),
            },
        )
        .await
        .unwrap();
        self.login(email).await
    }

    /// `GET path`, with a bearer token when given.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    /// `PATCH path` with a bearer token and a JSON body.
    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Registers `email` with a strong password and answers the tokens.
    pub async fn register(&self, email: &str) -> Value {
        let (status, body) = self
            .post(
                "/v1/auth/register",
                json!({"email": email, "password": PASSWORD, "name": "Ada Lovelace"}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// Logs `email` in with the password [`Service::register`] gave it.
    pub async fn login(&self, email: &str) -> Value {
        let (status, body) = self
            .post(
                "/v1/auth/login",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

impl Service {
    /// A login of `email` that fails with `401 invalid_credentials`.
    pub async fn login_fails(&self, email: &str) {
        let (status, body) = self
            .post(
                "/v1/auth/login",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("invalid_credentials"))
        );
    }
}

/// The password the tests register with: strong by the estimator.
pub const PASSWORD: &str = "violet tractor sings at dawn";

async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, body)
}

/// The refresh token of a token answer.
pub fn refresh_token(tokens: &Value) -> String {
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

/// The access token of a token answer.
pub fn access_token(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The claims of an access token, unverified (the tests that check the
/// signature do so apart).
pub fn claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}
