//! Keyset pages of orders: the page size a request may ask for, where the
//! page after an order starts, and a page cut from the rows read.

use chrono::{DateTime, Utc};
use deadpool_postgres::Client;
use platform::Problem;
use tokio_postgres::Row;
use uuid::Uuid;

use super::http::{internal, invalid_query};
use super::order_record::{ORDER_COLUMNS, OrderRecord};
use crate::dto::OrderPage;

/// The page size: `requested`, 1-200, or 50.
pub(super) fn limit(requested: Option<i64>) -> Result<i64, Problem> {
    match requested {
        None => Ok(50),
        Some(n @ 1..=200) => Ok(n),
        Some(n) => Err(invalid_query(format!("limit must be 1-200, not {n}"))),
    }
}

/// Where a page after order `after` starts: its placement time and id, if it
/// is an order the caller may list (`belongs`); else `400 invalid_cursor`.
pub(super) async fn cursor(
    client: &Client,
    after: Uuid,
    belongs: impl Fn(&OrderRecord) -> bool,
) -> Result<(DateTime<Utc>, Uuid), Problem> {
    let statement = client
        .prepare_cached(&format!(
            "select {ORDER_COLUMNS} from orders o left join stores s using (store_id) \
             where o.order_id = $1"
        ))
        .await
        .map_err(internal)?;
    let record = client
        .query_opt(&statement, &[&after])
        .await
        .map_err(internal)?
        .map(|row| OrderRecord::from_row(&row))
        .transpose()?
        .filter(|o| belongs(o))
        .ok_or_else(|| {
            Problem::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "`after` names no order of this list",
            )
        })?;
    Ok((record.placed_at, record.order_id))
}

/// A page of `limit` orders from rows fetched with one more than that.
pub(super) fn page(rows: Vec<Row>, limit: i64) -> Result<OrderPage, Problem> {
    let mut records = rows
        .iter()
        .map(OrderRecord::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let more = records.len() as i64 > limit;
    records.truncate(usize::try_from(limit).unwrap_or(0));
    let next_after = if more {
        records.last().map(|o| o.order_id.to_string())
    } else {
        None
    };
    Ok(OrderPage {
        orders: records
            .into_iter()
            .map(OrderRecord::view)
            .collect::<Result<_, _>>()?,
        next_after,
    })
}
