//! Inviting staff and admins, and accepting an invitation.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use platform::{JsonRequest, Problem};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::http::{
    Caller, blocking, email_taken, field, internal, invalid, invalid_token, weak_password,
};
use super::session::{self, WebClient};
use super::state::AppState;
use crate::db::{self, NewUser};
use crate::invitations::{self, NewInvitation};
use crate::mail;
use crate::password;
use crate::role::AccountRole;
use crate::validate::{EmailField, StoreIdField, valid_email, valid_name, valid_store_id};

/// The roles an invitation may give.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum InvitedRole {
    Staff,
    Admin,
}

impl From<InvitedRole> for AccountRole {
    fn from(role: InvitedRole) -> AccountRole {
        match role {
            InvitedRole::Staff => AccountRole::Staff,
            InvitedRole::Admin => AccountRole::Admin,
        }
    }
}

/// `POST /v1/invitations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    pub email: EmailField,
    pub role: InvitedRole,
    /// The stores the account works at: at least one for staff. Each
    /// matches `^[a-z0-9][a-z0-9-]{0,63}$`.
    #[serde(default)]
    #[schema(max_items = 100, example = json!(["downtown-42"]))]
    pub stores: Vec<StoreIdField>,
}

/// An invitation on its way.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InvitationCreated {
    pub id: Uuid,
    pub email: String,
    pub role: AccountRole,
    pub stores: Vec<String>,
    /// Seven days on.
    pub expires_at: DateTime<Utc>,
}

/// `POST /v1/auth/invitations/accept`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptBody {
    /// The token of the mailed link (`/invitation?token=`).
    #[schema(min_length = 1, max_length = 128)]
    pub token: String,
    /// Held to the registration's rules.
    #[schema(min_length = 10, max_length = 128)]
    pub password: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// The most stores one account is given.
const MAX_STORES: usize = 100;

/// Invites someone as staff of some stores, or as an admin: mails them a
/// link (valid 7 days) to choose their name and password.
#[utoipa::path(post, path = "/v1/invitations", tag = "invitations", security(("bearer" = [])),
    request_body = InvitationBody,
    responses(
        (status = 201, description = "Invited; the mail is on its way", body = InvitationCreated),
        (status = 401, description = "`unauthenticated`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`: the email has an account",
         body = platform::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, or `stores_required`: staff \
         without stores", body = platform::ProblemBody,
         content_type = "application/problem+json"),
    ))]
pub async fn create_invitation(
    State(state): State<AppState>,
    caller: Caller,
    request: JsonRequest<InvitationBody>,
) -> Result<Response, Problem> {
    caller.admin()?;
    let InvitationBody {
        email: EmailField(email),
        role,
        stores,
    } = request.body;
    let stores: Vec<String> = stores.into_iter().map(|s| s.0).collect();
    let mut errors = Vec::new();
    if !valid_email(&email) {
        errors.push(field("email", "not an email address"));
    }
    if stores.len() > MAX_STORES || !stores.iter().all(|s| valid_store_id(s)) {
        errors.push(field(
            "stores",
            "at most 100 store ids, each ^[a-z0-9][a-z0-9-]{0,63}$",
        ));
    }
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    // A rule between two fields, which the schema does not state: a domain
    // code, not `validation_failed`.
    if matches!(role, InvitedRole::Staff) && stores.is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "stores_required",
            "staff work at one store at least: name their stores",
        ));
    }
    let mut client = state.pool.get().await.map_err(internal)?;
    if db::user_by_email(&client, &email)
        .await
        .map_err(internal)?
        .is_some()
    {
        return Err(email_taken());
    }
    let role = AccountRole::from(role);
    let tx = client.transaction().await.map_err(internal)?;
    let new = NewInvitation {
        email: &email,
        role,
        stores: &stores,
        invited_by: caller.sub,
    };
    let public_url = &state.settings.public_url;
    let invitation = invitations::create_and_mail(&tx, &new, |token| {
        mail::invitation(public_url, &email, role.as_str(), token)
    })
    .await
    .map_err(internal)?;
    tx.commit().await.map_err(internal)?;
    state.mail_queued.notify_one();
    tracing::info!(invitation = %invitation.id, by = %caller.sub, "invited an account");
    let created = InvitationCreated {
        id: invitation.id,
        email: invitation.email,
        role: invitation.role,
        stores: invitation.stores,
        expires_at: invitation.expires_at,
    };
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Accepts an invitation: creates the account with the invitation's email,
/// role and stores (its email verified: the mail reached it), and logs it
/// in. The token is spent.
#[utoipa::path(post, path = "/v1/auth/invitations/accept", tag = "invitations",
    request_body = AcceptBody,
    params(("X-Client" = Option<String>, Header,
            description = "`web`: the refresh token comes as the `qsr_refresh` cookie")),
    responses(
        (status = 201, description = "The account exists and is logged in",
         body = session::TokenResponse),
        (status = 400, description = "`invalid_token`: unknown, used already or expired",
         body = platform::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`: the email got an account meanwhile",
         body = platform::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`weak_password` or `validation_failed`; the token is \
         not spent", body = platform::ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    WebClient(web): WebClient,
    request: JsonRequest<AcceptBody>,
) -> Result<Response, Problem> {
    let AcceptBody {
        token,
        password,
        name,
    } = request.body;
    let name = name.trim().to_owned();
    if !valid_name(&name) {
        return Err(invalid(vec![field("name", "1 to 200 characters")]));
    }
    let mut client = state.pool.get().await.map_err(internal)?;
    let tx = client.transaction().await.map_err(internal)?;
    let invitation = invitations::accept(&tx, &token)
        .await
        .map_err(internal)?
        .ok_or_else(invalid_token)?;
    // A refusal from here on rolls back: the token stays usable.
    if let Err(weak) = password::check_strength(&password, &[&invitation.email, &name]) {
        return Err(weak_password(weak.detail()));
    }
    let hash = blocking(move || password::hash(&password))
        .await?
        .map_err(internal)?;
    let new = NewUser {
        email: &invitation.email,
        name: &name,
        password_hash: &hash,
        role: invitation.role,
        stores: &invitation.stores,
        email_verified: true,
    };
    let user = db::insert_user(&tx, &new)
        .await
        .map_err(internal)?
        .ok_or_else(email_taken)?;
    let (access, refresh) = session::new_session(&state, &tx, &user).await?;
    tx.commit().await.map_err(internal)?;
    tracing::info!(sub = %user.id, invitation = %invitation.id, role = %user.role,
                   "accepted an invitation");
    session::answer(StatusCode::CREATED, access, refresh, web)
}
