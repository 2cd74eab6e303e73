//! The caller's own account: its profile, its password, and deleting it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use platform::{JsonRequest, Problem};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::http::{
    Caller, ClientAddr, blocking, field, forbidden, internal, invalid, unauthenticated,
    weak_password,
};
use super::session::{self, WebClient};
use super::state::AppState;
use crate::db::{self, User};
use crate::password;
use crate::role::AccountRole;

/// A profile.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// The opaque id other services know the account by (`sub`).
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    /// `customer`, `staff` or `admin`.
    pub role: String,
    /// The stores a staff account works at.
    pub stores: Vec<String>,
    pub email_verified: bool,
    pub created_at: DateTime<Utc>,
}

impl From<User> for Me {
    fn from(user: User) -> Me {
        Me {
            user_id: user.id,
            email: user.email,
            name: user.name,
            phone: user.phone,
            role: user.role,
            stores: user.stores,
            email_verified: user.email_verified,
            created_at: user.created_at,
        }
    }
}

/// `PATCH /v1/me`: the fields to change; `phone: null` removes the phone.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchMe {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9 ()-]{3,32}$")]
    pub phone: Option<Option<String>>,
}

/// A field that is present, `null` or not.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

fn valid_phone(phone: &str) -> bool {
    let body = phone.strip_prefix('+').unwrap_or(phone);
    (3..=32).contains(&body.len())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-'))
}

/// The caller's profile.
#[utoipa::path(get, path = "/v1/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 200, description = "The profile", body = Me),
        (status = 401, description = "`unauthenticated`: no valid token, or its account \
         does not exist (deleted)", body = platform::ProblemBody,
         content_type = "application/problem+json"),
    ))]
pub async fn get_me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, Problem> {
    let sub = caller.sub;
    let client = state.pool.get().await.map_err(internal)?;
    let user = db::user_by_id(&client, sub).await.map_err(internal)?;
    user.map(|u| Json(u.into()))
        .ok_or_else(|| unauthenticated("the token's account does not exist"))
}

/// Changes the caller's name or phone.
#[utoipa::path(patch, path = "/v1/me", tag = "me", security(("bearer" = [])),
    request_body = PatchMe,
    responses(
        (status = 200, description = "The changed profile", body = Me),
        (status = 401, description = "`unauthenticated`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
    ))]
pub async fn patch_me(
    State(state): State<AppState>,
    caller: Caller,
    request: JsonRequest<PatchMe>,
) -> Result<Json<Me>, Problem> {
    let sub = caller.sub;
    let PatchMe { name, phone } = request.body;
    let name = name.map(|n| n.trim().to_owned());
    let phone = phone.map(|p| p.map(|p| p.trim().to_owned()));
    let mut errors = Vec::new();
    if name
        .as_ref()
        .is_some_and(|n| n.is_empty() || n.chars().count() > 200)
    {
        errors.push(field("name", "1 to 200 characters"));
    }
    if let Some(Some(p)) = &phone
        && !valid_phone(p)
    {
        errors.push(field(
            "phone",
            "digits, spaces, `()-`, an optional leading `+`",
        ));
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let client = state.pool.get().await.map_err(internal)?;
    let phone = phone.as_ref().map(|p| p.as_deref());
    let user = db::update_profile(&client, sub, name.as_deref(), phone)
        .await
        .map_err(internal)?;
    user.map(|u| Json(u.into()))
        .ok_or_else(|| unauthenticated("the token's account does not exist"))
}

/// `POST /v1/me/password`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    pub current_password: String,
    /// Held to the registration's rules.
    #[schema(min_length = 10, max_length = 128)]
    pub new_password: String,
}

/// Changes the caller's password. Every refresh token of the account is
/// revoked (every session, this one too, ends) and the answer starts a new
/// session. A wrong current password counts as a failed login.
#[utoipa::path(post, path = "/v1/me/password", tag = "me", security(("bearer" = [])),
    request_body = ChangePassword,
    params(("X-Client" = Option<String>, Header,
            description = "`web`: the new refresh token comes as the `qsr_refresh` cookie")),
    responses(
        (status = 200, description = "Changed; the tokens of a new session",
         body = session::TokenResponse),
        (status = 401, description = "`unauthenticated`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 403, description = "`wrong_password`: the current password is not it",
         body = platform::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`weak_password`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 429, description = "`too_many_attempts`, with `Retry-After`",
         body = platform::ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    WebClient(web): WebClient,
    ClientAddr(address): ClientAddr,
    request: JsonRequest<ChangePassword>,
) -> Result<Response, Problem> {
    let ChangePassword {
        current_password,
        new_password,
    } = request.body;
    let client = state.pool.get().await.map_err(internal)?;
    let (user, hash) = db::user_with_hash(&client, caller.sub)
        .await
        .map_err(internal)?
        .ok_or_else(|| unauthenticated("the token's account does not exist"))?;
    // No connection is held through the hashes' ~100 ms.
    drop(client);
    if let Err(seconds) = state.throttle.check(&user.email, address) {
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many wrong passwords: try again later",
        )
        .retry_after(u32::try_from(seconds).unwrap_or(u32::MAX)));
    }
    let dummy = state.dummy_hash.clone();
    let matches =
        blocking(move || password::verify(&current_password, Some(&hash), &dummy)).await?;
    if !matches {
        state.throttle.failed(&user.email, address);
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the current password is wrong",
        ));
    }
    if let Err(weak) = password::check_strength(&new_password, &[&user.email, &user.name]) {
        return Err(weak_password(weak.detail()));
    }
    let hash = blocking(move || password::hash(&new_password))
        .await?
        .map_err(internal)?;
    let mut client = state.pool.get().await.map_err(internal)?;
    let tx = client.transaction().await.map_err(internal)?;
    db::set_password(&tx, user.id, &hash)
        .await
        .map_err(internal)?;
    db::revoke_all_of(&tx, user.id).await.map_err(internal)?;
    let (access, refresh) = session::new_session(&state, &tx, &user).await?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(sub = %user.id, "changed a password");
    session::answer(StatusCode::OK, access, refresh, web)
}

/// Deletes the caller's customer account with everything personal: the
/// profile, its sessions, its mailed tokens and queued mails. Access tokens
/// already issued stay valid signatures for their minutes, but name an
/// account that no longer exists (`GET /v1/me` answers `401`). Staff and
/// admin accounts are not deleted this way.
#[utoipa::path(delete, path = "/v1/me", tag = "me", security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "`unauthenticated`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not a customer account",
         body = platform::ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn delete_me(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, Problem> {
    let mut client = state.pool.get().await.map_err(internal)?;
    let tx = client.transaction().await.map_err(internal)?;
    let user = db::user_by_id(&tx, caller.sub)
        .await
        .map_err(internal)?
        .ok_or_else(|| unauthenticated("the token's account does not exist"))?;
    if user.role != AccountRole::Customer.as_str() {
        return Err(forbidden(
            "only a customer account can be deleted by its owner",
        ));
    }
    db::delete_user(&tx, user.id).await.map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(sub = %user.id, "deleted an account");
    Ok(StatusCode::NO_CONTENT)
}
