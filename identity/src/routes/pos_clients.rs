//! A store's POS devices' client credentials, made and revoked by admins.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use platform::Problem;
use serde::Serialize;
use uuid::Uuid;

use super::http::{Caller, field, internal, invalid};
use super::state::AppState;
use crate::pos_clients;
use crate::validate::valid_store_id;

/// A new client's credentials: the secret is shown this once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PosClientCreated {
    /// The `client_id` of `POST /v1/auth/token`, and its tokens' `sub`.
    pub client_id: Uuid,
    /// The `client_secret` of `POST /v1/auth/token`: 43 characters of
    /// base64url; only its hash is kept, so it cannot be shown again.
    pub client_secret: String,
    pub store_id: String,
}

fn store_id(store_id: &str) -> Result<(), Problem> {
    if valid_store_id(store_id) {
        Ok(())
    } else {
        Err(invalid(vec![field(
            "store_id",
            "a store id: ^[a-z0-9][a-z0-9-]{0,63}$",
        )]))
    }
}

/// Makes client credentials for a POS device of the store; its tokens
/// (`POST /v1/auth/token`) have role `pos` and this store alone.
#[utoipa::path(post, path = "/v1/stores/{store_id}/pos-clients", tag = "pos",
    security(("bearer" = [])),
    params(("store_id" = String, Path, pattern = "^[a-z0-9][a-z0-9-]{0,63}$")),
    responses(
        (status = 201, description = "The credentials; the secret is shown once",
         body = PosClientCreated),
        (status = 401, description = "`unauthenticated`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: not a store id",
         body = platform::ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn create_pos_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(store): Path<String>,
) -> Result<(StatusCode, Json<PosClientCreated>), Problem> {
    caller.admin()?;
    store_id(&store)?;
    let client = state.pool.get().await.map_err(internal)?;
    let (client_id, client_secret) = pos_clients::create(&client, &store, caller.sub)
        .await
        .map_err(internal)?;
    tracing::info!(%client_id, store = %store, by = %caller.sub, "created a POS client");
    Ok((
        StatusCode::CREATED,
        Json(PosClientCreated {
            client_id,
            client_secret,
            store_id: store,
        }),
    ))
}

/// Revokes a POS client: it gets no more tokens (those it has live out
/// their minutes).
#[utoipa::path(delete, path = "/v1/stores/{store_id}/pos-clients/{client_id}", tag = "pos",
    security(("bearer" = [])),
    params(("store_id" = String, Path, pattern = "^[a-z0-9][a-z0-9-]{0,63}$"),
           ("client_id" = Uuid, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "`unauthenticated`", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: not an admin", body = platform::ProblemBody,
         content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: no live client of that id at that store",
         body = platform::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`: not a store id",
         body = platform::ProblemBody, content_type = "application/problem+json"),
    ))]
pub async fn revoke_pos_client(
    State(state): State<AppState>,
    caller: Caller,
    Path((store, client_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    caller.admin()?;
    store_id(&store)?;
    let not_found = || {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no live POS client of that id at that store",
        )
    };
    // Not a UUID: no client has that id.
    let client_id = Uuid::parse_str(&client_id).map_err(|_| not_found())?;
    let client = state.pool.get().await.map_err(internal)?;
    if pos_clients::revoke(&client, &store, client_id)
        .await
        .map_err(internal)?
    {
        tracing::info!(%client_id, store = %store, by = %caller.sub, "revoked a POS client");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}
