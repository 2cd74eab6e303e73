//! A store: its profile, its pickup settings and its menu.

use chrono::{NaiveTime, Weekday};
use chrono_tz::Tz;

use crate::{CatalogId, Currency, Money, StoreId};

/// How pickup times are offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupSettings {
    pub slot_minutes: u32,
    pub lead_minutes: u32,
    pub max_orders_per_slot: u32,
    pub max_days_ahead: u32,
}

/// One day's opening hours in the store's time zone; a `close` at or before
/// `open` runs past midnight into the next day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpeningHours {
    pub day: Weekday,
    pub open: NaiveTime,
    pub close: NaiveTime,
}

/// What an admin sets with `PUT /v1/stores/{id}`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreProfile {
    pub name: String,
    pub timezone: Tz,
    pub currency: Currency,
    pub tax_rate_bps: u32,
    /// A day without an entry is closed.
    pub hours: Vec<OpeningHours>,
    pub pickup: PickupSettings,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifierOption {
    pub id: CatalogId,
    pub name: String,
    pub price_delta: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifierGroup {
    pub id: CatalogId,
    pub name: String,
    pub min: u32,
    pub max: u32,
    pub options: Vec<ModifierOption>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    pub id: CatalogId,
    pub name: String,
    pub price: Money,
    pub modifier_groups: Vec<ModifierGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: CatalogId,
    pub name: String,
    pub items: Vec<MenuItem>,
}

/// A store's whole menu, as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub categories: Vec<Category>,
}

impl Menu {
    pub fn item(&self, id: &CatalogId) -> Option<&MenuItem> {
        self.categories
            .iter()
            .flat_map(|c| &c.items)
            .find(|i| &i.id == id)
    }
}

/// What happened to a store.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreEvent {
    Configured(StoreProfile),
    MenuPublished { menu_version: u32, menu: Menu },
}

/// A rule a store command broke. Each variant is one `code` of the public API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// `404 store_not_found`
    #[error("store {0} does not exist")]
    NotFound(StoreId),
    /// `422 invalid_menu`
    #[error("invalid menu: {0}")]
    InvalidMenu(String),
    /// `422 invalid_store`
    #[error("invalid store: {0}")]
    InvalidStore(String),
}

/// A store as the writer of its partition knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Store {
    pub id: StoreId,
    pub profile: StoreProfile,
    pub menu: Option<Menu>,
    pub menu_version: u32,
    /// The number of events of this store: the aggregate version.
    pub version: u64,
}

impl Store {
    /// Folds one event into the store; `None` is a store not yet configured.
    pub fn evolve(state: Option<Store>, id: &StoreId, event: &StoreEvent) -> Option<Store> {
        match (state, event) {
            (None, StoreEvent::Configured(profile)) => Some(Store {
                id: id.clone(),
                profile: profile.clone(),
                menu: None,
                menu_version: 0,
                version: 1,
            }),
            (Some(store), StoreEvent::Configured(profile)) => Some(Store {
                profile: profile.clone(),
                version: store.version + 1,
                ..store
            }),
            (Some(store), StoreEvent::MenuPublished { menu_version, menu }) => Some(Store {
                menu: Some(menu.clone()),
                menu_version: *menu_version,
                version: store.version + 1,
                ..store
            }),
            // A menu for an unknown store is never decided; ignoring it keeps a
            // fold total over any log.
            (None, StoreEvent::MenuPublished { .. }) => None,
        }
    }
}

/// Creates or updates a store's profile.
pub fn configure_store(profile: StoreProfile) -> Result<Vec<StoreEvent>, StoreError> {
    if profile.name.trim().is_empty() {
        return Err(StoreError::InvalidStore("name must not be empty".into()));
    }
    if profile.tax_rate_bps > 10_000 {
        return Err(StoreError::InvalidStore(
            "tax_rate_bps must be at most 10000".into(),
        ));
    }
    let p = &profile.pickup;
    if p.slot_minutes == 0 || p.max_orders_per_slot == 0 {
        return Err(StoreError::InvalidStore(
            "pickup.slot_minutes and pickup.max_orders_per_slot must be positive".into(),
        ));
    }
    Ok(vec![StoreEvent::Configured(profile)])
}

/// Publishes a whole new menu for an existing store.
pub fn publish_menu(
    store: Option<&Store>,
    id: &StoreId,
    menu: Menu,
) -> Result<Vec<StoreEvent>, StoreError> {
    let store = store.ok_or_else(|| StoreError::NotFound(id.clone()))?;
    validate_menu(&menu, store.profile.currency)?;
    Ok(vec![StoreEvent::MenuPublished {
        menu_version: store.menu_version + 1,
        menu,
    }])
}

fn validate_menu(menu: &Menu, currency: Currency) -> Result<(), StoreError> {
    let invalid = |m: String| Err(StoreError::InvalidMenu(m));
    let mut seen = std::collections::HashSet::new();
    let mut items = 0;
    for category in &menu.categories {
        for item in &category.items {
            items += 1;
            if !seen.insert(item.id.clone()) {
                return invalid(format!("item id {} appears twice", item.id));
            }
            if item.price.amount < 0 || item.price.currency != currency {
                return invalid(format!(
                    "item {} needs a non-negative price in {currency}",
                    item.id
                ));
            }
            for group in &item.modifier_groups {
                if group.min > group.max || group.max as usize > group.options.len() {
                    return invalid(format!(
                        "modifier group {} of item {} needs 0 <= min <= max <= {} options",
                        group.id,
                        item.id,
                        group.options.len()
                    ));
                }
                for option in &group.options {
                    if option.price_delta.amount < 0 || option.price_delta.currency != currency {
                        return invalid(format!(
                            "option {} needs a non-negative price_delta in {currency}",
                            option.id
                        ));
                    }
                }
            }
        }
    }
    if items == 0 {
        return invalid("a menu needs at least one item".into());
    }
    Ok(())
}
