//! The OpenAPI 3.1 document of the identity service, generated from the
//! handlers' and bodies' annotations and served at `/openapi.json`.

use platform::BearerAuth;
use utoipa::OpenApi;

use crate::routes;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "QSR identity",
        description = "Accounts and tokens. Access tokens are ES256 JWTs (15 minutes, a POS \
                       device's 10; `iss`, `aud`, `sub`, `role`, `stores`, `iat`, `exp`, `jti`, \
                       a `kid` header; a customer's also `email_verified` when unverified \
                       customers may not order) verifiable with the keys at \
                       `/.well-known/jwks.json`. Refresh tokens \
                       are opaque and single-use: each refresh spends one and issues the next; \
                       presenting a spent one revokes all of its family. Passwords have 10 to \
                       128 characters, no composition rules, and must score at least 3 of 4 \
                       with the zxcvbn estimator; they are hashed with Argon2id (m=19456 KiB, \
                       t=2, p=1). Errors are RFC 9457 problem+json with a stable `code`.",
    ),
    paths(
        routes::auth::register,
        routes::auth::login,
        routes::auth::refresh,
        routes::auth::logout,
        routes::recovery::verify_email,
        routes::recovery::password_reset,
        routes::recovery::password_reset_confirm,
        routes::invitations::accept,
        routes::oauth_token::token,
        routes::me::get_me,
        routes::me::patch_me,
        routes::me::delete_me,
        routes::me::change_password,
        routes::invitations::create,
        routes::pos_clients::create,
        routes::pos_clients::revoke,
        routes::well_known::jwks,
        routes::well_known::openid_configuration,
    ),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    /// The document lists every route of the router, as OpenAPI 3.1.
    #[test]
    fn documents_every_route() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for (method, path) in [
            ("post", "/v1/auth/register"),
            ("post", "/v1/auth/login"),
            ("post", "/v1/auth/refresh"),
            ("post", "/v1/auth/logout"),
            ("post", "/v1/auth/verify-email"),
            ("post", "/v1/auth/password-reset"),
            ("post", "/v1/auth/password-reset/confirm"),
            ("post", "/v1/auth/invitations/accept"),
            ("post", "/v1/auth/token"),
            ("get", "/v1/me"),
            ("patch", "/v1/me"),
            ("delete", "/v1/me"),
            ("post", "/v1/me/password"),
            ("post", "/v1/invitations"),
            ("post", "/v1/stores/{store_id}/pos-clients"),
            ("delete", "/v1/stores/{store_id}/pos-clients/{client_id}"),
            ("get", "/.well-known/jwks.json"),
            ("get", "/.well-known/openid-configuration"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is not documented"
            );
        }
    }
}
