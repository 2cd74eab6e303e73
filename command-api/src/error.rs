//! How a command's failure answers over HTTP: one status and `code` per variant.

use axum::http::StatusCode;
use domain::{OrderError, StoreError};
use platform::Problem;

use crate::writer::CommandError;

impl From<CommandError> for Problem {
    fn from(error: CommandError) -> Problem {
        use StatusCode as S;
        let detail = error.to_string();
        let (status, code) = match &error {
            CommandError::Store(e) => match e {
                StoreError::NotFound(_) => (S::NOT_FOUND, "store_not_found"),
                StoreError::InvalidMenu(_) => (S::UNPROCESSABLE_ENTITY, "invalid_menu"),
                StoreError::InvalidStore(_) => (S::UNPROCESSABLE_ENTITY, "invalid_store"),
            },
            CommandError::Order(e) => match e {
                OrderError::StoreNotFound(_) => (S::NOT_FOUND, "store_not_found"),
                OrderError::NoMenu(_) => (S::UNPROCESSABLE_ENTITY, "menu_not_published"),
                OrderError::OrderExists(_) => (S::CONFLICT, "order_exists"),
                OrderError::NoLines => (S::UNPROCESSABLE_ENTITY, "empty_order"),
                OrderError::TooManyLines => (S::UNPROCESSABLE_ENTITY, "too_many_lines"),
                OrderError::InvalidQuantity { .. } => (S::UNPROCESSABLE_ENTITY, "invalid_quantity"),
                OrderError::ItemNotFound { .. } => (S::UNPROCESSABLE_ENTITY, "item_not_found"),
                OrderError::ModifierNotFound { .. } => {
                    (S::UNPROCESSABLE_ENTITY, "modifier_not_found")
                }
                OrderError::ModifierRule { .. } => (S::UNPROCESSABLE_ENTITY, "modifier_rule"),
                OrderError::PickupInPast => (S::UNPROCESSABLE_ENTITY, "pickup_in_past"),
                OrderError::Money(_) => (S::UNPROCESSABLE_ENTITY, "invalid_money"),
            },
            CommandError::Unavailable(_) => {
                return Problem::new(S::SERVICE_UNAVAILABLE, "unavailable", detail).retry_after(1);
            }
        };
        Problem::new(status, code, detail)
    }
}
