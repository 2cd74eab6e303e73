//! Invitations of staff and admins (`invitations`): a single-use token,
//! stored as its SHA-256 hash, mailed in the transaction that records it.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::mail::Mail;
use crate::outbox::{self, About};
use crate::role::AccountRole;
use crate::secret_token;

/// How long an invitation may be accepted.
pub const LIFETIME_DAYS: i64 = 7;

/// A recorded invitation.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub role: AccountRole,
    pub stores: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

/// Who is invited, as what, by whom.
#[derive(Debug, Clone)]
pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub role: AccountRole,
    pub stores: &'a [String],
    pub invited_by: Uuid,
}

/// Records an invitation and queues the mail `compose` writes around its
/// token, on `client` (the caller's transaction).
pub async fn create_and_mail(
    client: &impl GenericClient,
    invitation: &NewInvitation<'_>,
    compose: impl FnOnce(&str) -> Mail,
) -> anyhow::Result<Invitation> {
    let token = secret_token::generate();
    let id = Uuid::now_v7();
    let expires_at = Utc::now() + Duration::days(LIFETIME_DAYS);
    client
        .execute(
            "insert into invitations (id, token_hash, email, role, stores, invited_by, expires_at)
             values ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &id,
                &secret_token::hash(&token),
                &invitation.email,
                &invitation.role.as_str(),
                &invitation.stores,
                &invitation.invited_by,
                &expires_at,
            ],
        )
        .await
        .context("recording an invitation")?;
    outbox::enqueue(client, About::Invitation(id), &compose(&token)).await?;
    Ok(Invitation {
        id,
        email: invitation.email.to_owned(),
        role: invitation.role,
        stores: invitation.stores.to_vec(),
        expires_at,
    })
}

/// Accepts the invitation of `token`: `None` when it is unknown, accepted
/// already or expired. Of two uses at once, one wins.
pub async fn accept(
    client: &impl GenericClient,
    token: &str,
) -> anyhow::Result<Option<Invitation>> {
    let row = client
        .query_opt(
            "update invitations set accepted_at = now()
              where token_hash = $1 and accepted_at is null and expires_at > now()
          returning id, email, role, stores, expires_at",
            &[&secret_token::hash(token)],
        )
        .await
        .context("accepting an invitation")?;
    let Some(row) = row else {
        return Ok(None);
    };
    let role: String = row.get(2);
    let role = AccountRole::parse(&role).context("an invitation of an unknown role")?;
    Ok(Some(Invitation {
        id: row.get(0),
        email: row.get(1),
        role,
        stores: row.get(3),
        expires_at: row.get(4),
    }))
}
