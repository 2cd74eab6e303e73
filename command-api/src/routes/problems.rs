//! The problems the command routes answer with besides the domain's and the
//! writer's (see `error.rs`), and the OpenAPI descriptions of the problems
//! every command can answer.

use axum::http::StatusCode;
use platform::{FieldError, Problem, ProblemBody};

use crate::dto::{CartRefusal, StoreRefusal};

/// `422 validation_failed` with the invalid fields.
pub(super) fn invalid(errors: Vec<FieldError>) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
        "the request has invalid fields",
    )
    .with_errors(errors)
}

/// `422 validation_failed` with one invalid field.
pub(super) fn field_error(field: &str, message: impl ToString) -> Problem {
    invalid(vec![FieldError {
        field: field.into(),
        message: message.to_string(),
    }])
}

pub(super) fn order_not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "order_not_found",
        "the order does not exist",
    )
}

/// A store's body that cannot be taken.
pub(super) fn refused_store(refusal: StoreRefusal) -> Problem {
    match refusal {
        StoreRefusal::Invalid(errors) => invalid(errors),
        StoreRefusal::Rule(detail) => {
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_store", detail)
        }
    }
}

/// A placing or quoting body that cannot be taken.
pub(super) fn refused_cart(refusal: CartRefusal) -> Problem {
    match refusal {
        CartRefusal::OrderIdSent => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "order_id_not_accepted",
            "the server assigns order ids: send the body without `order_id`; to retry a \
             placement safely, send it again with the same Idempotency-Key",
        ),
        CartRefusal::Invalid(errors) => invalid(errors),
    }
}

/// The problems every command can answer besides [`platform::Refusals`].
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // Never built: it only describes answers.
pub(crate) enum CommandProblems {
    /// Malformed JSON or an unknown field (`malformed_body`).
    #[response(status = 400, content_type = "application/problem+json")]
    Malformed(ProblemBody<'static>),
    /// No such store or order.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(ProblemBody<'static>),
    /// Body over 64 KiB (`payload_too_large`).
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(ProblemBody<'static>),
    /// Not `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedType(ProblemBody<'static>),
    /// A rule the command breaks, with its `code`; `validation_failed` lists the invalid fields.
    #[response(status = 422, content_type = "application/problem+json")]
    Broken(ProblemBody<'static>),
    /// `unavailable`: the store's partition is being taken over or owned
    /// elsewhere, or its writer's queue is full; `payment_unavailable`; or the
    /// server's limits (see `platform::Overload`): `overloaded`, `timeout`.
    /// Retry after `Retry-After` seconds.
    #[response(
        status = 503,
        content_type = "application/problem+json",
        headers(("Retry-After" = u32, description = "Seconds to wait before retrying"))
    )]
    Unavailable(ProblemBody<'static>),
}

/// The answer of a command on an order that ended longer ago than the
/// retention window: it can be read, not changed.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 410,
    description = "`order_gone`",
    content_type = "application/problem+json"
)]
#[allow(dead_code)] // Never built: it only describes answers.
pub(crate) struct Gone(ProblemBody<'static>);

/// The answer of a command that meets another state than it expects.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 409,
    description = "`version_conflict`, `invalid_transition`, `order_exists`, `cancel_not_allowed`",
    content_type = "application/problem+json"
)]
#[allow(dead_code)] // Never built: it only describes answers.
pub(crate) struct Conflict(ProblemBody<'static>);
