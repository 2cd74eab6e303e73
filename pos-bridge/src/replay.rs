//! `pos-bridge replay`: queues REPRINT copies of a store's kitchen tickets
//! since a time; the running bridge delivers them like any other ticket.

use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use uuid::Uuid;

use crate::db;

/// What a replay queued, and how many of those were still queued when it
/// stopped waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    pub queued: usize,
    pub pending: i64,
}

/// Queues the reprints, then waits up to `wait` for the bridge to deliver them.
pub async fn replay(
    pool: &Pool,
    store_id: &str,
    since: DateTime<Utc>,
    wait: Duration,
) -> anyhow::Result<Replayed> {
    db::migrate(pool).await?;
    let seqs = db::queue_reprints(pool, store_id, since, Uuid::now_v7()).await?;
    tracing::info!(store_id, %since, queued = seqs.len(), "queued reprints");
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let pending = db::count_pending(pool, &seqs).await?;
        if pending == 0 || tokio::time::Instant::now() >= deadline {
            return Ok(Replayed {
                queued: seqs.len(),
                pending,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
