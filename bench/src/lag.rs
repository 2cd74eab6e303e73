//! `loadgen lag`: how long after command-api answers `201` (its Kafka
//! transaction already committed) an order shows in the read model. Places
//! orders at a fixed rate and holds one Postgres connection that LISTENs on
//! the projector's channel; on each notification it asks which pending orders
//! the `orders` table now holds.
//!
//! The tracker runs on a thread of its own. An order counts as visible when
//! the query that first finds it was sent, right after a notification: an
//! upper bound of the moment its batch committed, off by the time between the
//! notification and the query.

use std::collections::HashMap;
use std::future::poll_fn;
use std::time::Duration;

use anyhow::{Context, bail};
use hdrhistogram::Histogram;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_postgres::AsyncMessage;
use uuid::Uuid;

use crate::place::{self, Load, Placed};

#[derive(Debug, Clone, clap::Args)]
pub struct LagArgs {
    #[command(flatten)]
    pub load: Load,
    /// Orders per second over all clients.
    #[arg(long, default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rate: u64,
    /// Seconds measured.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// The read models' database.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:55432/qsr"
    )]
    pub database_url: String,
    /// Seconds to wait, after the load, for orders not yet visible.
    #[arg(long, default_value_t = 10)]
    pub settle: u64,
}

/// What the tracker saw.
#[derive(Debug)]
struct Seen {
    lag_us: Histogram<u64>,
    /// Measured orders never found within the settle time.
    unseen: u64,
    notifications: u64,
    queries: u64,
}

pub async fn run(url: &str, args: &LagArgs) -> anyhow::Result<()> {
    let (placed_tx, placed_rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = oneshot::channel();
    let settle = Duration::from_secs(args.settle);
    let database_url = args.database_url.clone();
    // The tracker has a thread and a runtime of its own, so that the clients'
    // tasks never queue ahead of its answer to a notification.
    let tracker = std::thread::Builder::new()
        .name("lag-tracker".into())
        .spawn(move || -> anyhow::Result<Seen> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("building the tracker's runtime")?;
            runtime.block_on(async move {
                let (db, mut notifications) = listen(&database_url).await?;
                let _ = ready_tx.send(());
                track(&db, placed_rx, &mut notifications, settle).await
            })
        })
        .context("starting the tracker")?;
    if ready_rx.await.is_err() {
        // The tracker stopped before it listened; its error says why.
        joined(tracker)?;
        bail!("the tracker stopped before it listened");
    }
    let tally = place::drive(url, &args.load, args.rate, args.duration, Some(placed_tx)).await;
    // The clients dropped their senders: the tracker finishes what is pending.
    let seen = tokio::task::spawn_blocking(move || joined(tracker))
        .await
        .context("joining the tracker")??;
    let tally = tally?;
    let seconds = args.duration as f64;
    let ms = |q: f64| seen.lag_us.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "lag: {} orders/s offered, {} clients, {} stores, {}s measured after {}s warm-up",
        args.rate, args.load.clients, args.load.stores, args.duration, args.load.warmup
    );
    println!(
        "placed: {} orders, {:.0} orders/s; errors: {} {:?}",
        tally.placed,
        tally.placed as f64 / seconds,
        tally.error_count(),
        tally.errors
    );
    if let Some(hint) = place::rate_limit_hint(&tally) {
        println!("{hint}");
    }
    println!(
        "place latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        tally.ms(0.50),
        tally.ms(0.90),
        tally.ms(0.99),
        tally.max_ms()
    );
    println!(
        "visible: {} orders; not visible within {}s after the load: {}",
        seen.lag_us.len(),
        args.settle,
        seen.unseen
    );
    println!(
        "notifications: {} ({:.0}/s), queries: {}",
        seen.notifications,
        seen.notifications as f64 / seconds,
        seen.queries
    );
    println!(
        "lag ms (201 -> visible in the read model): p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(0.50),
        ms(0.90),
        ms(0.99),
        seen.lag_us.max() as f64 / 1000.0
    );
    Ok(())
}

fn joined(tracker: std::thread::JoinHandle<anyhow::Result<Seen>>) -> anyhow::Result<Seen> {
    tracker
        .join()
        .map_err(|_| anyhow::anyhow!("the tracker panicked"))?
}

/// A connection that LISTENs on the projector's channel, and the instants its
/// notifications arrived at.
async fn listen(
    url: &str,
) -> anyhow::Result<(tokio_postgres::Client, mpsc::UnboundedReceiver<Instant>)> {
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to {}", platform::redact_database_url(url)))?;
    let (tx, rx) = mpsc::unbounded_channel();
    // Polling the connection for its messages also carries the client's queries.
    tokio::spawn(async move {
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(n)) if n.channel() == projector::NOTIFY_CHANNEL => {
                    if tx.send(Instant::now()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(error) => {
                    eprintln!("lag: the LISTEN connection failed: {error}");
                    return;
                }
            }
        }
    });
    client
        .batch_execute(&format!("listen {}", projector::NOTIFY_CHANNEL))
        .await
        .context("LISTEN")?;
    Ok((client, rx))
}

/// Notes each placed order and, on each notification, finds which of the
/// pending ones the read model holds; returns once the clients are done and
/// nothing is pending, or `settle` after the clients are done.
async fn track(
    db: &tokio_postgres::Client,
    mut placed: mpsc::UnboundedReceiver<Placed>,
    notifications: &mut mpsc::UnboundedReceiver<Instant>,
    settle: Duration,
) -> anyhow::Result<Seen> {
    let find = db
        .prepare("select order_id from orders where order_id = any($1)")
        .await
        .context("preparing the query")?;
    let mut seen = Seen {
        lag_us: Histogram::new_with_bounds(1, 600_000_000, 3)?,
        unseen: 0,
        notifications: 0,
        queries: 0,
    };
    // Order id -> (answered, measured).
    let mut pending: HashMap<Uuid, (Instant, bool)> = HashMap::new();
    let mut load_done: Option<Instant> = None;
    loop {
        if let Some(done) = load_done
            && (pending.is_empty() || done.elapsed() >= settle)
        {
            break;
        }
        let give_up = load_done.map_or_else(
            || Instant::now() + Duration::from_secs(3600),
            |done| done + settle,
        );
        tokio::select! {
            order = placed.recv(), if load_done.is_none() => match order {
                Some(order) => {
                    pending.insert(order.order_id, (order.answered, order.measured));
                }
                None => load_done = Some(Instant::now()),
            },
            notified = notifications.recv() => {
                if notified.is_none() {
                    bail!("the LISTEN connection closed");
                }
                seen.notifications += 1;
                // Take whatever else already came, then ask once.
                while notifications.try_recv().is_ok() {
                    seen.notifications += 1;
                }
                while let Ok(order) = placed.try_recv() {
                    pending.insert(order.order_id, (order.answered, order.measured));
                }
                if pending.is_empty() {
                    continue;
                }
                let ids: Vec<Uuid> = pending.keys().copied().collect();
                let asked = Instant::now();
                let rows = db.query(&find, &[&ids]).await.context("finding orders")?;
                seen.queries += 1;
                for row in rows {
                    let id: Uuid = row.get(0);
                    if let Some((answered, measured)) = pending.remove(&id)
                        && measured
                    {
                        let micros = asked.saturating_duration_since(answered).as_micros();
                        seen.lag_us
                            .saturating_record(u64::try_from(micros).unwrap_or(u64::MAX).max(1));
                    }
                }
            },
            () = tokio::time::sleep_until(give_up) => {}
        }
    }
    seen.unseen = pending.values().filter(|(_, measured)| *measured).count() as u64;
    Ok(seen)
}
