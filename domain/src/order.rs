//! Placing an order: validated against the store's menu and priced by the server.

use chrono::{DateTime, Duration, Utc};

use crate::{CatalogId, Money, MoneyError, OrderId, Store, StoreId};

/// The most lines one order may have.
pub const MAX_LINES: usize = 100;
/// The most of one line a customer may order.
pub const MAX_QUANTITY: u32 = 99;

/// One line of a cart, as the customer chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub item_id: CatalogId,
    pub quantity: u32,
    pub modifiers: Vec<CatalogId>,
    pub note: Option<String>,
}

/// A customer's request to place an order. `now` is when the command arrived.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceOrder {
    pub order_id: OrderId,
    pub store_id: StoreId,
    pub lines: Vec<OrderLine>,
    pub tip: Option<Money>,
    /// `None`: as soon as possible.
    pub pickup_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedModifier {
    pub id: CatalogId,
    pub name: String,
    pub price_delta: Money,
}

/// A line as the server priced it from the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricedLine {
    pub item_id: CatalogId,
    pub name: String,
    pub quantity: u32,
    pub modifiers: Vec<PricedModifier>,
    pub note: Option<String>,
    /// The item's price plus its options' deltas.
    pub unit_price: Money,
    /// `unit_price * quantity`.
    pub total: Money,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub subtotal: Money,
    pub tax: Money,
    pub tip: Money,
    pub total: Money,
}

/// The fact of an order placed, with everything the kitchen and the books need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPlaced {
    pub order_id: OrderId,
    pub store_id: StoreId,
    pub lines: Vec<PricedLine>,
    pub totals: Totals,
    pub pickup_at: DateTime<Utc>,
    /// Whether the customer asked for as soon as possible.
    pub asap: bool,
    pub placed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    Placed,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
        }
    }
}

/// An order as the writer of its partition knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: OrderId,
    pub store_id: StoreId,
    pub status: OrderStatus,
    pub version: u64,
}

impl Order {
    pub fn placed(event: &OrderPlaced) -> Order {
        Order {
            id: event.order_id,
            store_id: event.store_id.clone(),
            status: OrderStatus::Placed,
            version: 1,
        }
    }
}

/// A rule that placing an order broke. Each variant is one `code` of the public API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// `404 store_not_found`
    #[error("store {0} does not exist")]
    StoreNotFound(StoreId),
    /// `422 menu_not_published`
    #[error("store {0} has no menu yet")]
    NoMenu(StoreId),
    /// `409 order_exists`
    #[error("order {0} exists already")]
    OrderExists(OrderId),
    /// `422 empty_order`
    #[error("an order needs at least one line")]
    NoLines,
    /// `422 too_many_lines`
    #[error("an order has at most {MAX_LINES} lines")]
    TooManyLines,
    /// `422 invalid_quantity`
    #[error("line {line}: quantity must be 1-{MAX_QUANTITY}")]
    InvalidQuantity { line: usize },
    /// `422 item_not_found`
    #[error("line {line}: item {item} is not on the menu")]
    ItemNotFound { line: usize, item: CatalogId },
    /// `422 modifier_not_found`
    #[error("line {line}: option {option} is not offered with this item")]
    ModifierNotFound { line: usize, option: CatalogId },
    /// `422 modifier_rule`
    #[error("line {line}: choose {min}-{max} of group {group}")]
    ModifierRule {
        line: usize,
        group: CatalogId,
        min: u32,
        max: u32,
    },
    /// `422 pickup_in_past`
    #[error("the pickup time is in the past")]
    PickupInPast,
    /// `422 invalid_money`
    #[error("{0}")]
    Money(#[from] MoneyError),
}

