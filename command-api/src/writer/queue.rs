//! What travels through a partition writer's queue and back: the work the
//! handlers ask for, each kind with the type of its answer, and the changes
//! of the partition's ownership, which fall between two batches.

use std::time::Instant;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use domain::{Cart, Command, DomainError, Idempotency, Order, Quote, StoreId};
use tokio::sync::oneshot;
use uuid::Uuid;

/// One item of a partition writer's queue, taken in the order it was sent.
#[derive(Debug)]
pub enum QueueItem {
    /// Work a handler waits for.
    Work(Work),
    /// This instance now owns the partition: take it over.
    Assign,
    /// This instance no longer owns the partition: stop after the batch in
    /// hand and drop its state, then acknowledge.
    Revoke(std::sync::mpsc::SyncSender<()>),
}

/// What a handler asks of the writer, each kind with its own answer.
#[derive(Debug)]
pub enum Work {
    /// Decide a command on the store itself and commit its events.
    StoreCommand(Box<Request<Decide, StoreAnswer>>),
    /// Decide a command on an order and commit its events.
    OrderCommand(Box<Request<Decide, OrderAnswer>>),
    /// Price a cart against the store's current state; nothing is written.
    Quote(Box<Request<Pricing, QuoteAnswer>>),
    /// Price a placement's cart, unless its `Idempotency-Key` already placed
    /// an order; nothing is written.
    PricePlacement(Box<Request<PlacementPricing, PlacementPrice>>),
}

/// One piece of work: what is asked (`A`), where it came from, and where its
/// answer (`R`) goes.
#[derive(Debug)]
pub struct Request<A, R> {
    pub ask: A,
    pub meta: CommandMeta,
    pub reply: oneshot::Sender<Result<R, CommandError>>,
    /// A request the writer reaches after this is answered `503` undone:
    /// its caller has waited long enough.
    pub deadline: Instant,
}

/// A command to decide, with the version `If-Match` expects: the command is
/// decided only if the aggregate is still at that version.
#[derive(Debug)]
pub struct Decide {
    pub command: Command,
    pub expected_version: Option<u64>,
}

/// A cart to price at a store, at a time.
#[derive(Debug)]
pub struct Pricing {
    pub store_id: StoreId,
    pub cart: Cart,
    pub now: DateTime<Utc>,
}

/// A placement's cart to price, with the key the placement carries.
#[derive(Debug)]
pub struct PlacementPricing {
    pub pricing: Pricing,
    pub idempotency: Option<Idempotency>,
}

/// The store after a command on it.
#[derive(Debug)]
pub struct StoreAnswer {
    pub version: u64,
    pub menu_version: u32,
}

/// The order after a command on it (for a retry, the order as it is now).
#[derive(Debug)]
pub struct OrderAnswer {
    pub order: Box<Order>,
    pub timezone: Tz,
    /// The events this command committed: none for a retry.
    pub committed: Vec<domain::Event>,
}

/// What a cart costs and when it could be picked up.
#[derive(Debug)]
pub struct QuoteAnswer {
    pub quote: Box<Quote>,
    pub timezone: Tz,
}

/// The price of a placement's cart, or the order its key placed already.
#[derive(Debug)]
pub enum PlacementPrice {
    Quoted(QuoteAnswer),
    /// The key placed this order already, with this body: the first answer.
    AlreadyPlaced(OrderAnswer),
}

/// Where a command came from, carried into its events.
#[derive(Debug, Clone)]
pub struct CommandMeta {
    pub command_id: Uuid,
    pub correlation_id: String,
}

/// Why a command was not committed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The order ended longer ago than the retention window and left memory.
    #[error("the order ended and is no longer open to commands")]
    Gone,
    /// `If-Match` named another version than the aggregate's.
    #[error("the version is {current}, not the one in If-Match")]
    VersionConflict { current: u64 },
    /// The partition's writer is starting over or its transaction failed;
    /// nothing of the command is in the log, and a retry may succeed.
    #[error("{0}")]
    Unavailable(&'static str),
}

impl<A, R> Request<A, R> {
    /// Answers `503` without doing the work.
    fn refuse(self, detail: &'static str) {
        let _ = self.reply.send(Err(CommandError::Unavailable(detail)));
    }
}

impl Work {
    /// Answers `503` without doing the work.
    pub fn refuse(self, detail: &'static str) {
        match self {
            Work::StoreCommand(request) => request.refuse(detail),
            Work::OrderCommand(request) => request.refuse(detail),
            Work::Quote(request) => request.refuse(detail),
            Work::PricePlacement(request) => request.refuse(detail),
        }
    }

    /// When the caller stops waiting for this work to be started.
    pub fn deadline(&self) -> Instant {
        match self {
            Work::StoreCommand(request) => request.deadline,
            Work::OrderCommand(request) => request.deadline,
            Work::Quote(request) => request.deadline,
            Work::PricePlacement(request) => request.deadline,
        }
    }
}
