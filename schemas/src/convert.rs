//! Domain events to wire events and back. The only place that knows both.

use chrono::{DateTime, Utc};
use domain::{Change, Idempotency, OrderEvent, OrderId, PaymentId, RefundId, StoreEvent, StoreId};
use uuid::Uuid;

use crate::envelope::{Event, EventData, EventMeta};
use crate::payloads::*;

/// Where an event comes from, beyond what the domain knows.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub id: Uuid,
    pub source: String,
    pub time: DateTime<Utc>,
    pub correlation_id: String,
    pub causation_id: String,
}

/// The wire form of a domain event that is the `version`th of its aggregate.
pub fn to_wire(event: &domain::Event, version: u64, provenance: Provenance) -> Event {
    let store = event.store_id.as_str();
    let subject = match &event.change {
        Change::Store(_) => store.to_owned(),
        Change::Order { order_id, .. } => order_id.to_string(),
    };
    Event {
        meta: EventMeta {
            id: provenance.id,
            source: provenance.source,
            subject,
            time: provenance.time,
            store_id: store.to_owned(),
            version,
            correlation_id: provenance.correlation_id,
            causation_id: provenance.causation_id,
            idempotency_key: event.idempotency.as_ref().map(|i| i.key.clone()),
            request_hash: event.idempotency.as_ref().map(|i| i.fingerprint.clone()),
        },
        data: data_of(store, &event.change),
    }
}

fn data_of(store: &str, change: &Change) -> EventData {
    let store_id = store.to_owned();
    match change {
        Change::Store(StoreEvent::Configured(profile)) => {
            EventData::StoreConfigured(StoreConfiguredV2::from_domain(store, profile))
        }
        Change::Store(StoreEvent::MenuPublished { menu_version, menu }) => {
            EventData::MenuPublished(MenuPublishedV1::from_domain(store, *menu_version, menu))
        }
        Change::Store(StoreEvent::AvailabilityChanged { id, available }) => {
            EventData::AvailabilityChanged(AvailabilityChangedV1 {
                store_id,
                id: id.to_string(),
                available: *available,
            })
        }
        Change::Store(StoreEvent::StatusChanged(status)) => {
            EventData::StatusChanged(StatusChangedV1::from_domain(store, *status))
        }
        Change::Order { order_id, event } => order_data(store, order_id.0, event),
    }
}

fn order_data(store: &str, order_id: Uuid, event: &OrderEvent) -> EventData {
    let step = |at: &DateTime<Utc>| OrderStepV1 { order_id, at: *at };
    match event {
        OrderEvent::Placed(placed) => {
            EventData::OrderPlaced(OrderPlacedV2::from_domain(order_id, store, placed))
        }
        OrderEvent::PaymentAuthorized {
            payment_id,
            amount,
            reference,
            at,
        } => EventData::PaymentAuthorized(PaymentAuthorizedV1 {
            order_id,
            payment_id: payment_id.0,
            amount: (*amount).into(),
            reference: reference.clone(),
            at: *at,
        }),
        OrderEvent::Accepted { ready_at, at } => EventData::OrderAccepted(OrderAcceptedV1 {
            order_id,
            ready_at: *ready_at,
            at: *at,
        }),
        OrderEvent::Rejected { reason, at } => EventData::OrderRejected(OrderRejectedV1 {
            order_id,
            reason: reason.clone(),
            at: *at,
        }),
        OrderEvent::PreparationStarted { at } => EventData::PreparationStarted(step(at)),
        OrderEvent::Ready { at } => EventData::OrderReady(step(at)),
        OrderEvent::Completed { at } => EventData::OrderCompleted(step(at)),
        OrderEvent::Cancelled { reason, by, at } => EventData::OrderCancelled(OrderCancelledV1 {
            order_id,
            reason: reason.clone(),
            cancelled_by: (*by).into(),
            at: *at,
        }),
        OrderEvent::PaymentCaptured {
            payment_id,
            amount,
            at,
        } => EventData::PaymentCaptured(PaymentCapturedV1 {
            order_id,
            payment_id: payment_id.0,
            amount: (*amount).into(),
            at: *at,
        }),
        OrderEvent::PaymentVoided { payment_id, at } => EventData::PaymentVoided(PaymentVoidedV1 {
            order_id,
            payment_id: payment_id.0,
            at: *at,
        }),
        OrderEvent::PaymentRefunded {
            payment_id,
            refund_id,
            amount,
            reason,
            at,
        } => EventData::PaymentRefunded(PaymentRefundedV1 {
            order_id,
            payment_id: payment_id.0,
            refund_id: refund_id.0,
            amount: (*amount).into(),
            reason: reason.clone(),
            at: *at,
        }),
    }
}

