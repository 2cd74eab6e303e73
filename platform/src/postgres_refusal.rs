//! Telling a Postgres error that the same statement will meet again from one
//! that will pass: what a consumer sets aside and what it retries.

use tokio_postgres::error::DbError;

/// The Postgres error in `error`'s chain if it refuses the data itself: a
/// data exception (SQLSTATE class 22: a number out of range, a text Postgres
/// cannot store, a bad timestamp) or an integrity constraint violation (class
/// 23). Retrying the same statement meets it again, so the record behind it
/// is poison. Anything else (no SQLSTATE: a lost connection, a pool timeout;
/// class 08, 40, 53, 57: connection, serialization failure or deadlock,
/// resources, shutdown) may pass when retried.
pub fn refused_data(error: &anyhow::Error) -> Option<&DbError> {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<tokio_postgres::Error>())
        .filter_map(tokio_postgres::Error::as_db_error)
        .find(|db| matches!(db.code().code().get(..2), Some("22" | "23")))
}
