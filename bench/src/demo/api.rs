//! The demo's HTTP client: a call to command-api or query-api, retried while
//! the service answers `503` or `429`, and the fields read from its answers.

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

/// The two APIs, and how long to wait for them.
pub(super) struct Api {
    pub http: Client,
    pub command_url: String,
    pub query_url: String,
    pub wait: Duration,
}

/// A request: method, URL, token (none for public reads), and the
/// idempotency key and body of a command.
pub(super) struct Call<'a> {
    method: Method,
    url: String,
    token: Option<&'a str>,
    key: Option<String>,
    body: Option<Vec<u8>>,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, url: String, token: Option<&'a str>) -> Call<'a> {
        Call {
            method,
            url,
            token,
            key: None,
            body: None,
        }
    }

    pub fn command(mut self, key: String, body: Vec<u8>) -> Call<'a> {
        self.key = Some(key);
        self.body = Some(body);
        self
    }
}

impl Api {
    /// Sends `call` and answers its status and JSON body. A `503` (a writer
    /// busy or its partition moving, as at start) or a `429` is tried again,
    /// after its `Retry-After`, until the wait is over; every command here
    /// carries an idempotency key, so a repeat is safe.
    pub async fn send(&self, call: &Call<'_>) -> anyhow::Result<(StatusCode, Value)> {
        let deadline = Instant::now() + self.wait;
        loop {
            let mut request = self.http.request(call.method.clone(), &call.url);
            if let Some(token) = call.token {
                request = request.bearer_auth(token);
            }
            if let Some(key) = &call.key {
                request = request.header("idempotency-key", key);
            }
            if let Some(body) = &call.body {
                request = request
                    .header("content-type", "application/json")
                    .body(body.clone());
            }
            let response = request.send().await.with_context(|| {
                format!(
                    "{} {}: no answer (is the stack up? `make up`)",
                    call.method, call.url
                )
            })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .map_or(Duration::from_millis(250), Duration::from_secs);
            let text = response
                .text()
                .await
                .with_context(|| format!("{} {}: reading the answer", call.method, call.url))?;
            let busy = [
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::TOO_MANY_REQUESTS,
            ];
            if busy.contains(&status) && Instant::now() + retry_after < deadline {
                if retry_after >= Duration::from_secs(1) {
                    eprintln!(
                        "[demo] {} {} answered {status}; trying again in {} s",
                        call.method,
                        call.url,
                        retry_after.as_secs()
                    );
                }
                tokio::time::sleep(retry_after).await;
                continue;
            }
            let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
            return Ok((status, body));
        }
    }

    /// Sends `call` and answers its JSON body if the status is a success.
    pub async fn expect(&self, call: Call<'_>, what: &str) -> anyhow::Result<Value> {
        let (status, body) = self.send(&call).await?;
        if !status.is_success() {
            let hint = if status == StatusCode::UNAUTHORIZED {
                " (the demo's tokens come from identity at QSR_IDENTITY_URL: do command-api and \
                 query-api trust its key set? QSR_JWT_JWKS_URL, QSR_JWT_ISSUER, QSR_JWT_AUDIENCE)"
            } else {
                ""
            };
            bail!(
                "{what}: {} {} answered {status}: {}{hint}",
                call.method,
                call.url,
                problem(&body)
            );
        }
        Ok(body)
    }
}

/// The code and detail of a problem+json answer, or the answer as it came.
pub(super) fn problem(body: &Value) -> String {
    match (body["code"].as_str(), body["detail"].as_str()) {
        (Some(code), Some(detail)) => format!("{code}: {detail}"),
        (Some(code), None) => code.to_owned(),
        _ => body.to_string(),
    }
}

pub(super) fn u64_field(body: &Value, field: &str, what: &str) -> anyhow::Result<u64> {
    body[field]
        .as_u64()
        .with_context(|| format!("{what}: the answer has no `{field}`: {body}"))
}

pub(super) fn str_field<'v>(body: &'v Value, field: &str, what: &str) -> anyhow::Result<&'v str> {
    body[field]
        .as_str()
        .with_context(|| format!("{what}: the answer has no `{field}`: {body}"))
}
