//! Pricing a cart from the menu. Prices a client sends are never used.
//!
//! line = (item price + option deltas) x quantity; tax on the subtotal at the
//! store's rate, rounded half away from zero once per order; the tip is not
//! taxed; total = subtotal + tax + tip. The tip is capped at the larger of
//! the subtotal and the store's `max_tip`, the total at its `max_order_total`;
//! every sum is checked.

use std::collections::BTreeSet;

use crate::{
    CartLine, CatalogId, Currency, Menu, Money, MoneyError, OrderError, OrderLimits, PricedLine,
    PricedModifier, Totals,
};

/// The most lines one order may have.
pub const MAX_LINES: usize = 100;
/// The most of one line a customer may order.
pub const MAX_QUANTITY: u32 = 99;

/// What pricing needs to know about the store.
#[derive(Debug, Clone, Copy)]
pub struct PriceList<'a> {
    pub menu: &'a Menu,
    /// Items and options that are 86'd.
    pub unavailable: &'a BTreeSet<CatalogId>,
    pub currency: Currency,
    pub tax_rate_bps: u32,
    pub limits: OrderLimits,
}

fn out_of_range(e: MoneyError) -> OrderError {
    match e {
        MoneyError::Mismatch { expected, .. } => OrderError::CurrencyMismatch { expected },
        other => OrderError::AmountOutOfRange(other),
    }
}

pub fn price(
    list: PriceList<'_>,
    lines: &[CartLine],
    tip: Option<Money>,
) -> Result<(Vec<PricedLine>, Totals), OrderError> {
    if lines.is_empty() {
        return Err(OrderError::EmptyOrder);
    }
    if lines.len() > MAX_LINES {
        return Err(OrderError::TooManyLines);
    }
    let mut priced = Vec::with_capacity(lines.len());
    let mut subtotal = Money::zero(list.currency);
    for (index, line) in lines.iter().enumerate() {
        let priced_line = price_line(list, index + 1, line)?;
        subtotal = subtotal
            .checked_add(priced_line.total)
            .map_err(out_of_range)?;
        priced.push(priced_line);
    }
    let tip = tip.unwrap_or(Money::zero(list.currency));
    if tip.currency != list.currency {
        return Err(OrderError::CurrencyMismatch {
            expected: list.currency,
        });
    }
    if tip.amount < 0 {
        return Err(OrderError::InvalidTip);
    }
    let tip_cap = Money::new(
        subtotal.amount.max(list.limits.max_tip.amount),
        list.currency,
    );
    if tip.amount > tip_cap.amount {
        return Err(OrderError::TipTooLarge { cap: tip_cap });
    }
    let tax = subtotal
        .basis_points(list.tax_rate_bps)
        .map_err(out_of_range)?;
    let total_cap = list.limits.max_order_total;
    // A sum past `i64` is past any cap a store may set.
    let total = subtotal
        .checked_add(tax)
        .and_then(|t| t.checked_add(tip))
        .map_err(|_| OrderError::OrderTotalTooLarge { cap: total_cap })?;
    if total.amount > total_cap.amount {
        return Err(OrderError::OrderTotalTooLarge { cap: total_cap });
    }
    Ok((
        priced,
        Totals {
            subtotal,
            tax,
            tip,
            total,
        },
    ))
}

fn price_line(
    list: PriceList<'_>,
    line_no: usize,
    line: &CartLine,
) -> Result<PricedLine, OrderError> {
    if line.quantity == 0 || line.quantity > MAX_QUANTITY {
        return Err(OrderError::InvalidQuantity { line: line_no });
    }
    let item = list
        .menu
        .item(&line.item_id)
        .ok_or_else(|| OrderError::ItemNotFound {
            line: line_no,
            item: line.item_id.clone(),
        })?;
    if list.unavailable.contains(&item.id) {
        return Err(OrderError::ItemUnavailable {
            line: line_no,
            item: item.id.clone(),
        });
    }
    let mut modifiers = Vec::with_capacity(line.modifiers.len());
    for (i, option_id) in line.modifiers.iter().enumerate() {
        if line.modifiers[..i].contains(option_id) {
            return Err(OrderError::DuplicateModifier {
                line: line_no,
                option: option_id.clone(),
            });
        }
        let option = item
            .modifier_groups
            .iter()
            .flat_map(|g| &g.options)
            .find(|o| &o.id == option_id)
            .ok_or_else(|| OrderError::ModifierNotFound {
                line: line_no,
                option: option_id.clone(),
            })?;
        if list.unavailable.contains(&option.id) {
            return Err(OrderError::ModifierUnavailable {
                line: line_no,
                option: option.id.clone(),
            });
        }
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
            return Err(OrderError::ModifierCount {
                line: line_no,
                group: group.id.clone(),
                min: group.min,
                max: group.max,
            });
        }
    }
    let unit_price = modifiers
        .iter()
        .try_fold(item.price, |sum, m| sum.checked_add(m.price_delta))
        .map_err(out_of_range)?;
    let total = unit_price
        .checked_mul(i64::from(line.quantity))
        .map_err(out_of_range)?;
    Ok(PricedLine {
        item_id: item.id.clone(),
        name: item.name.clone(),
        quantity: line.quantity,
        modifiers,
        note: line.note.clone(),
        unit_price,
        total,
    })
}