impl Event {
    /// The domain event this record holds.
    pub fn to_domain(&self) -> Result<domain::Event, ConversionError> {
        let store_id = StoreId::parse(&self.meta.store_id)?;
        let order = |order_id: Uuid, event| Change::Order {
            order_id: OrderId(order_id),
            event,
        };
        let change = match &self.data {
            EventData::StoreConfigured(e) => Change::Store(StoreEvent::Configured(e.to_domain()?)),
            EventData::MenuPublished(e) => Change::Store(StoreEvent::MenuPublished {
                menu_version: e.menu_version,
                menu: e.to_domain()?,
            }),
            EventData::AvailabilityChanged(e) => Change::Store(StoreEvent::AvailabilityChanged {
                id: domain::CatalogId::parse(&e.id)?,
                available: e.available,
            }),
            EventData::StatusChanged(e) => Change::Store(StoreEvent::StatusChanged(e.to_domain())),
            EventData::OrderPlaced(e) => order(e.order_id, OrderEvent::Placed(e.to_domain()?)),
            EventData::PaymentAuthorized(e) => order(
                e.order_id,
                OrderEvent::PaymentAuthorized {
                    payment_id: PaymentId(e.payment_id),
                    amount: domain::Money::try_from(&e.amount)?,
                    reference: e.reference.clone(),
                    at: e.at,
                },
            ),
            EventData::OrderAccepted(e) => order(
                e.order_id,
                OrderEvent::Accepted {
                    ready_at: e.ready_at,
                    at: e.at,
                },
            ),
            EventData::OrderRejected(e) => order(
                e.order_id,
                OrderEvent::Rejected {
                    reason: e.reason.clone(),
                    at: e.at,
                },
            ),
            EventData::PreparationStarted(e) => {
                order(e.order_id, OrderEvent::PreparationStarted { at: e.at })
            }
            EventData::OrderReady(e) => order(e.order_id, OrderEvent::Ready { at: e.at }),
            EventData::OrderCompleted(e) => order(e.order_id, OrderEvent::Completed { at: e.at }),
            EventData::OrderCancelled(e) => order(
                e.order_id,
                OrderEvent::Cancelled {
                    reason: e.reason.clone(),
                    by: e.cancelled_by.into(),
                    at: e.at,
                },
            ),
            EventData::PaymentCaptured(e) => order(
                e.order_id,
                OrderEvent::PaymentCaptured {
                    payment_id: PaymentId(e.payment_id),
                    amount: domain::Money::try_from(&e.amount)?,
                    at: e.at,
                },
            ),
            EventData::PaymentVoided(e) => order(
                e.order_id,
                OrderEvent::PaymentVoided {
                    payment_id: PaymentId(e.payment_id),
                    at: e.at,
                },
            ),
            EventData::PaymentRefunded(e) => order(
                e.order_id,
                OrderEvent::PaymentRefunded {
                    payment_id: PaymentId(e.payment_id),
                    refund_id: RefundId(e.refund_id),
                    amount: domain::Money::try_from(&e.amount)?,
                    reason: e.reason.clone(),
                    at: e.at,
                },
            ),
        };
        let idempotency = match (&self.meta.idempotency_key, &self.meta.request_hash) {
            (Some(key), Some(fingerprint)) => Some(Idempotency {
                key: key.clone(),
                fingerprint: fingerprint.clone(),
            }),
            _ => None,
        };
        Ok(domain::Event {
            store_id,
            change,
            idempotency,
        })
    }
}
