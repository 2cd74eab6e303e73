//! `loadgen demo`: seeds the demo data of the local stack through the public
//! API, as any client would: the store and menu of `stack/demo/`, and three
//! orders of the demo customer (one placed, one accepted, one ready), then
//! reads them back from query-api. Running it again changes nothing.
//!
//! Every write can be repeated: the store and menu go out under an
//! `Idempotency-Key` named after their files' contents (an edited file is
//! published once more), each order under `demo-order-<n>` (a repeat answers
//! the order as it is now), and an order is moved along only while its status
//! is short of its target.

use std::time::Duration;

use anyhow::{Context, bail};
use platform::{AuthArgs, Claims, JwtKeys, Role};
use reqwest::{Client, Method, StatusCode};
use schemas::OrderStatus;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

/// The demo store; `stack/demo/pos-bridge.toml` sends its tickets to the
/// demo printer.
const STORE_ID: &str = "demo-downtown";
const STORE_FILE: &str = include_str!("../../stack/demo/store.json");
const MENU_FILE: &str = include_str!("../../stack/demo/menu.json");
/// The token subjects of `stack.sh`'s `.stack/tokens.env`, so its customer
/// token finds these orders in `/v1/customers/me/orders`.
const CUSTOMER: &str = "demo-customer";
const STAFF: &str = "demo-staff";
const ADMIN: &str = "demo-admin";

/// `loadgen demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// query-api's base URL, where the seeded data is read back.
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    pub query_url: String,
    /// Seconds to wait for a busy command-api (`503`, or `429` when the demo
    /// customer's placements, repeats included, outrun its rate limit) and
    /// for query-api to show what was written.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub wait: u64,
    /// The tokens are minted with the services' secret.
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// The placing body of demo order `n`. Its fields serialise in this order, so
/// the bytes (and the request's fingerprint) are those of earlier seeds.
#[derive(Debug, Serialize)]
struct PlaceOrder {
    store_id: &'static str,
    fulfillment: Pickup,
    lines: [Line; 2],
    tip: Money,
    payment: Payment,
}

#[derive(Debug, Serialize)]
struct Pickup {
    r#type: &'static str,
    /// As soon as possible.
    pickup_at: Option<String>,
}

#[derive(Debug, Serialize)]
struct Line {
    item_id: &'static str,
    quantity: u32,
    modifiers: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct Money {
    amount: i64,
    currency: &'static str,
}

#[derive(Debug, Serialize)]
struct Payment {
    token: &'static str,
}

fn demo_order(n: u32) -> PlaceOrder {
    PlaceOrder {
        store_id: STORE_ID,
        fulfillment: Pickup {
            r#type: "pickup",
            pickup_at: None,
        },
        lines: [
            Line {
                item_id: "classic-burger",
                quantity: n,
                modifiers: vec!["cheddar"],
            },
            Line {
                item_id: "fries",
                quantity: 1,
                modifiers: vec![],
            },
        ],
        tip: Money {
            amount: 100,
            currency: "USD",
        },
        payment: Payment { token: "tok_visa" },
    }
}

/// The moves that take demo order `n` (1, 2, 3) to its status (placed,
/// accepted, ready), each with the status it is made from.
fn moves(n: u32) -> &'static [(OrderStatus, &'static str)] {
    const ACCEPT: (OrderStatus, &str) = (OrderStatus::Placed, "accept");
    const READY: (OrderStatus, &str) = (OrderStatus::Accepted, "ready");
    match n {
        1 => &[],
        2 => &[ACCEPT],
        _ => &[ACCEPT, READY],
    }
}

/// The demo's tokens, one per role it acts as.
struct Tokens {
    admin: String,
    customer: String,
    staff: String,
}

impl Tokens {
    fn mint(auth: &AuthArgs) -> anyhow::Result<Tokens> {
        let keys = JwtKeys::from_args(auth);
        let exp = chrono::Utc::now().timestamp() + 3600;
        let mint = |role, sub: &str, stores: Vec<String>| {
            keys.mint(&Claims {
                sub: sub.to_owned(),
                role,
                stores,
                exp,
            })
        };
        Ok(Tokens {
            admin: mint(Role::Admin, ADMIN, vec![])?,
            customer: mint(Role::Customer, CUSTOMER, vec![])?,
            staff: mint(Role::Staff, STAFF, vec![STORE_ID.to_owned()])?,
        })
    }
}

/// The two APIs, and how long to wait for them.
struct Api {
    http: Client,
    command_url: String,
    query_url: String,
    wait: Duration,
}

