//! How a command's failure answers over HTTP: one status per domain error
//! variant, matched exhaustively, so a new variant does not compile until it
//! has its status.

use axum::http::StatusCode;
use domain::{DomainError, OrderError, StoreError};
use platform::Problem;

use crate::payments::PaymentError;
use crate::writer::CommandError;

/// The HTTP status of a domain error.
fn status_of(error: &DomainError) -> StatusCode {
    match error {
        DomainError::Store(error) => store_status(error),
        DomainError::Order(error) => order_status(error),
    }
}

fn store_status(error: &StoreError) -> StatusCode {
    match error {
        StoreError::NotFound => StatusCode::NOT_FOUND,
        // An item the menu lacks is a flaw of the request (422), not a missing URL.
        StoreError::UnknownCatalogId(_)
        | StoreError::InvalidProfile(_)
        | StoreError::InvalidMenu(_)
        | StoreError::NoMenu
        | StoreError::InvalidStatus(_)
        | StoreError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn order_status(error: &OrderError) -> StatusCode {
    match error {
        OrderError::StoreNotFound | OrderError::OrderNotFound => StatusCode::NOT_FOUND,
        // The order is not in the state the command needs.
        OrderError::OrderExists
        | OrderError::InvalidTransition { .. }
        | OrderError::CustomerCannotCancel
        | OrderError::NotCaptured => StatusCode::CONFLICT,
        // Every other rule a request breaks: validation of its content.
        OrderError::StoreNotAccepting
        | OrderError::NoMenu
        | OrderError::StoreClosed(_)
        | OrderError::EmptyOrder
        | OrderError::TooManyLines
        | OrderError::InvalidQuantity { .. }
        | OrderError::ItemNotFound { .. }
        | OrderError::ItemUnavailable { .. }
        | OrderError::ModifierNotFound { .. }
        | OrderError::ModifierUnavailable { .. }
        | OrderError::DuplicateModifier { .. }
        | OrderError::ModifierCount { .. }
        | OrderError::PickupInPast
        | OrderError::PickupTooSoon { .. }
        | OrderError::PickupTooFar { .. }
        | OrderError::SlotFull { .. }
        | OrderError::CurrencyMismatch { .. }
        | OrderError::InvalidTip
        | OrderError::AmountOutOfRange(_)
        | OrderError::TipTooLarge { .. }
        | OrderError::OrderTotalTooLarge { .. }
        | OrderError::PaymentMismatch { .. }
        | OrderError::InvalidRefund
        | OrderError::RefundExceedsCaptured { .. }
        | OrderError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<CommandError> for Problem {
    fn from(error: CommandError) -> Problem {
        match error {
            CommandError::Domain(e) => Problem::new(status_of(&e), e.code(), e.to_string()),
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
