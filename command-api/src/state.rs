//! What the writer of one partition knows: its stores and their orders, folded
//! from the partition's events.

use std::collections::HashMap;

use domain::{Order, OrderId, OrderPlaced, Store, StoreEvent, StoreId};
use schemas::{ConversionError, EventData};

/// A domain event together with the aggregate it belongs to.
#[derive(Debug, Clone)]
pub enum Change {
    Store(StoreId, StoreEvent),
    Order(OrderPlaced),
}

impl Change {
    /// The domain meaning of a decoded record.
    pub fn from_wire(data: &EventData) -> Result<Change, ConversionError> {
        Ok(match data {
            EventData::StoreConfigured(e) => {
                let (id, profile) = e.to_domain()?;
                Change::Store(id, StoreEvent::Configured(profile))
            }
            EventData::MenuPublished(e) => {
                let (id, menu_version, menu) = e.to_domain()?;
                Change::Store(id, StoreEvent::MenuPublished { menu_version, menu })
            }
            EventData::OrderPlaced(e) => Change::Order(OrderPlaced::try_from(e)?),
        })
    }

    /// The wire form of the event.
    pub fn to_wire(&self) -> EventData {
        match self {
            Change::Store(id, StoreEvent::Configured(profile)) => {
                EventData::StoreConfigured(schemas::StoreConfiguredV1::from_domain(id, profile))
            }
            Change::Store(id, StoreEvent::MenuPublished { menu_version, menu }) => {
                EventData::MenuPublished(schemas::MenuPublishedV1::from_domain(
                    id,
                    *menu_version,
                    menu,
                ))
            }
            Change::Order(placed) => EventData::OrderPlaced(placed.into()),
        }
    }

    pub fn store_id(&self) -> &StoreId {
        match self {
            Change::Store(id, _) => id,
            Change::Order(placed) => &placed.store_id,
        }
    }

    /// The aggregate the event belongs to, as the CloudEvents `subject`.
    pub fn subject(&self) -> String {
        match self {
            Change::Store(id, _) => id.to_string(),
            Change::Order(placed) => placed.order_id.to_string(),
        }
    }
}

#[derive(Debug, Default)]
pub struct PartitionState {
    pub stores: HashMap<StoreId, Store>,
    pub orders: HashMap<OrderId, Order>,
}

impl PartitionState {
    /// Folds one event in and returns the aggregate's new version.
    pub fn apply(&mut self, change: &Change) -> u64 {
        match change {
            Change::Store(id, event) => {
                let next = Store::evolve(self.stores.remove(id), id, event);
                let version = next.as_ref().map_or(0, |s| s.version);
                if let Some(store) = next {
                    self.stores.insert(id.clone(), store);
                }
                version
            }
            Change::Order(placed) => {
                let order = Order::placed(placed);
                let version = order.version;
                self.orders.insert(order.id, order);
                version
            }
        }
    }

    /// The version an event on this aggregate would get next.
    pub fn next_version(&self, change: &Change) -> u64 {
        match change {
            Change::Store(id, _) => self.stores.get(id).map_or(0, |s| s.version) + 1,
            Change::Order(placed) => self.orders.get(&placed.order_id).map_or(0, |o| o.version) + 1,
        }
    }
}
