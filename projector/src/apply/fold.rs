//! Folding a batch's events, in log order, into the rows loaded for it: in
//! memory, with no IO. An event the rows already hold changes nothing; one
//! they cannot take is refused by itself and changes nothing either.

use chrono::{DateTime, Utc};
use schemas::{
    AvailabilityChangedV1, Event, EventData, MenuPublishedV1, OrderPlacedV2, OrderStatus,
    PaymentRefundedV1, PaymentStatus, StatusChangedV1, StoreConfiguredV2,
};
use uuid::Uuid;

use super::refusal::Rejection;
use super::rows::{
    MenuRow, Models, OrderRow, Placement, Sales, SalesKey, StatusChange, StoreRow, sales_interval,
};

fn version_of(event: &Event) -> Result<i64, String> {
    i64::try_from(event.meta.version).map_err(|_| "the aggregate version is out of range".into())
}

impl Models {
    /// Folds one event into the rows; `Err` says why it cannot be applied,
    /// and then the event has changed nothing.
    pub(super) fn fold(&mut self, event: &Event) -> Result<(), Rejection> {
        let version = version_of(event)?;
        let time = event.meta.time;
        match &event.data {
            EventData::StoreConfigured(e) => self.configure_store(e, version, time)?,
            EventData::MenuPublished(e) => self.publish_menu(e, version, time)?,
            EventData::AvailabilityChanged(e) => self.change_availability(e, version, time)?,
            EventData::StatusChanged(e) => self.change_store_status(e, version, time)?,
            EventData::OrderPlaced(e) => self.place_order(e, version, time)?,
            EventData::PaymentAuthorized(e) => {
                self.payment(e.order_id, version, time, PaymentStatus::Authorized, None)?;
            }
            EventData::PaymentCaptured(e) => {
                let captured = Some(e.amount.amount);
                self.payment(e.order_id, version, time, PaymentStatus::Captured, captured)?;
            }
            EventData::PaymentVoided(e) => {
                self.payment(e.order_id, version, time, PaymentStatus::Voided, None)?;
            }
            EventData::PaymentRefunded(e) => self.refund(e, version, time)?,
            EventData::OrderAccepted(e) => {
                if let Some(order) = self.order(e.order_id, version, time)? {
                    order.ready_at = e.ready_at;
                    self.status(e.order_id, version, OrderStatus::Accepted, e.at, None);
                }
            }
            EventData::OrderRejected(e) => {
                let reason = Some(e.reason.clone());
                self.end(
                    e.order_id,
                    version,
                    time,
                    OrderStatus::Rejected,
                    e.at,
                    reason,
                )?;
            }
            EventData::PreparationStarted(e) => {
                if self.order(e.order_id, version, time)?.is_some() {
                    self.status(e.order_id, version, OrderStatus::InPreparation, e.at, None);
                }
            }
            EventData::OrderReady(e) => {
                if self.order(e.order_id, version, time)?.is_some() {
                    self.status(e.order_id, version, OrderStatus::Ready, e.at, None);
                }
            }
            EventData::OrderCompleted(e) => {
                if self.order(e.order_id, version, time)?.is_some() {
                    self.status(e.order_id, version, OrderStatus::Completed, e.at, None);
                }
            }
            EventData::OrderCancelled(e) => {
                let reason = Some(e.reason.clone());
                self.end(
                    e.order_id,
                    version,
                    time,
                    OrderStatus::Cancelled,
                    e.at,
                    reason,
                )?;
            }
        }
        Ok(())
    }

    fn configure_store(
        &mut self,
        e: &StoreConfiguredV2,
        version: i64,
        time: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        let hours = serde_json::to_value(&e.hours).map_err(|e| e.to_string())?;
        let pickup = serde_json::to_value(&e.pickup).map_err(|e| e.to_string())?;
        let tax_rate_bps = i32::try_from(e.tax_rate_bps).map_err(|_| "tax rate out of range")?;
        match self.stores.get_mut(&e.store_id) {
            Some(store) if store.version >= version => return Ok(()),
            Some(store) => {
                store.name.clone_from(&e.name);
                store.timezone.clone_from(&e.timezone);
                store.currency.clone_from(&e.currency);
                store.tax_rate_bps = tax_rate_bps;
                store.hours = hours;
                store.pickup = pickup;
                store.version = version;
                store.updated_at = time;
            }
            None => {
                self.stores.insert(
                    e.store_id.clone(),
                    StoreRow {
                        store_id: e.store_id.clone(),
                        name: e.name.clone(),
                        timezone: e.timezone.clone(),
                        currency: e.currency.clone(),
                        tax_rate_bps,
                        hours,
                        pickup,
                        version,
                        updated_at: time,
                        accepting_orders: true,
                        busy_minutes: 0,
                        unavailable: Vec::new(),
                    },
                );
            }
        }
        self.changed_stores.insert(e.store_id.clone());
        Ok(())
    }

