//! Why a record cannot change the read models: what the fold answers for an
//! event it refuses, and what the projection loop dead-letters.

/// A record that the read models cannot take, and why: it goes to the
/// dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unapplied {
    /// Its index in the batch.
    pub index: usize,
    pub cause: Cause,
    pub reason: String,
}

/// Why a record was set aside, as the dead-letter metric counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// It has no value, or the value is not an event we know.
    Undecodable,
    /// An event the models have no place for (an event of an order never
    /// placed, a field beyond a column's range).
    Inapplicable,
    /// It would take a sum (sales, refunds) out of range.
    Overflow,
    /// Postgres refused what it made of it (SQLSTATE class 22 or 23).
    Refused,
}

impl Cause {
    /// The `reason` label of `qsr_projector_dead_lettered_total`.
    pub fn label(self) -> &'static str {
        match self {
            Cause::Undecodable => "undecodable",
            Cause::Inapplicable => "inapplicable",
            Cause::Overflow => "overflow",
            Cause::Refused => "refused_by_postgres",
        }
    }
}

/// Why the fold cannot take an event.
#[derive(Debug)]
pub(super) struct Rejection {
    pub(super) cause: Cause,
    pub(super) reason: String,
}

impl Rejection {
    pub(super) fn overflow(what: impl std::fmt::Display) -> Rejection {
        Rejection {
            cause: Cause::Overflow,
            reason: format!("{what} would be out of range"),
        }
    }
}

impl From<String> for Rejection {
    fn from(reason: String) -> Rejection {
        Rejection {
            cause: Cause::Inapplicable,
            reason,
        }
    }
}

impl From<&str> for Rejection {
    fn from(reason: &str) -> Rejection {
        Rejection::from(reason.to_owned())
    }
}
