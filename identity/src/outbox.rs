//! The mail outbox in Postgres: a mail is written in the transaction of the
//! token it carries, so a token is never issued without its mail nor a mail
//! sent for a token that was rolled back; the sender (`mailer.rs`) leases
//! due mails, sends them and deletes or reschedules each.

use anyhow::Context;
use deadpool_postgres::{GenericClient, Pool};
use uuid::Uuid;

use crate::mail::Mail;

/// Whom a mail is about: it goes when they go, and is logged by their id
/// (never by the token it carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    User(Uuid),
    Invitation(Uuid),
}

impl std::fmt::Display for About {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            About::User(id) => write!(f, "user {id}"),
            About::Invitation(id) => write!(f, "invitation {id}"),
        }
    }
}

/// How long a leased mail is left to its sender before another may take it.
const LEASE_SECONDS: f64 = 120.0;

/// After this many failed attempts a mail is given up (`failed_at`).
pub const MAX_ATTEMPTS: i32 = 20;

/// Queues `mail` to be sent as soon as the sender gets to it.
pub async fn enqueue(client: &impl GenericClient, about: About, mail: &Mail) -> anyhow::Result<()> {
    let (user, invitation) = match about {
        About::User(id) => (Some(id), None),
        About::Invitation(id) => (None, Some(id)),
    };
    client
        .execute(
            "insert into mail_outbox (id, user_id, invitation_id, recipient, subject, body)
             values ($1, $2, $3, $4, $5, $6)",
            &[
                &Uuid::now_v7(),
                &user,
                &invitation,
                &mail.recipient,
                &mail.subject,
                &mail.body,
            ],
        )
        .await
        .context("queueing a mail")?;
    Ok(())
}

/// A mail leased for sending.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: Uuid,
    pub about: About,
    pub mail: Mail,
    /// Attempts before this one.
    pub attempts: i32,
}

/// Leases up to `limit` due mails, oldest due first; instances never lease
/// the same mail at once, and a lease that is not settled (the sender
/// died) runs out, so the mail is sent again.
pub async fn lease_due(pool: &Pool, limit: i64) -> anyhow::Result<Vec<Queued>> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let rows = client
        .query(
            "update mail_outbox
                set next_attempt_at = now() + make_interval(secs => $2::float8)
              where id in (select id from mail_outbox
                            where failed_at is null and next_attempt_at <= now()
                            order by next_attempt_at limit $1 for update skip locked)
          returning id, user_id, invitation_id, recipient, subject, body, attempts",
            &[&limit, &LEASE_SECONDS],
        )
        .await
        .context("leasing due mails")?;
    Ok(rows
        .iter()
        .map(|row| {
            let user: Option<Uuid> = row.get(1);
            let invitation: Option<Uuid> = row.get(2);
            Queued {
                id: row.get(0),
                about: match (user, invitation) {
                    (Some(id), _) => About::User(id),
                    (None, Some(id)) => About::Invitation(id),
                    // The insert always sets one of them.
                    (None, None) => About::User(Uuid::nil()),
                },
                mail: Mail {
                    recipient: row.get(3),
                    subject: row.get(4),
                    body: row.get(5),
                },
                attempts: row.get(6),
            }
        })
        .collect())
}

/// A sent mail leaves the outbox, and with it the token's link.
pub async fn sent(pool: &Pool, id: Uuid) -> anyhow::Result<()> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    client
        .execute("delete from mail_outbox where id = $1", &[&id])
        .await
        .context("removing a sent mail")?;
    Ok(())
}

/// Records a failed attempt: the mail is tried again after `retry_in`
/// seconds, or never when `retry_in` is `None`.
pub async fn failed(
    pool: &Pool,
    id: Uuid,
    error: &str,
    retry_in: Option<f64>,
) -> anyhow::Result<()> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    client
        .execute(
            "update mail_outbox
                set attempts = attempts + 1, last_error = $2,
                    next_attempt_at = now() + make_interval(secs => coalesce($3::float8, 0)),
                    failed_at = case when $3::float8 is null then now() end
              where id = $1",
            &[&id, &error, &retry_in],
        )
        .await
        .context("recording a failed mail")?;
    Ok(())
}