    fn publish_menu(
        &mut self,
        e: &MenuPublishedV1,
        version: i64,
        time: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        let Some(store) = self.store(&e.store_id, version)? else {
            return Ok(());
        };
        store.version = version;
        store.updated_at = time;
        // As the domain does: what the new menu no longer has cannot
        // stay taken off.
        let ids: std::collections::HashSet<&str> = e
            .categories
            .iter()
            .flat_map(|c| &c.items)
            .flat_map(|i| {
                std::iter::once(i.id.as_str()).chain(
                    i.modifier_groups
                        .iter()
                        .flat_map(|g| g.options.iter().map(|o| o.id.as_str())),
                )
            })
            .collect();
        store.unavailable.retain(|id| ids.contains(id.as_str()));
        let menu = MenuRow {
            store_id: e.store_id.clone(),
            menu_version: i32::try_from(e.menu_version).map_err(|_| "menu version out of range")?,
            categories: serde_json::to_value(&e.categories).map_err(|e| e.to_string())?,
            published_at: time,
        };
        self.menus.insert(e.store_id.clone(), menu);
        self.changed_stores.insert(e.store_id.clone());
        self.changed_menus.insert(e.store_id.clone());
        Ok(())
    }

    fn change_availability(
        &mut self,
        e: &AvailabilityChangedV1,
        version: i64,
        time: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        let Some(store) = self.store(&e.store_id, version)? else {
            return Ok(());
        };
        store.unavailable.retain(|id| id != &e.id);
        if !e.available {
            store.unavailable.push(e.id.clone());
        }
        store.version = version;
        store.updated_at = time;
        self.changed_stores.insert(e.store_id.clone());
        Ok(())
    }

    fn change_store_status(
        &mut self,
        e: &StatusChangedV1,
        version: i64,
        time: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        let Some(store) = self.store(&e.store_id, version)? else {
            return Ok(());
        };
        store.accepting_orders = e.accepting_orders;
        store.busy_minutes =
            i32::try_from(e.busy_minutes).map_err(|_| "busy minutes out of range")?;
        store.version = version;
        store.updated_at = time;
        self.changed_stores.insert(e.store_id.clone());
        Ok(())
    }

    fn place_order(
        &mut self,
        e: &OrderPlacedV2,
        version: i64,
        time: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        if self.orders.contains_key(&e.order_id) {
            // The first event of an order: one the models hold already.
            return Ok(());
        }
        let lines = serde_json::to_value(&e.lines).map_err(|e| e.to_string())?;
        let totals = serde_json::to_value(&e.totals).map_err(|e| e.to_string())?;
        let sale = [
            e.totals.subtotal.amount,
            e.totals.tax.amount,
            e.totals.tip.amount,
        ];
        let (key, sales) = self.sales_at(&e.store_id, e.placed_at);
        let sales = sales.with_order(sale).ok_or_else(|| sales_overflow(&key))?;
        self.orders.insert(
            e.order_id,
            OrderRow {
                order_id: e.order_id,
                store_id: e.store_id.clone(),
                status: OrderStatus::Placed,
                version,
                placed_at: e.placed_at,
                sale,
                updated_at: time,
                payment_status: None,
                captured_amount: 0,
                refunded_amount: 0,
                ready_at: None,
                placement: Some(Placement {
                    customer_id: e.customer_id.clone(),
                    lines,
                    totals,
                    pickup_at: e.pickup_at,
                    slot: e.slot,
                    asap: e.asap,
                }),
            },
        );
        self.changed_orders.insert(e.order_id);
        self.status_changes.push(StatusChange {
            order_id: e.order_id,
            version,
            status: OrderStatus::Placed,
            at: e.placed_at,
            reason: None,
        });
        self.set_sales(key, sales);
        Ok(())
    }

