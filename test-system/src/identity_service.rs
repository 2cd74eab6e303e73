//! The identity service in a test: its settings, the settings with which the
//! other services then trust its tokens (and no others), and the tokens of
//! [`Tokens`] made through it.
//!
//! identity shares the scratch's database: its tables (`users`,
//! `refresh_tokens`, `signing_keys`, history `identity_schema_history`) and
//! the projector's and bridge's (`stores`, `menus`, `orders`, `bridge_*`,
//! their own histories) do not meet.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use clap::Parser;
use platform::{AuthArgs, Role};
use serde_json::{Value, json};
use testkit::Scratch;
use testkit::fixtures::{STORE, Tokens};

/// The audience of identity's tokens, the services' audience.
const AUDIENCE: &str = "qsr";

/// The password of every account [`tokens`] makes: strong by identity's
/// estimator, and not secret (test accounts on a scratch database).
pub const TEST_PASSWORD: &str = "violet tractor sings at dawn";

/// identity's settings: parsed from flags, as the binary's, so settings it
/// gains later keep their defaults; its issuer is its own address.
pub(crate) fn identity_config(
    scratch: &Scratch,
    addr: SocketAddr,
) -> anyhow::Result<identity::Config> {
    let pool = scratch.postgres.db_pool_size.to_string();
    let config = identity::Config::try_parse_from([
        "identity",
        "--addr",
        &addr.to_string(),
        "--database-url",
        &scratch.postgres.database_url,
        "--db-pool-size",
        &pool,
        "--issuer",
        &issuer(addr),
        "--audience",
        AUDIENCE,
    ])
    .context("identity's test settings")?;
    Ok(config)
}

fn issuer(addr: SocketAddr) -> String {
    format!("http://{addr}")
}

/// The settings with which a service trusts the tokens of the identity
/// service at `addr`.
pub(crate) fn auth_args(addr: SocketAddr) -> AuthArgs {
    AuthArgs {
        jwt_jwks_url: format!("{}/.well-known/jwks.json", issuer(addr)),
        jwt_issuer: issuer(addr),
        jwt_audience: AUDIENCE.to_owned(),
    }
}

/// A token of each role, from accounts made through identity at `base`:
/// customers register; the staff (of [`STORE`]) and the admin register, are
/// given their role in identity's database (no API grants one yet) and log
/// in again. identity issues no `pos` token yet, so `pos` is the test
/// issuer's, which these services refuse.
pub(crate) async fn tokens(
    http: &reqwest::Client,
    base: &str,
    database_url: &str,
    suffix: &str,
) -> anyhow::Result<Tokens> {
    let db = testkit::connect(database_url)
        .await
        .context("connecting to identity's database")?;
    let email = |who: &str| format!("{who}-{suffix}@test-system.example");
    let emails = ["customer", "other-customer", "staff", "admin"].map(email);
    let (customer, other_customer, _, _) = tokio::try_join!(
        register(http, base, &emails[0]),
        register(http, base, &emails[1]),
        register(http, base, &emails[2]),
        register(http, base, &emails[3]),
    )?;
    for (email, role, stores) in [
        (&emails[2], Role::Staff, vec![STORE.to_owned()]),
        (&emails[3], Role::Admin, vec![]),
    ] {
        db.execute(
            "update users set role = $1, stores = $2 where lower(email) = lower($3)",
            &[&role.as_str(), &stores, email],
        )
        .await
        .with_context(|| format!("making {email} {} in identity's database", role.as_str()))?;
    }
    let (staff, admin) =
        tokio::try_join!(login(http, base, &emails[2]), login(http, base, &emails[3]),)?;
    Ok(Tokens {
        customer,
        other_customer,
        staff,
        pos: testkit::token(Role::Pos, "pos-1", &[STORE])?,
        admin,
    })
}

/// Registers a customer with [`TEST_PASSWORD`]; answers its access token.
pub(crate) async fn register(
    http: &reqwest::Client,
    base: &str,
    email: &str,
) -> anyhow::Result<String> {
    let body = json!({"email": email, "password": TEST_PASSWORD, "name": "Test Account"});
    access_token(http, &format!("{base}/v1/auth/register"), &body).await
}

/// Logs in with [`TEST_PASSWORD`]; answers the access token.
pub(crate) async fn login(
    http: &reqwest::Client,
    base: &str,
    email: &str,
) -> anyhow::Result<String> {
    let body = json!({"email": email, "password": TEST_PASSWORD});
    access_token(http, &format!("{base}/v1/auth/login"), &body).await
}

async fn access_token(http: &reqwest::Client, url: &str, body: &Value) -> anyhow::Result<String> {
    let response = http
        .post(url)
        .json(body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("POST {url} answered {status}: {answer}");
    }
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("POST {url}: no access_token in {answer}"))
}
