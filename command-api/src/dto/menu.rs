//! The body of `PUT /v1/stores/{store_id}/menu` and its parsing into a
//! domain menu.

use domain::{CatalogId, Category, Menu, MenuItem, ModifierGroup, ModifierOption};
use platform::FieldError;
use serde::Deserialize;

use super::fields::{Fields, whole};
use super::money::{MoneyBody, Price};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionBody {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub id: String,
    pub name: String,
    #[schema(value_type = Price)]
    pub price_delta: MoneyBody,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupBody {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub id: String,
    pub name: String,
    /// At most `max` (else `422 invalid_menu`).
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 0, maximum = 4294967295u32)]
    pub min: u32,
    /// At most the number of `options` (else `422 invalid_menu`).
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 0, maximum = 4294967295u32)]
    pub max: u32,
    /// Each option id once in the group (else `422 invalid_menu`).
    pub options: Vec<OptionBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemBody {
    /// Unique across the menu (else `422 invalid_menu`).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub id: String,
    pub name: String,
    #[schema(value_type = Price)]
    pub price: MoneyBody,
    /// Each group id once on the item (else `422 invalid_menu`).
    #[serde(default)]
    pub modifier_groups: Vec<GroupBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryBody {
    /// Unique across the menu's categories (else `422 invalid_menu`).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub id: String,
    pub name: String,
    pub items: Vec<ItemBody>,
}

/// `PUT /v1/stores/{store_id}/menu`. The rules across fields answer `422
/// invalid_menu`: at least one item, ids unique, a group's `min <= max <=`
/// its options, prices in the store's currency. A store that was never
/// configured: `404 store_not_found`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MenuBody {
    #[schema(min_items = 1)]
    pub categories: Vec<CategoryBody>,
}

impl MenuBody {
    pub fn parse(self) -> Result<Menu, Vec<FieldError>> {
        let mut f = Fields::default();
        let mut categories = Vec::new();
        for (ci, c) in self.categories.into_iter().enumerate() {
            let at = format!("categories[{ci}]");
            let id = f.check(format!("{at}.id"), CatalogId::parse(&c.id));
            let mut items = Vec::new();
            for (ii, item) in c.items.into_iter().enumerate() {
                let at = format!("{at}.items[{ii}]");
                let id = f.check(format!("{at}.id"), CatalogId::parse(&item.id));
                let price = f.check(format!("{at}.price"), item.price.parse());
                let mut groups = Vec::new();
                for (gi, g) in item.modifier_groups.into_iter().enumerate() {
                    let at = format!("{at}.modifier_groups[{gi}]");
                    let id = f.check(format!("{at}.id"), CatalogId::parse(&g.id));
                    let mut options = Vec::new();
                    for (oi, o) in g.options.into_iter().enumerate() {
                        let at = format!("{at}.options[{oi}]");
                        let id = f.check(format!("{at}.id"), CatalogId::parse(&o.id));
                        let delta = f.check(format!("{at}.price_delta"), o.price_delta.parse());
                        if let (Some(id), Some(price_delta)) = (id, delta) {
                            options.push(ModifierOption {
                                id,
                                name: o.name,
                                price_delta,
                            });
                        }
                    }
                    if let Some(id) = id {
                        groups.push(ModifierGroup {
                            id,
                            name: g.name,
                            min: g.min,
                            max: g.max,
                            options,
                        });
                    }
                }
                if let (Some(id), Some(price)) = (id, price) {
                    items.push(MenuItem {
                        id,
                        name: item.name,
                        price,
                        modifier_groups: groups,
                    });
                }
            }
            if let Some(id) = id {
                categories.push(Category {
                    id,
                    name: c.name,
                    items,
                });
            }
        }
        f.finish(Some(Menu { categories }))
    }
}
