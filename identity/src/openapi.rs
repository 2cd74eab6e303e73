//! The OpenAPI 3.1 document of the identity service, generated from the
//! handlers' and bodies' annotations and served at `/openapi.json`.

use platform::BearerAuth;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

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
        routes::invitations::accept_invitation,
        routes::oauth_token::token,
        routes::me::get_me,
        routes::me::patch_me,
        routes::me::delete_me,
        routes::me::change_password,
        routes::invitations::create_invitation,
        routes::pos_clients::create_pos_client,
        routes::pos_clients::revoke_pos_client,
        routes::well_known::jwks,
        routes::well_known::openid_configuration,
    ),
    modifiers(&BearerAuth, &SharedAnswers)
)]
pub struct ApiDoc;

/// Adds the answers every route can give besides its own: `503` from the
/// server's limits (`overloaded`, `timeout`, `database_busy`, with
/// `Retry-After`), and for a JSON body `400 malformed_body` (malformed, a
/// wrong type, an unknown field), `413 payload_too_large` (over 64 KiB) and
/// `415 unsupported_media_type`. Added here once, so no route forgets them.
#[derive(Debug)]
struct SharedAnswers;

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            Content::new(Some(Ref::from_schema_name("Problem"))),
        )
        .build()
}

/// The operations whose JSON body may be left out (read as `{}`, as
/// `platform::JsonRequest` reads an empty body): a profile change of
/// nothing, and a refresh or logout by the `qsr_refresh` cookie.
const OPTIONAL_BODIES: &[&str] = &["patch_me", "refresh", "logout"];

fn add_shared(operation: &mut Operation) {
    let optional = operation
        .operation_id
        .as_deref()
        .is_some_and(|id| OPTIONAL_BODIES.contains(&id));
    if let Some(body) = operation.request_body.as_mut()
        && optional
    {
        body.required = Some(utoipa::openapi::Required::False);
    }
    let json_body = operation
        .request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key("application/json"));
    let mut shared = vec![(
        "503",
        "`overloaded`, `timeout` or `database_busy`: retry after `Retry-After` seconds",
    )];
    if json_body {
        shared.extend([
            (
                "400",
                "`malformed_body`: not JSON, a wrong type or an unknown field",
            ),
            ("413", "`payload_too_large`: a body over 64 KiB"),
            (
                "415",
                "`unsupported_media_type`: not `Content-Type: application/json`",
            ),
        ]);
    }
    for (status, description) in shared {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem(description).into());
    }
}

impl Modify for SharedAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                item.get.as_mut(),
                item.post.as_mut(),
                item.put.as_mut(),
                item.patch.as_mut(),
                item.delete.as_mut(),
            ];
            operations.into_iter().flatten().for_each(add_shared);
        }
    }
}

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
            assert!(
                doc["paths"][path][method]["responses"]["503"].is_object(),
                "{method} {path} misses the shared answers"
            );
        }
        let login = &doc["paths"]["/v1/auth/login"]["post"]["responses"];
        assert_eq!(
            login["415"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        assert!(doc["paths"]["/v1/auth/token"]["post"]["responses"]["415"].is_null());
    }
}
