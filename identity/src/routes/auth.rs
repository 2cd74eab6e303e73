//! Registering, logging in, refreshing and logging out.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use platform::{JsonRequest, Problem};
use serde::Deserialize;

use super::http::{ClientAddr, blocking, email_taken, field, internal, invalid, weak_password};
use super::session::{self, WebClient};
use super::state::AppState;
use crate::db::{self, NewUser, Refreshed};
use crate::email_tokens::{self, Purpose};
use crate::mail;
use crate::password;
use crate::role::AccountRole;
use crate::validate::{EmailField, valid_email, valid_name};

/// `POST /v1/auth/register`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// Unique whatever its case.
    pub email: EmailField,
    /// 10 to 128 characters, no composition rules; one the `zxcvbn`
    /// estimator scores below 3 of 4 is refused.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// `POST /v1/auth/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    pub email: String,
    pub password: String,
}

/// `POST /v1/auth/refresh` and `POST /v1/auth/logout`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The refresh token; when absent, the `qsr_refresh` cookie's.
    pub refresh_token: Option<String>,
}

fn invalid_credentials() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "the email or the password is wrong",
    )
}

fn invalid_refresh() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
        "the refresh token is unknown, spent, revoked or expired",
    )
}

/// Creates a customer account, mails a link to verify its email (valid 48
/// hours), and logs it in.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterBody,
    params(("X-Client" = Option<String>, Header,
            description = "`web`: the refresh token comes as the `qsr_refresh` cookie")),
    responses(
        (status = 201, description = "Registered and logged in", body = session::TokenResponse),
        (status = 409, description = "`email_taken`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 422, description = "`weak_password` (with the estimator's feedback) or \
         `validation_failed`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(state): State<AppState>,
    WebClient(web): WebClient,
    request: JsonRequest<RegisterBody>,
) -> Result<Response, Problem> {
    let RegisterBody {
        email: EmailField(email),
        password,
        name,
    } = request.body;
    let name = name.trim().to_owned();
    let mut errors = Vec::new();
    if !valid_email(&email) {
        errors.push(field("email", "not an email address"));
    }
    if !valid_name(&name) {
        errors.push(field("name", "1 to 200 characters"));
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    if let Err(weak) = password::check_strength(&password, &[&email, &name]) {
        return Err(weak_password(weak.detail()));
    }
    let hash = blocking(move || password::hash(&password))
        .await?
        .map_err(internal)?;
    let mut client = state.pool.get().await.map_err(internal)?;
    let tx = client.transaction().await.map_err(internal)?;
    let new = NewUser {
        email: &email,
        name: &name,
        password_hash: &hash,
        role: AccountRole::Customer,
        stores: &[],
        email_verified: false,
    };
    let user = db::insert_user(&tx, &new)
        .await
        .map_err(internal)?
        .ok_or_else(email_taken)?;
    let public_url = &state.settings.public_url;
    email_tokens::issue_and_mail(&tx, Purpose::VerifyEmail, user.id, |token| {
        mail::verify_email(public_url, &user.email, token)
    })
    .await
    .map_err(internal)?;
    let (access, refresh) = session::new_session(&state, &tx, &user).await?;
    tx.commit().await.map_err(internal)?;
    state.mail_queued.notify_one();
    tracing::info!(sub = %user.id, "registered a customer");
    session::answer(StatusCode::CREATED, access, refresh, web)
}

/// Logs in with email and password. An unknown email and a wrong password
/// answer the same `401 invalid_credentials` after the same work. After 5
/// failures of one account, or 20 from one address, within the login
/// window, logins are refused with `429` until the oldest leaves it.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginBody,
    params(("X-Client" = Option<String>, Header,
            description = "`web`: the refresh token comes as the `qsr_refresh` cookie")),
    responses(
        (status = 200, description = "Logged in", body = session::TokenResponse),
        (status = 401, description = "`invalid_credentials`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`, with `Retry-After`: seconds until \
         the oldest counted failure leaves the window", body = platform::ProblemBody,
         content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    WebClient(web): WebClient,
    ClientAddr(address): ClientAddr,
    request: JsonRequest<LoginBody>,
) -> Result<Response, Problem> {
    let LoginBody { email, password } = request.body;
    if let Err(seconds) = state.throttle.check(&email, address) {
        metrics::counter!("qsr_identity_logins_total", "outcome" => "too_many_attempts")
            .increment(1);
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed logins: try again later",
        )
        .retry_after(u32::try_from(seconds).unwrap_or(u32::MAX)));
    }
    let client = state.pool.get().await.map_err(internal)?;
    let found = db::user_by_email(&client, email.trim())
        .await
        .map_err(internal)?;
    // No connection is held through the hash's ~50 ms.
    drop(client);
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let dummy = state.dummy_hash.clone();
    let matches = blocking(move || password::verify(&password, hash.as_deref(), &dummy)).await?;
    let outcome = if matches { "ok" } else { "invalid_credentials" };
    metrics::counter!("qsr_identity_logins_total", "outcome" => outcome).increment(1);
    match user {
        Some(user) if matches => {
            state.throttle.succeeded(&email);
            let client = state.pool.get().await.map_err(internal)?;
            let (access, refresh) = session::new_session(&state, &client, &user).await?;
            session::answer(StatusCode::OK, access, refresh, web)
        }
        _ => {
            state.throttle.failed(&email, address);
            Err(invalid_credentials())
        }
    }
}

/// The refresh token of the body, else of the cookie; and whether it came
/// from the cookie.
fn presented_refresh(body: RefreshBody, headers: &HeaderMap) -> Option<(String, bool)> {
    match body.refresh_token {
        Some(token) => Some((token, false)),
        None => session::refresh_cookie(headers).map(|token| (token, true)),
    }
}

/// Exchanges a refresh token (the body's, else the `qsr_refresh` cookie's)
/// for new tokens; the token is spent. Presenting a spent token again
/// revokes every token of its family.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    params(("X-Client" = Option<String>, Header,
            description = "`web`: the new refresh token comes as the `qsr_refresh` cookie \
                           (so it does when the old one came as that cookie)")),
    responses(
        (status = 200, description = "New tokens", body = session::TokenResponse),
        (status = 401, description = "`invalid_refresh_token`: missing, unknown, spent, \
         revoked or expired (a spent one revokes its family)", body = platform::ProblemBody,
         content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    WebClient(web): WebClient,
    headers: HeaderMap,
    request: JsonRequest<RefreshBody>,
) -> Result<Response, Problem> {
    let (token, from_cookie) =
        presented_refresh(request.body, &headers).ok_or_else(invalid_refresh)?;
    let outcome = db::rotate_refresh(&state.pool, &token)
        .await
        .map_err(internal)?;
    let Refreshed::Rotated { user, token } = outcome else {
        return Err(invalid_refresh());
    };
    let client = state.pool.get().await.map_err(internal)?;
    let user = db::user_by_id(&client, user)
        .await
        .map_err(internal)?
        .ok_or_else(invalid_refresh)?;
    let access = session::access_token(&state, &user)?;
    session::answer(StatusCode::OK, access, token, web || from_cookie)
}

/// Logs out: revokes every refresh token of the given one's family (the
/// body's, else the `qsr_refresh` cookie's) and clears the cookie. An
/// unknown token revokes nothing and answers the same.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshBody,
    responses((status = 204, description = "The family is revoked; `qsr_refresh` is cleared")))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: JsonRequest<RefreshBody>,
) -> Result<Response, Problem> {
    if let Some((token, _)) = presented_refresh(request.body, &headers) {
        let client = state.pool.get().await.map_err(internal)?;
        db::revoke_family(&client, &token).await.map_err(internal)?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, session::cleared_cookie()?)],
    )
        .into_response())
}
