//! How a command's failure answers over HTTP: one status per `code`.

use axum::http::StatusCode;
use platform::Problem;

use crate::payments::PaymentError;
use crate::writer::CommandError;

/// The HTTP status of a domain error's code.
fn status_of(code: &str) -> StatusCode {
    match code {
        // An item the menu lacks is a flaw of the request (422), not a missing URL.
        "store_not_found" | "order_not_found" => StatusCode::NOT_FOUND,
        "order_exists" | "invalid_transition" | "cancel_not_allowed" | "payment_not_captured" => {
            StatusCode::CONFLICT
        }
        // Every other rule a request breaks: validation of its content.
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<CommandError> for Problem {
    fn from(error: CommandError) -> Problem {
        match error {
            CommandError::Domain(e) => Problem::new(status_of(e.code()), e.code(), e.to_string()),
            CommandError::Gone => Problem::new(StatusCode::GONE, "order_gone", error_detail_gone()),
            CommandError::VersionConflict { current } => Problem::new(
                StatusCode::CONFLICT,
                "version_conflict",
                format!("the current version is {current}"),
            ),
            CommandError::Unavailable(detail) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail).retry_after(1)
            }
        }
    }
}

impl From<PaymentError> for Problem {
    fn from(error: PaymentError) -> Problem {
        let (status, code) = match error {
            PaymentError::Declined => (StatusCode::PAYMENT_REQUIRED, "payment_declined"),
            PaymentError::InsufficientFunds => (StatusCode::PAYMENT_REQUIRED, "insufficient_funds"),
            PaymentError::InvalidToken => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_payment_token")
            }
            PaymentError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "payment_unavailable"),
        };
        let problem = Problem::new(status, code, error.to_string());
        if status == StatusCode::SERVICE_UNAVAILABLE {
            problem.retry_after(2)
        } else {
            problem
        }
    }
}

fn error_detail_gone() -> &'static str {
    "the order ended longer ago than the retention window; it can be read, not changed"
}
