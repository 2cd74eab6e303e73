//! Tokens from the identity service, as the apps get theirs: the load
//! generator holds no key and mints nothing. The admin (an account an
//! operator gave the admin role) logs in; customers register, or log in when
//! their email is taken.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, bail};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Where identity is, and the admin who sets the stores up.
#[derive(Debug, Clone, clap::Args)]
pub struct IdentityArgs {
    /// The identity service's base URL, where the tokens come from.
    #[arg(
        long,
        env = "QSR_IDENTITY_URL",
        default_value = "http://127.0.0.1:8084"
    )]
    pub identity_url: String,
    /// The email of an admin account of identity's.
    #[arg(long, env = "QSR_DEMO_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// The admin's password (better from the environment than a flag,
    /// which other users of the machine can see).
    #[arg(long, env = "QSR_DEMO_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
}

/// A client of the identity service.
#[derive(Debug, Clone)]
pub struct Identity {
    http: reqwest::Client,
    url: String,
}

/// What a registration came to.
enum Registered {
    /// A new account, logged in: its access token.
    Token(String),
    /// The email has an account already (`409 email_taken`).
    Taken,
}

impl Identity {
    pub fn new(http: reqwest::Client, url: &str) -> Identity {
        Identity {
            http,
            url: url.trim_end_matches('/').to_owned(),
        }
    }

    /// The admin's access token, logged in with the credentials of `args`.
    pub async fn admin(&self, args: &IdentityArgs) -> anyhow::Result<String> {
        let (Some(email), Some(password)) = (&args.admin_email, &args.admin_password) else {
            bail!(
                "the admin's credentials are needed to set the stores up: --admin-email and \
                 --admin-password (QSR_DEMO_ADMIN_EMAIL, QSR_DEMO_ADMIN_PASSWORD)"
            );
        };
        self.login(email, password)
            .await
            .context("logging the admin in")
    }

    /// An access token of `email`.
    pub async fn login(&self, email: &str, password: &str) -> anyhow::Result<String> {
        let body = json!({"email": email, "password": password});
        let (status, answer) = self.post("/v1/auth/login", &body).await?;
        if status != StatusCode::OK {
            bail!(
                "identity ({}) refused the login of {email}: {status} {}",
                self.url,
                problem(&answer)
            );
        }
        access_token(&answer)
    }

    /// An access token of `email`: a new customer account, or a login when
    /// the email has one.
    pub async fn register_or_login(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> anyhow::Result<String> {
        match self.register(email, password, name).await? {
            Registered::Token(token) => Ok(token),
            Registered::Taken => self.login(email, password).await,
        }
    }

    /// An access token of a new customer account.
    pub async fn register_new(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> anyhow::Result<String> {
        match self.register(email, password, name).await? {
            Registered::Token(token) => Ok(token),
            Registered::Taken => bail!("{email} is registered already"),
        }
    }

    async fn register(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> anyhow::Result<Registered> {
        let body = json!({"email": email, "password": password, "name": name});
        let (status, answer) = self.post("/v1/auth/register", &body).await?;
        match status {
            StatusCode::CREATED => Ok(Registered::Token(access_token(&answer)?)),
            StatusCode::CONFLICT => Ok(Registered::Taken),
            _ => bail!(
                "identity ({}) refused to register {email}: {status} {}",
                self.url,
                problem(&answer)
            ),
        }
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(StatusCode, Value)> {
        let url = format!("{}{path}", self.url);
        let response = self
            .http
            .post(&url)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {url}: no answer (is identity up?)"))?;
        let status = response.status();
        let answer = response.json().await.unwrap_or(Value::Null);
        Ok((status, answer))
    }
}

/// Registers `count` new customers of this run, `concurrency` at a time
/// (each costs identity an Argon2 hash, about 50 ms), with a progress line;
/// answers their access tokens, in order.
pub async fn register_customers(
    identity: &Identity,
    count: u32,
    concurrency: usize,
) -> anyhow::Result<Vec<String>> {
    // Unique to the run, so a run never finds the accounts of another.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let run = &run[..12];
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let done = Arc::new(AtomicU32::new(0));
    let mut registering = tokio::task::JoinSet::new();
    for c in 0..count {
        let (identity, permits, done) = (identity.clone(), permits.clone(), done.clone());
        let email = format!("bench-{run}-{c}@loadgen.example");
        registering.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            // 128 bits from the OS's generator: strong by any estimator.
            let password = uuid::Uuid::new_v4().simple().to_string();
            let token = identity
                .register_new(&email, &password, &format!("Bench Customer {c}"))
                .await?;
            let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
            // On a terminal one line counts up; in a log, one line at the end.
            if std::io::stderr().is_terminal() && (finished % 16 == 0 || finished == count) {
                eprint!("\rregistering customers with identity: {finished}/{count}");
            } else if finished == count {
                eprint!("registered {count} customers with identity");
            }
            Ok::<(u32, String), anyhow::Error>((c, token))
        });
    }
    let mut tokens = vec![String::new(); count as usize];
    while let Some(registered) = registering.join_next().await {
        let (c, token) = registered??;
        tokens[c as usize] = token;
    }
    if count > 0 {
        eprintln!();
    }
    Ok(tokens)
}

fn access_token(answer: &Value) -> anyhow::Result<String> {
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("identity's answer has no access_token: {answer}"))
}

/// The code and detail of a problem+json answer, or the answer as it came.
fn problem(body: &Value) -> String {
    match (body["code"].as_str(), body["detail"].as_str()) {
        (Some(code), Some(detail)) => format!("{code}: {detail}"),
        _ => body.to_string(),
    }
}
