//! `loadgen demo`: seeds the demo data of the local stack through the public
//! API, as any client would: the store and menu of `stack/demo/`, and three
//! orders of the demo customer (one placed, one accepted, one ready), then
//! reads them back from query-api. Running it again changes nothing.
//!
//! Its tokens come from the identity service, as an app's do: the admin and
//! the staff of `demo-downtown` (accounts an operator made with `identity`'s
//! CLI) log in; the demo customer registers the first time and logs in after.
//!
//! Every write can be repeated: the store and menu go out under an
//! `Idempotency-Key` named after their files' contents (an edited file is
//! published once more), each order under `demo-order-<n>` (a repeat answers
//! the order as it is now), and an order is moved along only while its status
//! is short of its target.

use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Client, Method};
use schemas::OrderStatus;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

mod api;
use api::{Api, Call, problem, str_field, u64_field};

use crate::identity::{Identity, IdentityArgs};

/// The demo store; `stack/demo/pos-bridge.toml` sends its tickets to the
/// demo printer.
const STORE_ID: &str = "demo-downtown";
const STORE_FILE: &str = include_str!("../../../stack/demo/store.json");
const MENU_FILE: &str = include_str!("../../../stack/demo/menu.json");
/// The demo customer's name in identity.
const CUSTOMER_NAME: &str = "Demo Customer";

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
    /// identity, and the admin who publishes the store and menu.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// The email of a staff account of `demo-downtown`, which moves the
    /// orders along.
    #[arg(long, env = "QSR_DEMO_STAFF_EMAIL")]
    pub staff_email: Option<String>,
    #[arg(long, env = "QSR_DEMO_STAFF_PASSWORD", hide_env_values = true)]
    pub staff_password: Option<String>,
    /// The demo customer's email: registered the first time, logged in after.
    #[arg(long, env = "QSR_DEMO_CUSTOMER_EMAIL")]
    pub customer_email: Option<String>,
    #[arg(long, env = "QSR_DEMO_CUSTOMER_PASSWORD", hide_env_values = true)]
    pub customer_password: Option<String>,
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
    /// The admin and the staff log in; the customer registers the first
    /// time and logs in after.
    async fn from_identity(identity: &Identity, args: &DemoArgs) -> anyhow::Result<Tokens> {
        let (staff_email, staff_password) = credentials(
            &args.staff_email,
            &args.staff_password,
            "the staff's: --staff-email and --staff-password \
             (QSR_DEMO_STAFF_EMAIL, QSR_DEMO_STAFF_PASSWORD)",
        )?;
        let (customer_email, customer_password) = credentials(
            &args.customer_email,
            &args.customer_password,
            "the customer's: --customer-email and --customer-password \
             (QSR_DEMO_CUSTOMER_EMAIL, QSR_DEMO_CUSTOMER_PASSWORD)",
        )?;
        Ok(Tokens {
            admin: identity.admin(&args.identity).await?,
            staff: identity
                .login(staff_email, staff_password)
                .await
                .context("logging the demo staff in")?,
            customer: identity
                .register_or_login(customer_email, customer_password, CUSTOMER_NAME)
                .await
                .context("registering or logging the demo customer in")?,
        })
    }
}

/// An email and a password given together; `which` names the flags.
fn credentials<'a>(
    email: &'a Option<String>,
    password: &'a Option<String>,
    which: &str,
) -> anyhow::Result<(&'a str, &'a str)> {
    match (email, password) {
        (Some(email), Some(password)) => Ok((email, password)),
        _ => bail!("the demo needs {which}"),
    }
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
    let identity = Identity::new(api.http.clone(), &args.identity.identity_url);
    let tokens = Tokens::from_identity(&identity, args)
        .await
        .context("getting the demo's tokens from identity")?;

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
         {} ({}); see {}/v1/stores/{STORE_ID}/menu",
        args.customer_email.as_deref().unwrap_or_default(),
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
