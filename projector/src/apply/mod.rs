//! How a batch of events changes the read models. The rows the batch touches
//! are read once, its events are folded into them in memory in log order, and
//! the changed rows are written back with one multi-row statement per table:
//! a batch costs the same handful of round trips however many events it holds.
//!
//! An event the models already hold (its version is not newer than the row's)
//! changes nothing, so a batch applied twice equals the batch applied once; the
//! offsets stored in the same transaction make that the exception anyway. Sales
//! add up, so they are read too and added with checked arithmetic in log order:
//! an event that would take a sum out of range is refused on its own, whatever
//! batch it arrives in, and every stored sum fits the API's 64-bit amounts.
//!
//! `load.rs` reads the rows, `fold.rs` folds the events into them, `save.rs`
//! writes them back; `rows.rs` is their in-memory shape and `refusal.rs` why
//! an event was refused.

mod fold;
mod load;
mod refusal;
mod rows;
mod save;

use deadpool_postgres::Transaction;
use schemas::Event;

pub use refusal::{Cause, Unapplied};
pub use rows::{SALES_INTERVAL_MINUTES, sales_interval};

use refusal::Rejection;
use rows::Models;

/// Applies `events` (in log order) to the read models within `tx`, and
/// answers the ones that could not be applied.
pub async fn apply_batch(
    tx: &Transaction<'_>,
    events: &[(usize, &Event)],
) -> anyhow::Result<Vec<Unapplied>> {
    let mut models = Models::load(tx, events).await?;
    let mut unapplied = Vec::new();
    for &(index, event) in events {
        if let Err(Rejection { cause, reason }) = models.fold(event) {
            unapplied.push(Unapplied {
                index,
                cause,
                reason,
            });
        }
    }
    models.save(tx).await?;
    Ok(unapplied)
}
