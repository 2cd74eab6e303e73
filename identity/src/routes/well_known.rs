//! Discovery: the public keys tokens are signed with, and where things are.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::state::AppState;
use crate::keys::Jwk;

/// A JWK Set (RFC 7517).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct JwkSet {
    /// The key signing now first, then a key about to sign (after a
    /// rotation) and keys retired less than a day ago.
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
    /// Where POS devices get tokens (client credentials).
    pub token_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
}

/// `GET /.well-known/openid-configuration`: the issuer and its endpoints.
#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "discovery",
    responses((status = 200, description = "Issuer and endpoints", body = Discovery)))]
pub async fn openid_configuration(State(state): State<AppState>) -> Json<Discovery> {
    let issuer = state.signer.issuer.clone();
    Json(Discovery {
        jwks_uri: format!("{issuer}/.well-known/jwks.json"),
        token_endpoint: format!("{issuer}/v1/auth/token"),
        grant_types_supported: vec!["client_credentials"],
        token_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post"],
        id_token_signing_alg_values_supported: vec!["ES256"],
        issuer,
    })
}
