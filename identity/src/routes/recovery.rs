//! What the mailed links lead to: verifying an email, and resetting a
//! forgotten password.

use axum::extract::State;
use axum::http::StatusCode;
use platform::{JsonRequest, Problem};
use serde::Deserialize;

use super::http::{blocking, field, internal, invalid, invalid_token, weak_password};
use super::state::AppState;
use crate::db;
use crate::email_tokens::{self, Purpose};
use crate::mail;
use crate::password;
use crate::secret_token;
use crate::validate::{EmailField, valid_email};

/// `POST /v1/auth/verify-email`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailBody {
    /// The token of the mailed link (`/verify-email?token=`).
    #[schema(min_length = 1, max_length = 128)]
    pub token: String,
}

/// `POST /v1/auth/password-reset`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetBody {
    pub email: EmailField,
}

/// `POST /v1/auth/password-reset/confirm`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirmBody {
    /// The token of the mailed link (`/reset-password?token=`).
    #[schema(min_length = 1, max_length = 128)]
    pub token: String,
    /// The new password, held to the registration's rules.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
}

/// Marks the email of the token's account verified; the token is spent.
/// Access tokens issued after it (a refresh) say so.
#[utoipa::path(post, path = "/v1/auth/verify-email", tag = "auth",
    request_body = VerifyEmailBody,
    responses(
        (status = 204, description = "The email is verified"),
        (status = 400, description = "`invalid_token`: unknown, used already or expired \
         (48 hours)", body = platform::ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn verify_email(
    State(state): State<AppState>,
    request: JsonRequest<VerifyEmailBody>,
) -> Result<StatusCode, Problem> {
    let mut client = state.pool.get().await.map_err(internal)?;
    let tx = client.transaction().await.map_err(internal)?;
    let user = email_tokens::spend(&tx, Purpose::VerifyEmail, &request.body.token)
        .await
        .map_err(internal)?
        .ok_or_else(invalid_token)?;
    db::mark_verified(&tx, user).await.map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(sub = %user, "verified an email");
    Ok(StatusCode::NO_CONTENT)
}

/// Mails a link to choose a new password (valid an hour) to the account of
/// `email`, if there is one. The answer, and the work behind it, are the
/// same whether or not there is.
#[utoipa::path(post, path = "/v1/auth/password-reset", tag = "auth",
    request_body = PasswordResetBody,
    responses(
        (status = 202, description = "If the account exists, a mail is on its way"),
        (status = 422, description = "`validation_failed`: not an email address",
         body = platform::ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn password_reset(
    State(state): State<AppState>,
    request: JsonRequest<PasswordResetBody>,
) -> Result<StatusCode, Problem> {
    let email = request.body.email.0;
    if !valid_email(&email) {
        return Err(invalid(vec![field("email", "not an email address")]));
    }
    let token = secret_token::generate();
    let mail = mail::reset_password(&state.settings.public_url, &email, &token);
    let client = state.pool.get().await.map_err(internal)?;
    email_tokens::issue_reset_for_email(&client, &email, &token, &mail)
        .await
        .map_err(internal)?;
    state.mail_queued.notify_one();
    Ok(StatusCode::ACCEPTED)
}

/// Sets a new password with a mailed reset token, which is spent; every
/// refresh token of the account is revoked (every session ends), and the
/// email counts as verified.
#[utoipa::path(post, path = "/v1/auth/password-reset/confirm", tag = "auth",
    request_body = PasswordResetConfirmBody,
    responses(
        (status = 204, description = "The password is changed; every session is ended"),
        (status = 400, description = "`invalid_token`: unknown, used already or expired \
         (an hour)", body = platform::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`weak_password`; the token is not spent",
         body = platform::ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn password_reset_confirm(
    State(state): State<AppState>,
    request: JsonRequest<PasswordResetConfirmBody>,
) -> Result<StatusCode, Problem> {
    let PasswordResetConfirmBody { token, password } = request.body;
    let mut client = state.pool.get().await.map_err(internal)?;
    let tx = client.transaction().await.map_err(internal)?;
    let user = email_tokens::spend(&tx, Purpose::ResetPassword, &token)
        .await
        .map_err(internal)?
        .ok_or_else(invalid_token)?;
    let user = db::user_by_id(&tx, user)
        .await
        .map_err(internal)?
        .ok_or_else(invalid_token)?;
    // A weak password rolls back: the token stays usable for a better one.
    if let Err(weak) = password::check_strength(&password, &[&user.email, &user.name]) {
        return Err(weak_password(weak.detail()));
    }
    let hash = blocking(move || password::hash(&password))
        .await?
        .map_err(internal)?;
    db::set_password(&tx, user.id, &hash)
        .await
        .map_err(internal)?;
    db::revoke_all_of(&tx, user.id).await.map_err(internal)?;
    db::mark_verified(&tx, user.id).await.map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    state.throttle.succeeded(&user.email);
    tracing::info!(sub = %user.id, "reset a password");
    Ok(StatusCode::NO_CONTENT)
}