/// Decides `PlaceOrder` against the store and the orders of its partition.
pub fn place_order(
    store: Option<&Store>,
    already_placed: bool,
    cmd: PlaceOrder,
) -> Result<OrderPlaced, OrderError> {
    let store = store.ok_or_else(|| OrderError::StoreNotFound(cmd.store_id.clone()))?;
    let menu = store
        .menu
        .as_ref()
        .ok_or_else(|| OrderError::NoMenu(store.id.clone()))?;
    if already_placed {
        return Err(OrderError::OrderExists(cmd.order_id));
    }
    if cmd.lines.is_empty() {
        return Err(OrderError::NoLines);
    }
    if cmd.lines.len() > MAX_LINES {
        return Err(OrderError::TooManyLines);
    }
    let currency = store.profile.currency;
    let mut lines = Vec::with_capacity(cmd.lines.len());
    let mut subtotal = Money::zero(currency);
    for (index, line) in cmd.lines.into_iter().enumerate() {
        let line_no = index + 1;
        if line.quantity == 0 || line.quantity > MAX_QUANTITY {
            return Err(OrderError::InvalidQuantity { line: line_no });
        }
        let item = menu
            .item(&line.item_id)
            .ok_or_else(|| OrderError::ItemNotFound {
                line: line_no,
                item: line.item_id.clone(),
            })?;
        let mut modifiers = Vec::with_capacity(line.modifiers.len());
        for option_id in &line.modifiers {
            let option = item
                .modifier_groups
                .iter()
                .flat_map(|g| &g.options)
                .find(|o| &o.id == option_id)
                .ok_or_else(|| OrderError::ModifierNotFound {
                    line: line_no,
                    option: option_id.clone(),
                })?;
            modifiers.push(PricedModifier {
                id: option.id.clone(),
                name: option.name.clone(),
                price_delta: option.price_delta,
            });
        }
        for group in &item.modifier_groups {
            let chosen = group
                .options
                .iter()
                .filter(|o| line.modifiers.contains(&o.id))
                .count();
            if chosen < group.min as usize || chosen > group.max as usize {
                return Err(OrderError::ModifierRule {
                    line: line_no,
                    group: group.id.clone(),
                    min: group.min,
                    max: group.max,
                });
            }
        }
        let unit_price = modifiers
            .iter()
            .try_fold(item.price, |sum, m| sum.checked_add(m.price_delta))?;
        let total = unit_price.checked_mul(i64::from(line.quantity))?;
        subtotal = subtotal.checked_add(total)?;
        lines.push(PricedLine {
            item_id: item.id.clone(),
            name: item.name.clone(),
            quantity: line.quantity,
            modifiers,
            note: line.note,
            unit_price,
            total,
        });
    }
    let tax = subtotal.basis_points(store.profile.tax_rate_bps)?;
    let tip = cmd.tip.unwrap_or(Money::zero(currency));
    if tip.amount < 0 {
        return Err(OrderError::Money(MoneyError::Overflow));
    }
    let total = subtotal.checked_add(tax)?.checked_add(tip)?;
    let earliest = cmd.now + Duration::minutes(i64::from(store.profile.pickup.lead_minutes));
    let (pickup_at, asap) = match cmd.pickup_at {
        Some(at) if at < cmd.now => return Err(OrderError::PickupInPast),
        Some(at) => (at, false),
        None => (
            round_up_to_slot(earliest, store.profile.pickup.slot_minutes),
            true,
        ),
    };
    Ok(OrderPlaced {
        order_id: cmd.order_id,
        store_id: store.id.clone(),
        lines,
        totals: Totals {
            subtotal,
            tax,
            tip,
            total,
        },
        pickup_at,
        asap,
        placed_at: cmd.now,
    })
}

