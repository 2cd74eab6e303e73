//! The identity service in a test: its settings, the settings with which the
//! other services then trust its tokens (and no others), the tokens of
//! [`Tokens`] made through it, and POS client credentials.
//!
//! identity shares the scratch's database: its tables (`users`,
//! `refresh_tokens`, `signing_keys`, history `identity_schema_history`) and
//! the projector's and bridge's (`stores`, `menus`, `orders`, `bridge_*`,
//! their own histories) do not meet.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use clap::Parser;
use identity::AccountRole;
use identity::accounts::NewAccount;
use platform::{AuthArgs, PostgresArgs};
use serde_json::{Value, json};
use testkit::fixtures::{STORE, Tokens};
use testkit::{PosClientCredential, Scratch};

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
    more: &[String],
) -> anyhow::Result<identity::Config> {
    let pool = scratch.postgres.db_pool_size.to_string();
    let smtp = std::env::var("QSR_TEST_SMTP_URL").unwrap_or_default();
    let own = [
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
        // Mail goes to the test mail sink when there is one (`make test`
        // starts it), else it only queues.
        "--smtp-url",
        &smtp,
        // A rotated key is published and signs within seconds.
        "--key-reload-secs",
        "1",
    ];
    let args = own
        .iter()
        .map(|s| (*s).to_owned())
        .chain(more.iter().cloned());
    let config = identity::Config::try_parse_from(args).context("identity's test settings")?;
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
/// the customers register; the staff (of [`STORE`]) and the admin are made as
/// an operator makes them (`identity::accounts::create`, what `identity admin
/// create` runs) and log in; the admin issues [`STORE`]'s POS client
/// credential, whose `pos` token comes from identity's token endpoint.
/// Answers the tokens and that credential, for the bridge.
pub(crate) async fn tokens(
    http: &reqwest::Client,
    base: &str,
    postgres: &PostgresArgs,
    suffix: &str,
) -> anyhow::Result<(Tokens, PosClientCredential)> {
    let email = |who: &str| format!("{who}-{suffix}@test-system.example");
    let emails = ["customer", "other-customer", "staff", "admin"].map(email);
    for (email, role, stores) in [
        (&emails[2], AccountRole::Staff, vec![STORE.to_owned()]),
        (&emails[3], AccountRole::Admin, vec![]),
    ] {
        let account = NewAccount {
            email: email.clone(),
            name: format!("Test {}", role.as_str()),
            password: TEST_PASSWORD.to_owned(),
            role,
            stores,
        };
        identity::accounts::create(postgres, account)
            .await
            .with_context(|| format!("making the test {} {email}", role.as_str()))?;
    }
    let (customer, other_customer, staff, admin) = tokio::try_join!(
        register(http, base, &emails[0]),
        register(http, base, &emails[1]),
        login(http, base, &emails[2]),
        login(http, base, &emails[3]),
    )?;
    let client = pos_client(http, base, &admin, STORE).await?;
    let pos = pos_token(http, base, &client).await?;
    let tokens = Tokens {
        customer,
        other_customer,
        staff,
        pos,
        admin,
    };
    Ok((tokens, client))
}

/// A new POS client credential of `store`, issued by `admin`.
pub async fn pos_client(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    store: &str,
) -> anyhow::Result<PosClientCredential> {
    let url = format!("{base}/v1/stores/{store}/pos-clients");
    let answer = answer_of(http.post(&url).bearer_auth(admin), &url).await?;
    let field = |name: &str| {
        answer[name]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("POST {url}: no {name} in {answer}"))
    };
    Ok(PosClientCredential {
        id: field("client_id")?,
        secret: field("client_secret")?,
    })
}

/// A `pos` token of `client` from identity's token endpoint (RFC 6749 §4.4).
pub async fn pos_token(
    http: &reqwest::Client,
    base: &str,
    client: &PosClientCredential,
) -> anyhow::Result<String> {
    let url = format!("{base}/v1/auth/token");
    let request = http
        .post(&url)
        .basic_auth(&client.id, Some(&client.secret))
        .form(&[("grant_type", "client_credentials")]);
    access_token_of(answer_of(request, &url).await?, &url)
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
    access_token_of(answer_of(http.post(url).json(body), url).await?, url)
}

/// The JSON answer of a request that must succeed.
async fn answer_of(request: reqwest::RequestBuilder, url: &str) -> anyhow::Result<Value> {
    let response = request
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("POST {url} answered {status}: {answer}");
    }
    Ok(answer)
}

fn access_token_of(answer: Value, url: &str) -> anyhow::Result<String> {
    answer["access_token"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("POST {url}: no access_token in {answer}"))
}
