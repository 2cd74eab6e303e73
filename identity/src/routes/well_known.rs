//! Discovery: the public keys tokens are signed with, and where things are.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::state::AppState;
use crate::keys::Jwk;

/// A JWK Set (RFC 7517).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JwkSet {
    /// The current key first, then keys retired less than a day ago.
    pub keys: Vec<Jwk>,
}

/// `GET /.well-known/jwks.json`: the keys to verify access tokens with.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "discovery",
    responses((status = 200, description = "The signing keys' public halves", body = JwkSet)))]
pub async fn jwks(State(state): State<AppState>) -> Json<JwkSet> {
    Json(JwkSet {
        keys: state.signer.jwks(),
    })
}

/// An OpenID Connect discovery document, as much of it as applies.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Discovery {
    /// The `iss` of every token.
    pub issuer: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
}

/// `GET /.well-known/openid-configuration`: the issuer and its endpoints.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "discovery",
    responses((status = 200, description = "Issuer and endpoints", body = Discovery)))]
pub async fn openid_configuration(State(state): State<AppState>) -> Json<Discovery> {
    let issuer = state.signer.issuer.clone();
    Json(Discovery {
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        token_endpoint: format!("{issuer}/v1/auth/login"),
        id_token_signing_alg_values_supported: vec!["ES256"],
        issuer,
    })
}
