//! What the OpenAPI documents of the HTTP services share.

use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

/// Adds the `bearer` security scheme (an HS256 JWT) the routes refer to.
#[derive(Debug)]
pub struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The refusals of every route that needs a bearer token, for the OpenAPI
/// documents (handlers answer them through [`crate::Caller`]).
#[derive(Debug, utoipa::IntoResponses)]
#[allow(dead_code)] // Never built: it only describes answers.
pub enum Refusals {
    /// `unauthenticated`: no valid bearer token.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthenticated(crate::ProblemBody<'static>),
    /// `forbidden`: outside the caller's role or stores.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(crate::ProblemBody<'static>),
}

/// The answers of every route under [`crate::with_limits`], for the OpenAPI
/// documents: the request was shed or took too long.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(dead_code)] // Never built: it only describes answers.
pub enum Overload {
    /// `overloaded`: the service serves as many requests as it takes;
    /// `timeout`: the answer took longer than the service allows;
    /// `database_busy`: no database connection was free in time; and on
    /// command routes `unavailable`: the store's partition is being taken
    /// over or its writer's queue is full. Retry after `Retry-After` seconds.
    #[response(
        status = 503,
        content_type = "application/problem+json",
        headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))
    )]
    Unavailable(crate::ProblemBody<'static>),
}

/// The answer of a route that limits each caller: `too_many_requests` or
/// `too_many_streams`, with the seconds to wait in `Retry-After`.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(dead_code)] // Never built: it only describes answers.
pub enum TooMany {
    /// The caller is over its limit; retry after `Retry-After` seconds.
    #[response(
        status = 429,
        content_type = "application/problem+json",
        headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))
    )]
    TooMany(crate::ProblemBody<'static>),
}

/// `GET /openapi.json`: the document `D` describes, rendered once when the
/// router is built rather than on every request.
pub fn openapi_route<S, D>() -> axum::Router<S>
where
    S: Clone + Send + Sync + 'static,
    D: utoipa::OpenApi,
{
    let body = axum::body::Bytes::from(serde_json::to_vec(&D::openapi()).unwrap_or_default());
    axum::Router::new().route(
        "/openapi.json",
        axum::routing::get(move || {
            let body = body.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    body,
                )
            }
        }),
    )
}
