//! A store's menu: categories of items, each with modifier groups of options.

use std::collections::HashSet;

use crate::{CatalogId, Currency, Money};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifierOption {
    pub id: CatalogId,
    pub name: String,
    pub price_delta: Money,
}

/// A choice on an item: pick between `min` and `max` of `options`.
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

/// A store's whole menu, as published. Option ids may repeat across items (the
/// same cheddar on every burger), so taking an option off takes it off everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Menu {
    pub categories: Vec<Category>,
}

impl Menu {
    pub fn items(&self) -> impl Iterator<Item = &MenuItem> {
        self.categories.iter().flat_map(|c| &c.items)
    }

    pub fn item(&self, id: &CatalogId) -> Option<&MenuItem> {
        self.items().find(|i| &i.id == id)
    }

    /// Whether `id` names an item or a modifier option of this menu.
    pub fn has_item_or_option(&self, id: &CatalogId) -> bool {
        self.items().any(|i| {
            &i.id == id
                || i.modifier_groups
                    .iter()
                    .flat_map(|g| &g.options)
                    .any(|o| &o.id == id)
        })
    }

    /// Checks the rules every published menu keeps; the reason names the culprit.
    pub fn validate(&self, currency: Currency) -> Result<(), String> {
        let mut categories = HashSet::new();
        let mut items = HashSet::new();
        for category in &self.categories {
            if !categories.insert(&category.id) {
                return Err(format!("category id {} appears twice", category.id));
            }
            for item in &category.items {
                if !items.insert(&item.id) {
                    return Err(format!("item id {} appears twice", item.id));
                }
                check_price(&item.price, currency, || format!("item {}", item.id))?;
                let mut groups = HashSet::new();
                for group in &item.modifier_groups {
                    if !groups.insert(&group.id) {
                        return Err(format!(
                            "modifier group {} appears twice on item {}",
                            group.id, item.id
                        ));
                    }
                    let count = group.options.len();
                    if group.min > group.max || group.max as usize > count {
                        return Err(format!(
                            "modifier group {} of item {} needs 0 <= min <= max <= {count} (its options)",
                            group.id, item.id
                        ));
                    }
                    let mut options = HashSet::new();
                    for option in &group.options {
                        if !options.insert(&option.id) {
                            return Err(format!(
                                "option {} appears twice in group {}",
                                option.id, group.id
                            ));
                        }
                        check_price(&option.price_delta, currency, || {
                            format!("option {}", option.id)
                        })?;
                    }
                }
            }
        }
        if items.is_empty() {
            return Err("a menu needs at least one item".into());
        }
        Ok(())
    }
}

fn check_price(price: &Money, currency: Currency, what: impl Fn() -> String) -> Result<(), String> {
    if price.amount < 0 {
        return Err(format!("{} has a negative price", what()));
    }
    if price.currency != currency {
        return Err(format!(
            "{} is priced in {}, the store in {currency}",
            what(),
            price.currency
        ));
    }
    Ok(())
}
