//! Working one batch of queued work: quotes are answered at once; commands
//! are decided in order against the evolving state, their events written in
//! one transaction, and their callers answered only after it commits.

use std::time::Instant;

use domain::{Action, Change, Command, OrderCommand, Store, StoreId};

use super::transaction::{Record, TxProducer};
use super::{PartitionWriter, Stores};
use crate::writer::answers::{current_version, order_answer, price_placement, quote, store_answer};
use crate::writer::queue::{CommandError, Decide, Request, Work};

/// An answer held back until its batch commits: if the commit fails, it is
/// dropped unsent and its caller sees `503`.
type HeldAnswer = Box<dyn FnOnce()>;

/// What a batch's decisions have produced so far.
#[derive(Default)]
struct Decided {
    records: Vec<Record>,
    answers: Vec<HeldAnswer>,
    /// Stores whose catalog changed: published once the batch commits.
    changed: Vec<StoreId>,
}

/// Answers `503` work that waited in the queue past its deadline, without
/// doing it; the work if it is still in time.
pub(super) fn in_time(work: Work) -> Option<Work> {
    if Instant::now() < work.deadline() {
        return Some(work);
    }
    metrics::counter!("qsr_writer_queue_expired_total").increment(1);
    work.refuse("the command waited too long for the store's partition and was not decided; retry");
    None
}

impl PartitionWriter {
    pub(super) fn write_batch(
        &self,
        producer: &TxProducer,
        stores: &mut Stores,
        batch: Vec<Work>,
    ) -> anyhow::Result<()> {
        let mut decided = Decided::default();
        for work in batch {
            let Some(work) = in_time(work) else {
                continue;
            };
            match work {
                Work::Quote(request) => {
                    let answer = quote(stores.get(&request.ask.store_id), &request.ask);
                    let _ = request.reply.send(answer);
                }
                Work::PricePlacement(request) => {
                    let store = stores.get(&request.ask.pricing.store_id);
                    let answer = price_placement(store, &request.ask);
                    let _ = request.reply.send(answer);
                }
                Work::StoreCommand(request) => {
                    self.decide(stores, *request, &mut decided, |store, _, _| {
                        Ok(store_answer(store))
                    })?;
                }
                Work::OrderCommand(request) => {
                    self.decide(stores, *request, &mut decided, order_answer)?;
                }
            }
        }
        metrics::histogram!("qsr_batch_commands").record(decided.answers.len() as f64);
        if !decided.records.is_empty() {
            self.commit(producer, &decided.records)?;
        }
        for store in decided.changed.iter().filter_map(|id| stores.get(id)) {
            self.publish_catalog(store);
        }
        for answer in decided.answers {
            // A caller that went away still has its events committed.
            answer();
        }
        Ok(())
    }

    /// Decides one command against its store and folds its events in; a
    /// refusal is answered at once, anything else once the batch commits,
    /// as `answer` reads it from the state after the command.
    fn decide<R: 'static>(
        &self,
        stores: &mut Stores,
        request: Request<Decide, R>,
        decided: &mut Decided,
        answer: fn(&Store, &Command, Vec<domain::Event>) -> Result<R, CommandError>,
    ) -> anyhow::Result<()> {
        let Request {
            ask: Decide {
                command,
                expected_version,
            },
            meta,
            reply,
            ..
        } = request;
        let store_id = command.store_id.clone();
        let store = stores
            .entry(store_id.clone())
            .or_insert_with(|| Store::new(store_id.clone()));
        let events = match self.check(store, &command, expected_version) {
            Ok(()) => store.decide(&command).map_err(CommandError::from),
            Err(refusal) => Err(refusal),
        };
        let events = match events {
            Ok(events) => events,
            Err(error) => {
                let _ = reply.send(Err(error));
                return Ok(());
            }
        };
        for event in &events {
            self.note(event);
            store.apply(event);
            if matches!(event.change, Change::Store(_)) && !decided.changed.contains(&store_id) {
                decided.changed.push(store_id.clone());
            }
            decided.records.push(self.record(store, event, &meta)?);
        }
        let result = answer(store, &command, events);
        decided.answers.push(Box::new(move || {
            let _ = reply.send(result);
        }));
        Ok(())
    }

    /// What is refused before deciding: another version than `If-Match`
    /// expects, and an order that ended and left memory.
    fn check(
        &self,
        store: &Store,
        command: &Command,
        expected_version: Option<u64>,
    ) -> Result<(), CommandError> {
        if let Some(expected) = expected_version {
            let current = current_version(store, &command.action);
            if current != expected {
                return Err(CommandError::VersionConflict { current });
            }
        }
        if let Action::Order { order_id, command } = &command.action
            && !matches!(command, OrderCommand::Place { .. })
            && !store.orders.contains_key(order_id)
            && self.published.orders.contains_key(order_id)
        {
            return Err(CommandError::Gone);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::oneshot;

    use super::*;
    use crate::writer::tests::{meta, pricing};

    #[test]
    fn a_job_past_its_deadline_is_answered_503_without_being_decided() {
        let (reply, mut answer) = oneshot::channel();
        let late = Request {
            ask: pricing(),
            meta: meta(),
            reply,
            deadline: Instant::now(),
        };
        assert!(in_time(Work::Quote(Box::new(late))).is_none());
        assert!(matches!(
            answer.try_recv(),
            Ok(Err(CommandError::Unavailable(detail))) if detail.contains("not decided")
        ));
        let (reply, _answer) = oneshot::channel();
        let timely = Request {
            ask: pricing(),
            meta: meta(),
            reply,
            deadline: Instant::now() + Duration::from_secs(5),
        };
        assert!(in_time(Work::Quote(Box::new(timely))).is_some());
    }
}