    fn refund(
        &mut self,
        e: &PaymentRefundedV1,
        version: i64,
        time: DateTime<Utc>,
    ) -> Result<(), Rejection> {
        let Some(order) = self.unapplied(e.order_id, version)? else {
            return Ok(());
        };
        let refunded = order
            .refunded_amount
            .checked_add(e.amount.amount)
            .ok_or_else(|| Rejection::overflow(format!("the refunds of {}", e.order_id)))?;
        let (key, sales) = self.sales_at(&order.store_id, e.at);
        let sales = sales
            .with_refund(e.amount.amount)
            .ok_or_else(|| sales_overflow(&key))?;
        if let Some(order) = self.order(e.order_id, version, time)? {
            order.refunded_amount = refunded;
            order.payment_status = Some(if refunded >= order.captured_amount {
                PaymentStatus::Refunded
            } else {
                PaymentStatus::PartiallyRefunded
            });
        }
        self.set_sales(key, sales);
        Ok(())
    }

    /// The store a store event changes, or `None` when the event is one the
    /// models already hold.
    fn store(&mut self, store_id: &str, version: i64) -> Result<Option<&mut StoreRow>, String> {
        match self.stores.get_mut(store_id) {
            None => Err(format!("the store {store_id} was never configured")),
            Some(store) if store.version >= version => Ok(None),
            Some(store) => Ok(Some(store)),
        }
    }

    /// The order an order event is about, unchanged, or `None` when the event
    /// is one the models already hold.
    fn unapplied(&self, order_id: Uuid, version: i64) -> Result<Option<&OrderRow>, String> {
        match self.orders.get(&order_id) {
            None => Err(format!("the order {order_id} was never placed")),
            Some(order) if order.version >= version => Ok(None),
            Some(order) => Ok(Some(order)),
        }
    }

    /// The order an order event changes, with its version and time already
    /// moved on, or `None` when the event is one the models already hold.
    fn order(
        &mut self,
        order_id: Uuid,
        version: i64,
        time: DateTime<Utc>,
    ) -> Result<Option<&mut OrderRow>, String> {
        match self.orders.get_mut(&order_id) {
            None => Err(format!("the order {order_id} was never placed")),
            Some(order) if order.version >= version => Ok(None),
            Some(order) => {
                order.version = version;
                order.updated_at = time;
                self.changed_orders.insert(order_id);
                Ok(Some(order))
            }
        }
    }

    fn payment(
        &mut self,
        order_id: Uuid,
        version: i64,
        time: DateTime<Utc>,
        status: PaymentStatus,
        captured: Option<i64>,
    ) -> Result<(), String> {
        if let Some(order) = self.order(order_id, version, time)? {
            order.payment_status = Some(status);
            if let Some(amount) = captured {
                order.captured_amount = amount;
            }
        }
        Ok(())
    }

    fn status(
        &mut self,
        order_id: Uuid,
        version: i64,
        status: OrderStatus,
        at: DateTime<Utc>,
        reason: Option<String>,
    ) {
        if let Some(order) = self.orders.get_mut(&order_id) {
            order.status = status;
        }
        self.status_changes.push(StatusChange {
            order_id,
            version,
            status,
            at,
            reason,
        });
    }

    /// A rejection or a cancellation: the order ends in `status`, and stops
    /// counting in the sales of the interval it was placed in.
    fn end(
        &mut self,
        order_id: Uuid,
        version: i64,
        time: DateTime<Utc>,
        status: OrderStatus,
        at: DateTime<Utc>,
        reason: Option<String>,
    ) -> Result<(), Rejection> {
        let Some(order) = self.unapplied(order_id, version)? else {
            return Ok(());
        };
        let sale = order.sale;
        let (key, sales) = self.sales_at(&order.store_id, order.placed_at);
        let sales = sales
            .without_order(sale)
            .ok_or_else(|| sales_overflow(&key))?;
        self.order(order_id, version, time)?;
        self.set_sales(key, sales);
        self.status(order_id, version, status, at, reason);
        Ok(())
    }

    /// The sales of the interval of `store_id` holding `at`, as they stand.
    fn sales_at(&self, store_id: &str, at: DateTime<Utc>) -> (SalesKey, Sales) {
        let key = (store_id.to_owned(), sales_interval(at));
        let sales = self.sales.get(&key).copied().unwrap_or_default();
        (key, sales)
    }

    fn set_sales(&mut self, key: SalesKey, sales: Sales) {
        self.sales.insert(key.clone(), sales);
        self.changed_sales.insert(key);
    }
}

fn sales_overflow((store_id, start): &SalesKey) -> Rejection {
    Rejection::overflow(format!(
        "the sales of store {store_id} in the interval from {start}"
    ))
}
