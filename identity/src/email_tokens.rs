//! Single-use tokens sent by mail (email verification, password reset),
//! stored as SHA-256 hashes in `email_tokens` and issued in the transaction
//! that queues their mail.

use anyhow::Context;
use chrono::{Duration, Utc};
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::mail::Mail;
use crate::outbox::{self, About};
use crate::secret_token;

/// What a mailed token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }

    /// How long a token of this purpose may be used.
    fn lifetime(self) -> Duration {
        match self {
            Purpose::VerifyEmail => Duration::hours(48),
            Purpose::ResetPassword => Duration::hours(1),
        }
    }
}

/// Issues a token of `purpose` to `user` and queues the mail `compose`
/// writes around it, on `client` (the caller's transaction).
pub async fn issue_and_mail(
    client: &impl GenericClient,
    purpose: Purpose,
    user: Uuid,
    compose: impl FnOnce(&str) -> Mail,
) -> anyhow::Result<()> {
    let token = secret_token::generate();
    let expires_at = Utc::now() + purpose.lifetime();
    client
        .execute(
            "insert into email_tokens (token_hash, purpose, user_id, expires_at)
             values ($1, $2, $3, $4)",
            &[
                &secret_token::hash(&token),
                &purpose.as_str(),
                &user,
                &expires_at,
            ],
        )
        .await
        .context("storing a mailed token")?;
    outbox::enqueue(client, About::User(user), &compose(&token)).await
}

/// Issues a reset token for the account of `email`, if there is one, and
/// queues `mail` (addressed to the account's own spelling of the email):
/// one statement either way, so an unknown email costs the same round trip
/// as a known one.
pub async fn issue_reset_for_email(
    client: &impl GenericClient,
    email: &str,
    token: &str,
    mail: &Mail,
) -> anyhow::Result<()> {
    let expires_at = Utc::now() + Purpose::ResetPassword.lifetime();
    client
        .execute(
            "with account as (select id, email from users where lower(email) = lower($1)),
                  token as (insert into email_tokens (token_hash, purpose, user_id, expires_at)
                            select $2, $3, id, $4 from account)
             insert into mail_outbox (id, user_id, recipient, subject, body)
             select $5, id, email, $6, $7 from account",
            &[
                &email,
                &secret_token::hash(token),
                &Purpose::ResetPassword.as_str(),
                &expires_at,
                &Uuid::now_v7(),
                &mail.subject,
                &mail.body,
            ],
        )
        .await
        .context("issuing a password reset")?;
    Ok(())
}

/// Spends a token of `purpose`: its user, or `None` when it is unknown,
/// spent or expired. Of two uses at once, one wins.
pub async fn spend(
    client: &impl GenericClient,
    purpose: Purpose,
    token: &str,
) -> anyhow::Result<Option<Uuid>> {
    let row = client
        .query_opt(
            "update email_tokens set spent_at = now()
              where token_hash = $1 and purpose = $2 and spent_at is null
                and expires_at > now()
          returning user_id",
            &[&secret_token::hash(token), &purpose.as_str()],
        )
        .await
        .context("spending a mailed token")?;
    Ok(row.map(|r| r.get(0)))
}
