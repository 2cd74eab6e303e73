//! The service's own Postgres tables: users and refresh tokens (as SHA-256
//! hashes, in families). The mailed tokens, the outbox, invitations, POS
//! clients and signing keys have files of their own.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{GenericClient, Pool};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use crate::role::AccountRole;
use crate::secret_token;

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

/// An account to insert.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: AccountRole,
    pub stores: &'a [String],
    pub email_verified: bool,
}

/// A new account; `None` when the email (whatever its case) is taken.
pub async fn insert_user(
    client: &impl GenericClient,
    user: &NewUser<'_>,
) -> anyhow::Result<Option<User>> {
    let inserted = client
        .query_one(
            &format!(
                "insert into users (id, email, name, password_hash, role, stores, email_verified)
                 values ($1, $2, $3, $4, $5, $6, $7) returning {USER_COLUMNS}"
            ),
            &[
                &Uuid::now_v7(),
                &user.email,
                &user.name,
                &user.password_hash,
                &user.role.as_str(),
                &user.stores,
                &user.email_verified,
            ],
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
    user_and_hash(client, "lower(email) = lower($1)", &email)
        .await
        .context("reading a user by email")
}

/// The account of `id` and its password hash.
pub async fn user_with_hash(
    client: &impl GenericClient,
    id: Uuid,
) -> anyhow::Result<Option<(User, String)>> {
    user_and_hash(client, "id = $1", &id)
        .await
        .context("reading a user")
}

/// The account that `condition` (on `$1` = `value`) finds, and its hash.
async fn user_and_hash(
    client: &impl GenericClient,
    condition: &str,
    value: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Result<Option<(User, String)>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            &format!("select {USER_COLUMNS} from users where {condition}"),
            &[value],
        )
        .await?;
    Ok(row.map(|r| (User::from_row(&r), r.get(8))))
}

/// The account of `id`.
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

/// Issues a refresh token of `family` (a new family at login) to `user`;
/// only its hash is stored.
pub async fn issue_refresh(
    client: &impl GenericClient,
    user: Uuid,
    family: Uuid,
) -> anyhow::Result<String> {
    let token = secret_token::generate();
    let expires_at = Utc::now() + Duration::days(REFRESH_TOKEN_DAYS);
    client
        .execute(
            "insert into refresh_tokens (token_hash, family_id, user_id, expires_at)
             values ($1, $2, $3, $4)",
            &[&secret_token::hash(&token), &family, &user, &expires_at],
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
            &[&secret_token::hash(token)],
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
            &[&secret_token::hash(token)],
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
            &[&secret_token::hash(token)],
        )
        .await
        .context("revoking a refresh token family")?;
    Ok(())
}

/// Revokes every refresh token of `user`, of every family.
pub async fn revoke_all_of(client: &impl GenericClient, user: Uuid) -> anyhow::Result<()> {
    client
        .execute(
            "update refresh_tokens set revoked = true where user_id = $1",
            &[&user],
        )
        .await
        .context("revoking a user's refresh tokens")?;
    Ok(())
}

/// Sets the password hash of `user`.
pub async fn set_password(
    client: &impl GenericClient,
    user: Uuid,
    password_hash: &str,
) -> anyhow::Result<()> {
    client
        .execute(
            "update users set password_hash = $2 where id = $1",
            &[&user, &password_hash],
        )
        .await
        .context("changing a password")?;
    Ok(())
}

/// Marks the email of `user` verified.
pub async fn mark_verified(client: &impl GenericClient, user: Uuid) -> anyhow::Result<()> {
    client
        .execute(
            "update users set email_verified = true where id = $1",
            &[&user],
        )
        .await
        .context("marking an email verified")?;
    Ok(())
}

/// Deletes the account of `user` and, by the foreign keys' cascades, its
/// refresh tokens, mailed tokens and queued mails; `false` if it was gone.
pub async fn delete_user(client: &impl GenericClient, user: Uuid) -> anyhow::Result<bool> {
    let deleted = client
        .execute("delete from users where id = $1", &[&user])
        .await
        .context("deleting a user")?;
    Ok(deleted > 0)
}
