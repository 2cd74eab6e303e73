//! The cap on the event streams one caller holds open at once: each stream
//! polls Postgres while it lives, so one caller must not open them without
//! bound. A stream holds a [`StreamSlot`] for as long as it lives; the slot
//! is given back when the stream ends or its client goes away (the server
//! then drops the body).

use std::sync::Arc;

use axum::http::StatusCode;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use platform::{Caller, Problem};

/// Seconds a refused caller is told to wait before opening another stream.
const RETRY_AFTER_SECS: u32 = 5;

/// The open streams of each caller (role and subject), at most `cap` each.
#[derive(Debug, Clone)]
pub struct Streams {
    open: Arc<DashMap<String, u32>>,
    cap: u32,
}

impl Streams {
    pub fn new(cap: u32) -> Self {
        Streams {
            open: Arc::default(),
            cap,
        }
    }

    /// A slot for one more stream of `caller`, or `429 too_many_streams`.
    pub fn open(&self, caller: &Caller) -> Result<StreamSlot, Problem> {
        let key = caller.scope();
        match self.open.entry(key.clone()) {
            Entry::Occupied(open) if *open.get() >= self.cap => {
                drop(open);
                Err(Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_streams",
                    format!(
                        "at most {} event streams may be open at once; close one first",
                        self.cap
                    ),
                )
                .retry_after(RETRY_AFTER_SECS))
            }
            Entry::Occupied(mut open) => {
                *open.get_mut() += 1;
                Ok(self.slot(key))
            }
            Entry::Vacant(vacant) => {
                vacant.insert(1);
                Ok(self.slot(key))
            }
        }
    }

    fn slot(&self, key: String) -> StreamSlot {
        StreamSlot {
            open: self.open.clone(),
            key,
        }
    }
}

/// One open stream of a caller; dropping it gives the slot back.
#[derive(Debug)]
pub struct StreamSlot {
    open: Arc<DashMap<String, u32>>,
    key: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        // The last stream of a caller removes its entry, so the map holds
        // only callers with streams open.
        self.open.remove_if_mut(&self.key, |_, count| {
            *count = count.saturating_sub(1);
            *count == 0
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{Claims, Role};

    fn caller(sub: &str) -> Caller {
        Caller(Claims::new(sub, Role::Customer, Vec::new(), i64::MAX))
    }

    #[test]
    fn a_caller_holds_at_most_the_cap_and_a_closed_stream_frees_its_slot() {
        let streams = Streams::new(2);
        let (alice, bob) = (caller("alice"), caller("bob"));
        let first = streams.open(&alice).unwrap();
        let _second = streams.open(&alice).unwrap();
        let refused = streams.open(&alice).unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after, Some(RETRY_AFTER_SECS));
        assert!(streams.open(&bob).is_ok(), "another caller has own slots");
        drop(first);
        assert!(streams.open(&alice).is_ok());
    }
}