/// The start of the first slot at or after `at`, slots counted from the epoch.
fn round_up_to_slot(at: DateTime<Utc>, slot_minutes: u32) -> DateTime<Utc> {
    let slot = i64::from(slot_minutes.max(1)) * 60;
    let seconds = at.timestamp();
    let rounded = seconds.div_euclid(slot) * slot
        + if seconds.rem_euclid(slot) == 0 {
            0
        } else {
            slot
        };
    DateTime::from_timestamp(rounded, 0).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::{
        Category, Currency, Menu, MenuItem, ModifierGroup, ModifierOption, PickupSettings,
        StoreProfile,
    };

    fn id(s: &str) -> CatalogId {
        CatalogId::parse(s).unwrap()
    }

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::parse("USD").unwrap())
    }

    fn store() -> Store {
        let cheese = ModifierGroup {
            id: id("cheese"),
            name: "Cheese".into(),
            min: 0,
            max: 1,
            options: vec![
                ModifierOption {
                    id: id("cheddar"),
                    name: "Cheddar".into(),
                    price_delta: usd(100),
                },
                ModifierOption {
                    id: id("swiss"),
                    name: "Swiss".into(),
                    price_delta: usd(120),
                },
            ],
        };
        Store {
            id: StoreId::parse("downtown-42").unwrap(),
            profile: StoreProfile {
                name: "Downtown 42".into(),
                timezone: chrono_tz::America::New_York,
                currency: Currency::parse("USD").unwrap(),
                tax_rate_bps: 875,
                hours: vec![],
                pickup: PickupSettings {
                    slot_minutes: 15,
                    lead_minutes: 10,
                    max_orders_per_slot: 20,
                    max_days_ahead: 7,
                },
            },
            menu: Some(Menu {
                categories: vec![Category {
                    id: id("burgers"),
                    name: "Burgers".into(),
                    items: vec![MenuItem {
                        id: id("classic"),
                        name: "Classic Burger".into(),
                        price: usd(899),
                        modifier_groups: vec![cheese],
                    }],
                }],
            }),
            menu_version: 1,
            version: 2,
        }
    }

    fn cmd(lines: Vec<OrderLine>) -> PlaceOrder {
        PlaceOrder {
            order_id: OrderId(uuid::Uuid::nil()),
            store_id: StoreId::parse("downtown-42").unwrap(),
            lines,
            tip: Some(usd(200)),
            pickup_at: None,
            now: Utc.with_ymd_and_hms(2026, 11, 24, 17, 11, 0).unwrap(),
        }
    }

    fn classic(quantity: u32, modifiers: &[&str]) -> OrderLine {
        OrderLine {
            item_id: id("classic"),
            quantity,
            modifiers: modifiers.iter().map(|m| id(m)).collect(),
            note: None,
        }
    }

    #[test]
    fn prices_the_example_of_the_api_contract() {
        let placed =
            place_order(Some(&store()), false, cmd(vec![classic(2, &["cheddar"])])).unwrap();
        assert_eq!(placed.lines[0].unit_price, usd(999));
        assert_eq!(placed.lines[0].total, usd(1998));
        assert_eq!(
            placed.totals,
            Totals {
                subtotal: usd(1998),
                tax: usd(175),
                tip: usd(200),
                total: usd(2373)
            }
        );
        // 17:11 + 10 minutes of lead = 17:21, the next 15-minute slot starts 17:30.
        assert_eq!(
            placed.pickup_at,
            Utc.with_ymd_and_hms(2026, 11, 24, 17, 30, 0).unwrap()
        );
    }

    #[test]
    fn rejects_an_item_that_is_not_on_the_menu() {
        let line = OrderLine {
            item_id: id("pizza"),
            quantity: 1,
            modifiers: vec![],
            note: None,
        };
        assert_eq!(
            place_order(Some(&store()), false, cmd(vec![line])),
            Err(OrderError::ItemNotFound {
                line: 1,
                item: id("pizza")
            })
        );
    }

    #[test]
    fn rejects_two_options_of_a_pick_one_group() {
        assert!(matches!(
            place_order(
                Some(&store()),
                false,
                cmd(vec![classic(1, &["cheddar", "swiss"])])
            ),
            Err(OrderError::ModifierRule { line: 1, .. })
        ));
    }

    #[test]
    fn rejects_quantities_outside_1_to_99() {
        for quantity in [0, 100] {
            assert_eq!(
                place_order(Some(&store()), false, cmd(vec![classic(quantity, &[])])),
                Err(OrderError::InvalidQuantity { line: 1 })
            );
        }
    }

    #[test]
    fn rejects_an_order_for_an_unknown_store_and_a_repeated_id() {
        assert!(matches!(
            place_order(None, false, cmd(vec![classic(1, &[])])),
            Err(OrderError::StoreNotFound(_))
        ));
        assert!(matches!(
            place_order(Some(&store()), true, cmd(vec![classic(1, &[])])),
            Err(OrderError::OrderExists(_))
        ));
    }
}
