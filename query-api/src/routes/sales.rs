//! A store's sales on one local date, by hour of its time zone, summed from
//! the projector's 15-minute intervals with checked arithmetic.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use platform::{Caller, Problem, ProblemBody, Role};
use serde::Deserialize;

use super::http::{StorePath, internal, local, not_found, parse_store_id, zone};
use super::state::AppState;
use crate::dto::{Money, SalesHour, SalesTotals, SalesView};
use crate::params::Params;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct SalesParams {
    /// The local date, `YYYY-MM-DD`.
    date: NaiveDate,
}

#[utoipa::path(
    get,
    path = "/v1/stores/{store_id}/sales",
    params(StorePath, SalesParams),
    responses(
        (status = 200, description = "Orders, revenue, tax, tips and refunds by hour of the store's time zone (admin)", body = SalesView),
        (status = 400, description = "`invalid_query`: a parameter the document does not allow", body = ProblemBody, content_type = "application/problem+json"),
        platform::Refusals,
        (status = 404, description = "`store_not_found`: no such store (an id not of the id form names none)", body = ProblemBody, content_type = "application/problem+json"),
        platform::Overload,
    ),
    security(("bearer" = []))
)]
pub(crate) async fn get_sales(
    State(state): State<AppState>,
    caller: Caller,
    Path(store_id): Path<String>,
    Params(params): Params<SalesParams>,
) -> Result<Json<SalesView>, Problem> {
    caller.require(&[Role::Admin])?;
    let store_id = parse_store_id(store_id, "store_not_found")?;
    let client = platform::connection(&state.pool).await?;
    let store = client
        .query_opt(
            "select timezone, currency from stores where store_id = $1",
            &[&store_id],
        )
        .await
        .map_err(internal)?
        .ok_or_else(|| not_found("store_not_found", "the store"))?;
    let timezone: String = store.get(0);
    let currency: String = store.get(1);
    let tz = zone(&timezone);
    let start = local_midnight(tz, params.date);
    let end = local_midnight(tz, params.date + Duration::days(1));
    let hours = hour_starts(start, end);
    // Each interval fits 64 bits (the projector checks), but a day of them
    // may not: a sum out of range is an error, never a wrapped number.
    let add = |a: i64, b: i64| {
        a.checked_add(b)
            .ok_or_else(|| internal(format!("the sales of {store_id} overflow a 64-bit sum")))
    };
    let mut sums = vec![[0_i64; 5]; hours.len()];
    for row in client
        .query(
            "select interval_start, orders, revenue, tax, tips, refunds from sales_intervals \
             where store_id = $1 and interval_start >= $2 and interval_start < $3",
            &[&store_id, &start, &end],
        )
        .await
        .map_err(internal)?
    {
        let at: DateTime<Utc> = row.get(0);
        let hour = usize::try_from((at - start).num_hours()).unwrap_or(0);
        if let Some(sum) = sums.get_mut(hour) {
            sum[0] = add(sum[0], i64::from(row.get::<_, i32>(1)))?;
            for (i, column) in (2..6).enumerate() {
                sum[i + 1] = add(sum[i + 1], row.get::<_, i64>(column))?;
            }
        }
    }
    let amount = |amount| Money {
        amount,
        currency: currency.clone(),
    };
    let total = |i: usize| sums.iter().try_fold(0, |total, s| add(total, s[i]));
    let totals = SalesTotals {
        orders: total(0)?,
        revenue: amount(total(1)?),
        tax: amount(total(2)?),
        tips: amount(total(3)?),
        refunds: amount(total(4)?),
    };
    Ok(Json(SalesView {
        store_id,
        date: params.date.to_string(),
        hours: hours
            .iter()
            .zip(&sums)
            .map(|(&hour, s)| SalesHour {
                hour: local(hour, tz),
                orders: s[0],
                revenue: amount(s[1]),
                tax: amount(s[2]),
                tips: amount(s[3]),
                refunds: amount(s[4]),
            })
            .collect(),
        timezone,
        totals,
    }))
}

/// The instant a local date begins: its midnight, or where a zone skips
/// midnight, the first moment that exists.
fn local_midnight(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut time = date.and_time(chrono::NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(start) = tz.from_local_datetime(&time).earliest() {
            return start.with_timezone(&Utc);
        }
        time += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
}

/// The starts of the hours between two local midnights: 23, 24 or 25.
fn hour_starts(start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut hours = Vec::new();
    let mut at = start;
    while at < end {
        hours.push(at);
        at += Duration::hours(1);
    }
    hours
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_day_has_the_hours_its_clocks_show() {
        let ny: Tz = "America/New_York".parse().unwrap();
        let hours = |d: &str| {
            hour_starts(
                local_midnight(ny, date(d)),
                local_midnight(ny, date(d) + Duration::days(1)),
            )
        };
        assert_eq!(hours("2026-11-01").len(), 25, "fall back");
        assert_eq!(hours("2026-03-08").len(), 23, "spring forward");
        assert_eq!(hours("2026-11-24").len(), 24);
        let fall = hours("2026-11-01");
        assert_eq!(local(fall[1], ny), "2026-11-01T01:00:00-04:00");
        assert_eq!(local(fall[2], ny), "2026-11-01T01:00:00-05:00");
    }

    #[test]
    fn a_zone_that_skips_midnight_starts_its_day_at_the_first_moment() {
        // Santiago springs forward at midnight: 2026-09-06 starts at 01:00.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let start = local_midnight(santiago, date("2026-09-06"));
        assert_eq!(local(start, santiago), "2026-09-06T01:00:00-03:00");
    }
}
