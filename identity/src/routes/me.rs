//! The caller's own profile.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use platform::{JsonRequest, Problem};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::http::{Subject, field, internal, invalid, unauthenticated};
use super::state::AppState;
use crate::db::{self, User};

/// A profile.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// The opaque id other services know the account by (`sub`).
    pub id: Uuid,
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
            id: user.id,
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
        (status = 401, description = "`unauthenticated`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
    ))]
pub async fn get_me(
    State(state): State<AppState>,
    Subject(sub): Subject,
) -> Result<Json<Me>, Problem> {
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
    Subject(sub): Subject,
    request: JsonRequest<PatchMe>,
) -> Result<Json<Me>, Problem> {
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
