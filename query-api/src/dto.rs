//! The bodies the query API answers with, as the OpenAPI document shows them.

use schemas::{MoneyV1, OrderStatus, PaymentStatus};
use serde::Serialize;
use utoipa::ToSchema;

/// An amount in the currency's minor units.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Money {
    pub amount: i64,
    /// ISO 4217 code.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
}

impl From<&MoneyV1> for Money {
    fn from(m: &MoneyV1) -> Money {
        Money {
            amount: m.amount,
            currency: m.currency.clone(),
        }
    }
}

/// A day of the week.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[allow(dead_code)] // Only described: bodies carry the wire name of it.
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OpeningHours {
    #[schema(value_type = Day)]
    pub day: String,
    /// `HH:MM`, local time.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub open: String,
    /// `HH:MM`; at or before `open` it runs past midnight.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub close: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pickup {
    pub slot_minutes: u32,
    pub lead_minutes: u32,
    pub max_orders_per_slot: u32,
    pub max_days_ahead: u32,
}

/// A pickup slot that still has room.
#[derive(Debug, Serialize, ToSchema)]
pub struct Slot {
    /// The slot's start, in the store's time zone.
    #[schema(format = DateTime)]
    pub start: String,
    /// How many more orders it takes.
    pub remaining: u32,
}

/// A store's profile and how it is doing now.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoreView {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub store_id: String,
    pub name: String,
    /// IANA time zone.
    pub timezone: String,
    /// ISO 4217 code.
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    pub tax_rate_bps: u32,
    pub hours: Vec<OpeningHours>,
    pub pickup: Pickup,
    /// Within its opening hours at this moment.
    pub open_now: bool,
    /// `false` while the staff have paused ordering.
    pub accepting_orders: bool,
    /// Minutes added to every pickup time in busy mode; 0 when not busy.
    pub busy_minutes: u32,
    /// The next pickup slots with room (at most 8), none while paused.
    pub next_pickup_slots: Vec<Slot>,
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MenuOption {
    pub id: String,
    pub name: String,
    pub price_delta: Money,
    pub available: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MenuGroup {
    pub id: String,
    pub name: String,
    pub min: u32,
    pub max: u32,
    pub options: Vec<MenuOption>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MenuItem {
    pub id: String,
    pub name: String,
    pub price: Money,
    /// `false` while the item is 86'd.
    pub available: bool,
    pub modifier_groups: Vec<MenuGroup>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MenuCategory {
    pub id: String,
    pub name: String,
    pub items: Vec<MenuItem>,
}

/// A store's published menu with live availability.
#[derive(Debug, Serialize, ToSchema)]
pub struct MenuView {
    pub store_id: String,
    pub menu_version: i32,
    pub categories: Vec<MenuCategory>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineModifier {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLine {
    pub item_id: String,
    pub name: String,
    pub quantity: u32,
    pub modifiers: Vec<LineModifier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub unit_price: Money,
    pub total: Money,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Totals {
    pub subtotal: Money,
    pub tax: Money,
    pub tip: Money,
    pub total: Money,
}

/// One status an order has had.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntry {
    pub status: OrderStatus,
    /// When it happened, in the store's time zone.
    #[schema(format = DateTime)]
    pub at: String,
    /// The order's version at the change (the id of its server-sent event).
    pub version: i64,
    /// Why, for `rejected` and `cancelled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// An order as the read model holds it.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    #[schema(format = Uuid)]
    pub order_id: String,
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub store_id: String,
    pub status: OrderStatus,
    pub payment_status: Option<PaymentStatus>,
    pub version: i64,
    pub lines: Vec<OrderLine>,
    pub totals: Totals,
    /// In the store's time zone.
    #[schema(format = DateTime)]
    pub pickup_at: String,
    /// Whether the customer asked for as soon as possible.
    pub asap: bool,
    #[schema(format = DateTime)]
    pub placed_at: String,
    /// The store's estimate, once it accepted the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub ready_at: Option<String>,
    /// Every status change, oldest first (on `GET /v1/orders/{order_id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineEntry>>,
}

/// One event of an order's event stream (`text/event-stream`).
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // Only described: the stream is written by axum's `Sse`.
pub struct StatusEvent {
    /// The order's version at the change: resume after it with `Last-Event-ID`.
    #[schema(pattern = "^[0-9]+$")]
    pub id: String,
    #[schema(value_type = StatusEventName)]
    pub event: String,
    /// A JSON object: `order_id`, `status`, `at` (in the store's time zone),
    /// `version`, and `reason` (for `rejected` and `cancelled`, else null).
    pub data: String,
}

/// The name of every event of an order's stream.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // Only described.
pub enum StatusEventName {
    Status,
}

/// One page of orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    pub orders: Vec<OrderView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = Uuid)]
    pub next_after: Option<String>,
}

/// One hour of a store's sales.
#[derive(Debug, Serialize, ToSchema)]
pub struct SalesHour {
    /// The hour's start, in the store's time zone (a day of clock changes has
    /// 23 or 25 of them).
    #[schema(format = DateTime)]
    pub hour: String,
    #[schema(minimum = 0)]
    pub orders: i64,
    /// The subtotals of the orders placed in the hour that stand (not
    /// rejected or cancelled).
    pub revenue: Money,
    pub tax: Money,
    pub tips: Money,
    /// Refunds made in the hour.
    pub refunds: Money,
}

/// A store's sales on one local date, by hour.
#[derive(Debug, Serialize, ToSchema)]
pub struct SalesView {
    pub store_id: String,
    /// `YYYY-MM-DD` in the store's time zone.
    #[schema(format = Date)]
    pub date: String,
    pub timezone: String,
    pub hours: Vec<SalesHour>,
    pub totals: SalesTotals,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SalesTotals {
    #[schema(minimum = 0)]
    pub orders: i64,
    pub revenue: Money,
    pub tax: Money,
    pub tips: Money,
    pub refunds: Money,
}
