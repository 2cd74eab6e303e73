//! Registering, logging in, refreshing and logging out.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use platform::{JsonRequest, Problem};
use serde::Deserialize;
use uuid::Uuid;

use super::http::{TokenResponse, field, internal, invalid};
use super::state::AppState;
use crate::db::{self, Refreshed, User};
use crate::password;

/// `POST /v1/auth/register`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// Unique whatever its case.
    #[schema(max_length = 254, example = "ada@example.com")]
    pub email: String,
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
    pub refresh_token: String,
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
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

/// Runs CPU-heavy password work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(work).await.map_err(internal)
}

/// An access token and a refresh token of a new family for `user`.
async fn tokens_for(state: &AppState, user: &User) -> Result<TokenResponse, Problem> {
    let access = state
        .signer
        .access_token(user.id, &user.role, &user.stores)
        .map_err(internal)?;
    let client = state.pool.get().await.map_err(internal)?;
    let refresh = db::issue_refresh(&client, user.id, Uuid::new_v4())
        .await
        .map_err(internal)?;
    Ok(TokenResponse::new(access, refresh))
}

/// Creates a customer account and logs it in.
#[utoipa::path(post, path = "/v1/auth/register", tag = "auth", request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered and logged in", body = TokenResponse),
        (status = 409, description = "`email_taken`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 422, description = "`weak_password` (with the estimator's feedback) or \
         `validation_failed`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(state): State<AppState>,
    request: JsonRequest<RegisterBody>,
) -> Result<impl IntoResponse, Problem> {
    let RegisterBody {
        email,
        password,
        name,
    } = request.body;
    let (email, name) = (email.trim().to_owned(), name.trim().to_owned());
    let mut errors = Vec::new();
    if !valid_email(&email) {
        errors.push(field("email", "not an email address"));
    }
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(field("name", "1 to 200 characters"));
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    if let Err(weak) = password::check_strength(&password, &[&email, &name]) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "weak_password",
            weak.detail(),
        ));
    }
    let hash = blocking(move || password::hash(&password))
        .await?
        .map_err(internal)?;
    let client = state.pool.get().await.map_err(internal)?;
    let user = db::insert_customer(&client, &email, &name, &hash)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            Problem::new(
                StatusCode::CONFLICT,
                "email_taken",
                "an account with this email exists",
            )
        })?;
    drop(client);
    tracing::info!(sub = %user.id, "registered a customer");
    Ok((StatusCode::CREATED, Json(tokens_for(&state, &user).await?)))
}

/// Logs in with email and password. An unknown email and a wrong password
/// answer the same `401 invalid_credentials` after the same work.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    request: JsonRequest<LoginBody>,
) -> Result<Json<TokenResponse>, Problem> {
    let LoginBody { email, password } = request.body;
    let client = state.pool.get().await.map_err(internal)?;
    let found = db::user_by_email(&client, email.trim())
        .await
        .map_err(internal)?;
    drop(client);
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let matches = blocking(move || password::verify(&password, hash.as_deref())).await?;
    let outcome = if matches { "ok" } else { "invalid_credentials" };
    metrics::counter!("qsr_identity_logins_total", "outcome" => outcome).increment(1);
    match user {
        Some(user) if matches => Ok(Json(tokens_for(&state, &user).await?)),
        _ => Err(invalid_credentials()),
    }
}

/// Exchanges a refresh token for new tokens; the token is spent. Presenting
/// a spent token again revokes every token of its family.
#[utoipa::path(post, path = "/v1/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`: unknown, spent, revoked or \
         expired (a spent one revokes its family)", body = platform::ProblemBody,
         content_type = "application/problem+json"),
    ))]
pub async fn refresh(
    State(state): State<AppState>,
    request: JsonRequest<RefreshBody>,
) -> Result<Json<TokenResponse>, Problem> {
    let outcome = db::rotate_refresh(&state.pool, &request.body.refresh_token)
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
    let access = state
        .signer
        .access_token(user.id, &user.role, &user.stores)
        .map_err(internal)?;
    Ok(Json(TokenResponse::new(access, token)))
}

/// Logs out: revokes every refresh token of the given one's family. An
/// unknown token revokes nothing and answers the same.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", request_body = RefreshBody,
    responses((status = 204, description = "The family is revoked")))]
pub async fn logout(
    State(state): State<AppState>,
    request: JsonRequest<RefreshBody>,
) -> Result<StatusCode, Problem> {
    let client = state.pool.get().await.map_err(internal)?;
    db::revoke_family(&client, &request.body.refresh_token)
        .await
        .map_err(internal)?;
    Ok(StatusCode::NO_CONTENT)
}
