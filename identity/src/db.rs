//! The service's own Postgres tables: users, refresh tokens (as SHA-256
//! hashes, in families) and signing keys.

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{GenericClient, Pool};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// The migration history table: a name of its own, so that the service's
/// migrations never mix with another's should it be pointed at a shared
/// database.
const HISTORY_TABLE: &str = "identity_schema_history";

/// How long a refresh token may be used, unless it is spent or revoked first.
pub const REFRESH_TOKEN_DAYS: i64 = 30;

/// Creates or updates the service's tables.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    platform::migrate(
        pool,
        embedded::migrations::runner(),
        HISTORY_TABLE,
        "the identity tables",
    )
    .await
}

/// An account, without its password hash.
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub role: String,
    pub stores: Vec<String>,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
}

const USER_COLUMNS: &str =
    "id, email, name, phone, role, stores, email_verified, created_at, password_hash";

impl User {
    fn from_row(row: &Row) -> User {
        User {
            id: row.get(0),
            email: row.get(1),
            name: row.get(2),
            phone: row.get(3),
            role: row.get(4),
            stores: row.get(5),
            email_verified: row.get(6),
            created_at: row.get(7),
        }
    }
}

/// A new customer; `None` when the email (whatever its case) is taken.
pub async fn insert_customer(
    client: &impl GenericClient,
    email: &str,
    name: &str,
    password_hash: &str,
) -> anyhow::Result<Option<User>> {
    let inserted = client
        .query_one(
            &format!(
                "insert into users (id, email, name, password_hash, role)
                 values ($1, $2, $3, $4, 'customer') returning {USER_COLUMNS}"
            ),
            &[&Uuid::now_v7(), &email, &name, &password_hash],
        )
        .await;
    match inserted {
        Ok(row) => Ok(Some(User::from_row(&row))),
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Ok(None),
        Err(e) => Err(e).context("inserting a user"),
    }
}

/// The account of `email` (whatever its case) and its password hash.
pub async fn user_by_email(
    client: &impl GenericClient,
    email: &str,
) -> anyhow::Result<Option<(User, String)>> {
    let row = client
        .query_opt(
            &format!("select {USER_COLUMNS} from users where lower(email) = lower($1)"),
            &[&email],
        )
        .await
        .context("reading a user by email")?;
    Ok(row.map(|r| (User::from_row(&r), r.get(8))))
}

pub async fn user_by_id(client: &impl GenericClient, id: Uuid) -> anyhow::Result<Option<User>> {
    let row = client
        .query_opt(
            &format!("select {USER_COLUMNS} from users where id = $1"),
            &[&id],
        )
        .await
        .context("reading a user")?;
    Ok(row.as_ref().map(User::from_row))
}

/// Changes what is given of a profile: `phone: Some(None)` clears it.
pub async fn update_profile(
    client: &impl GenericClient,
    id: Uuid,
    name: Option<&str>,
    phone: Option<Option<&str>>,
) -> anyhow::Result<Option<User>> {
    let row = client
        .query_opt(
            &format!(
                "update users set name = coalesce($2, name),
                        phone = case when $3 then $4 else phone end
                  where id = $1 returning {USER_COLUMNS}"
            ),
            &[&id, &name, &phone.is_some(), &phone.flatten()],
        )
        .await
        .context("updating a profile")?;
    Ok(row.as_ref().map(User::from_row))
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Issues a refresh token of `family` (a new family at login) to `user`:
/// 32 random bytes, base64url; only its hash is stored.
pub async fn issue_refresh(
    client: &impl GenericClient,
    user: Uuid,
    family: Uuid,
) -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let expires_at = Utc::now() + Duration::days(REFRESH_TOKEN_DAYS);
    client
        .execute(
            "insert into refresh_tokens (token_hash, family_id, user_id, expires_at)
             values ($1, $2, $3, $4)",
            &[&token_hash(&token), &family, &user, &expires_at],
        )
        .await
        .context("storing a refresh token")?;
    Ok(token)
}

/// What presenting a refresh token came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// The token was good and is spent now: here is the next of its family.
    Rotated { user: Uuid, token: String },
    /// The token was spent already: its whole family is revoked now.
    Replayed,
    /// Unknown, revoked or expired.
    Invalid,
}

/// Spends `token` and issues the next of its family; a token spent before
/// revokes its family instead (OAuth 2.0 Security BCP, refresh token
/// rotation). The row is locked, so of two uses at once one is a replay.
pub async fn rotate_refresh(pool: &Pool, token: &str) -> anyhow::Result<Refreshed> {
    let mut client = pool.get().await.context("getting a Postgres connection")?;
    let tx = client.transaction().await.context("beginning")?;
    let row = tx
        .query_opt(
            "select family_id, user_id, spent, revoked, expires_at > now()
               from refresh_tokens where token_hash = $1 for update",
            &[&token_hash(token)],
        )
        .await
        .context("reading a refresh token")?;
    let Some(row) = row else {
        return Ok(Refreshed::Invalid);
    };
    let (family, user): (Uuid, Uuid) = (row.get(0), row.get(1));
    let (spent, revoked, live): (bool, bool, bool) = (row.get(2), row.get(3), row.get(4));
    let outcome = if revoked || !live {
        Refreshed::Invalid
    } else if spent {
        revoke_family_of(&tx, family).await?;
        tracing::warn!(%family, %user, "a spent refresh token was replayed: family revoked");
        metrics::counter!("qsr_identity_refresh_replays_total").increment(1);
        Refreshed::Replayed
    } else {
        tx.execute(
            "update refresh_tokens set spent = true where token_hash = $1",
            &[&token_hash(token)],
        )
        .await
        .context("spending a refresh token")?;
        let next = issue_refresh(&tx, user, family).await?;
        Refreshed::Rotated { user, token: next }
    };
    tx.commit().await.context("committing a refresh")?;
    Ok(outcome)
}

async fn revoke_family_of(client: &impl GenericClient, family: Uuid) -> anyhow::Result<()> {
    client
        .execute(
            "update refresh_tokens set revoked = true where family_id = $1",
            &[&family],
        )
        .await
        .context("revoking a refresh token family")?;
    Ok(())
}

/// Revokes the family of `token`, whatever state it is in; an unknown token
/// revokes nothing.
pub async fn revoke_family(client: &impl GenericClient, token: &str) -> anyhow::Result<()> {
    client
        .execute(
            "update refresh_tokens set revoked = true where family_id =
               (select family_id from refresh_tokens where token_hash = $1)",
            &[&token_hash(token)],
        )
        .await
        .context("revoking a refresh token family")?;
    Ok(())
}