/// A request: method, URL, token (none for public reads), and the
/// idempotency key and body of a command.
struct Call<'a> {
    method: Method,
    url: String,
    token: Option<&'a str>,
    key: Option<String>,
    body: Option<Vec<u8>>,
}

impl<'a> Call<'a> {
    fn new(method: Method, url: String, token: Option<&'a str>) -> Call<'a> {
        Call {
            method,
            url,
            token,
            key: None,
            body: None,
        }
    }

    fn command(mut self, key: String, body: Vec<u8>) -> Call<'a> {
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
    async fn send(&self, call: &Call<'_>) -> anyhow::Result<(StatusCode, Value)> {
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
    async fn expect(&self, call: Call<'_>, what: &str) -> anyhow::Result<Value> {
        let (status, body) = self.send(&call).await?;
        if !status.is_success() {
            let hint = if status == StatusCode::UNAUTHORIZED {
                " (the demo mints its tokens with QSR_JWT_SECRET: give it the services' secret)"
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
fn problem(body: &Value) -> String {
    match (body["code"].as_str(), body["detail"].as_str()) {
        (Some(code), Some(detail)) => format!("{code}: {detail}"),
        (Some(code), None) => code.to_owned(),
        _ => body.to_string(),
    }
}

fn u64_field(body: &Value, field: &str, what: &str) -> anyhow::Result<u64> {
    body[field]
        .as_u64()
        .with_context(|| format!("{what}: the answer has no `{field}`: {body}"))
}

fn str_field<'v>(body: &'v Value, field: &str, what: &str) -> anyhow::Result<&'v str> {
    body[field]
        .as_str()
        .with_context(|| format!("{what}: the answer has no `{field}`: {body}"))
}

/// An idempotency key that names the file's contents: the same file is
/// published once, an edited one once more.
fn content_key(name: &str, file: &str) -> String {
    let digest = Sha256::digest(file.as_bytes());
    format!("demo-{name}-{}", hex::encode(&digest[..8]))
}

/// The embedded file's bytes, checked to be JSON. Sent as they are, so the
/// request's fingerprint under its key never changes.
fn json_file(name: &str, file: &str) -> anyhow::Result<Vec<u8>> {
    serde_json::from_str::<Value>(file)
        .with_context(|| format!("stack/demo/{name} is not JSON"))?;
    Ok(file.as_bytes().to_vec())
}

/// What the demo left behind: an order's id, status and version.
struct Seeded {
    id: String,
    status: String,
    version: u64,
}

pub async fn run(command_url: &str, args: &DemoArgs) -> anyhow::Result<()> {
    let api = Api {
        http: Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?,
        command_url: command_url.trim_end_matches('/').to_owned(),
        query_url: args.query_url.trim_end_matches('/').to_owned(),
        wait: Duration::from_secs(args.wait),
    };
    let tokens = Tokens::mint(&args.auth).context("minting the demo's tokens")?;

    let store_url = format!("{}/v1/stores/{STORE_ID}", api.command_url);
    api.expect(
        Call::new(Method::PUT, store_url.clone(), Some(&tokens.admin)).command(
            content_key("store", STORE_FILE),
            json_file("store.json", STORE_FILE)?,
        ),
        "publishing the demo store",
    )
    .await?;
    let menu = api
        .expect(
            Call::new(
                Method::PUT,
                format!("{store_url}/menu"),
                Some(&tokens.admin),
            )
            .command(
                content_key("menu", MENU_FILE),
                json_file("menu.json", MENU_FILE)?,
            ),
            "publishing the demo menu",
        )
        .await?;
    let menu_version = u64_field(&menu, "menu_version", "publishing the demo menu")?;
    eprintln!(
        "[demo] store {STORE_ID} at version {}, menu version {menu_version}",
        u64_field(&menu, "version", "publishing the demo menu")?
    );
    // Orders are placed once query-api shows the menu, as a customer's app
    // would find it.
    wait_for_menu(&api, menu_version).await?;

    let mut seeded = Vec::new();
    for n in 1..=3 {
        let order = seed_order(&api, &tokens, n)
            .await
            .with_context(|| format!("demo order {n}"))?;
        seeded.push(order);
    }

    // Read-your-writes: each order as query-api shows it, at the version the
    // last command answered.
    // At most query-api's own limit.
    let wait_ms = api.wait.as_millis().min(10_000);
    let mut statuses = Vec::new();
    for order in &seeded {
        let what = format!("reading demo order {} back", order.id);
        let url = format!(
            "{}/v1/orders/{}?min_version={}&wait_ms={wait_ms}",
            api.query_url, order.id, order.version
        );
        let read = api
            .expect(Call::new(Method::GET, url, Some(&tokens.admin)), &what)
            .await?;
        let status = str_field(&read, "status", &what)?;
        if status != order.status {
            bail!(
                "{what}: query-api says {status}, command-api said {}",
                order.status
            );
        }
        statuses.push(format!("{} {status}", order.id));
    }
    println!(
        "demo data ready: store {STORE_ID} (menu version {menu_version}) and 3 orders of \
         {CUSTOMER} ({}); see {}/v1/stores/{STORE_ID}/menu",
        statuses.join(", "),
        api.query_url
    );
    Ok(())
}

/// Polls query-api until it shows the demo menu at `menu_version` or later.
async fn wait_for_menu(api: &Api, menu_version: u64) -> anyhow::Result<()> {
    let url = format!("{}/v1/stores/{STORE_ID}/menu", api.query_url);
    let deadline = Instant::now() + api.wait;
    loop {
        let (status, body) = api.send(&Call::new(Method::GET, url.clone(), None)).await?;
        let shown = body["menu_version"].as_u64();
        if status.is_success() && shown >= Some(menu_version) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "query-api did not show menu version {menu_version} of {STORE_ID} within {} s \
                 (GET {url}: {status} {}); is the projector running?",
                api.wait.as_secs(),
                problem(&body)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Places demo order `n` (or finds it placed) and moves it along to its target.
async fn seed_order(api: &Api, tokens: &Tokens, n: u32) -> anyhow::Result<Seeded> {
    let body = serde_json::to_vec(&demo_order(n))?;
    let placed = api
        .expect(
            Call::new(
                Method::POST,
                format!("{}/v1/orders", api.command_url),
                Some(&tokens.customer),
            )
            .command(format!("demo-order-{n}"), body),
            "placing it",
        )
        .await?;
    let id = str_field(&placed, "order_id", "placing it")?.to_owned();
    let mut order = Seeded {
        status: str_field(&placed, "status", "placing it")?.to_owned(),
        version: u64_field(&placed, "version", "placing it")?,
        id,
    };
    // A move is made only from the status before it: an order already moved
    // on (by an earlier run, or by hand) is left as it is.
    for (from, verb) in moves(n) {
        if order.status != from.as_str() {
            continue;
        }
        let url = format!("{}/v1/orders/{}/{verb}", api.command_url, order.id);
        let what = format!("calling {verb}");
        let moved = api
            .expect(
                Call::new(Method::POST, url, Some(&tokens.staff))
                    .command(format!("demo-order-{n}-{verb}"), b"{}".to_vec()),
                &what,
            )
            .await?;
        order.status = str_field(&moved, "status", &what)?.to_owned();
        order.version = u64_field(&moved, "version", &what)?;
    }
    eprintln!("[demo] order {n}: {} {}", order.id, order.status);
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placing_body_is_the_one_earlier_seeds_sent() {
        let body = String::from_utf8(serde_json::to_vec(&demo_order(2)).unwrap()).unwrap();
        assert_eq!(
            body,
            r#"{"store_id":"demo-downtown","fulfillment":{"type":"pickup","pickup_at":null},"lines":[{"item_id":"classic-burger","quantity":2,"modifiers":["cheddar"]},{"item_id":"fries","quantity":1,"modifiers":[]}],"tip":{"amount":100,"currency":"USD"},"payment":{"token":"tok_visa"}}"#
        );
    }

    #[test]
    fn the_demo_orders_name_what_the_demo_menu_sells() {
        let menu: Value = serde_json::from_str(MENU_FILE).unwrap();
        let ids: Vec<&str> = menu["categories"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|c| c["items"].as_array().unwrap())
            .flat_map(|item| {
                let options = item["modifier_groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .flat_map(|g| g["options"].as_array().unwrap())
                    .map(|o| o["id"].as_str().unwrap());
                std::iter::once(item["id"].as_str().unwrap()).chain(options)
            })
            .collect();
        for line in demo_order(1).lines {
            assert!(ids.contains(&line.item_id), "{}", line.item_id);
            for modifier in line.modifiers {
                assert!(ids.contains(&modifier), "{modifier}");
            }
        }
        let store: Value = serde_json::from_str(STORE_FILE).unwrap();
        assert_eq!(store["currency"], demo_order(1).tip.currency);
    }

    #[test]
    fn an_edited_file_gets_a_new_key() {
        assert_eq!(
            content_key("menu", MENU_FILE),
            content_key("menu", MENU_FILE)
        );
        assert_ne!(content_key("menu", MENU_FILE), content_key("menu", "{}"));
        assert!(content_key("store", STORE_FILE).len() <= 255);
    }
}
