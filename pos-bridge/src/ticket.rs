//! A kitchen ticket as plain text, the way a narrow receipt printer shows it.

use std::fmt::Write;

use chrono_tz::Tz;
use schemas::OrderPlacedV2;

/// Characters per line of a 80 mm receipt printer in its default font.
const WIDTH: usize = 42;

/// The short number the kitchen calls out: the last six hex digits of the id.
pub fn order_number(order: &OrderPlacedV2) -> String {
    let simple = order.order_id.simple().to_string();
    simple[simple.len() - 6..].to_uppercase()
}

/// Renders the ticket; times are shown in the store's time zone.
pub fn render_ticket(order: &OrderPlacedV2, timezone: Tz) -> String {
    let rule = "=".repeat(WIDTH);
    let mut t = String::new();
    let pickup = order.pickup_at.with_timezone(&timezone).format("%a %H:%M");
    let when = if order.asap { "ASAP" } else { "SCHEDULED" };
    // Writing to a String cannot fail.
    let _ = writeln!(t, "{rule}");
    let _ = writeln!(t, "ORDER {}", order_number(order));
    let _ = writeln!(t, "PICKUP {pickup} ({when})");
    let _ = writeln!(t, "{}", "-".repeat(WIDTH));
    for line in &order.lines {
        let _ = writeln!(t, "{:>2} x {}", line.quantity, line.name);
        for modifier in &line.modifiers {
            let _ = writeln!(t, "       + {}", modifier.name);
        }
        if let Some(note) = &line.note {
            let _ = writeln!(t, "       * {note}");
        }
    }
    let _ = writeln!(t, "{rule}");
    t
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use schemas::{MoneyV1, PricedLineV1, PricedModifierV1, TotalsV1};

    use super::*;

    fn money(amount: i64) -> MoneyV1 {
        MoneyV1 {
            amount,
            currency: "USD".into(),
        }
    }

    #[test]
    fn shows_number_local_pickup_lines_modifiers_and_notes() {
        let pickup: DateTime<Utc> = "2026-11-24T17:30:00Z".parse().unwrap();
        let order = OrderPlacedV2 {
            order_id: "0193a0c4-7b1e-7cc0-8f8e-3f2b6a1d9e01".parse().unwrap(),
            store_id: "downtown-42".into(),
            customer_id: Some("cust-1".into()),
            lines: vec![PricedLineV1 {
                item_id: "classic".into(),
                name: "Classic Burger".into(),
                quantity: 2,
                modifiers: vec![PricedModifierV1 {
                    id: "cheddar".into(),
                    name: "Cheddar".into(),
                    price_delta: money(100),
                }],
                note: Some("no onions".into()),
                unit_price: money(999),
                total: money(1998),
            }],
            totals: TotalsV1 {
                subtotal: money(1998),
                tax: money(175),
                tip: money(0),
                total: money(2173),
            },
            pickup_at: pickup,
            slot: pickup,
            asap: true,
            placed_at: pickup,
        };
        let ticket = render_ticket(&order, chrono_tz::America::New_York);
        let lines: Vec<&str> = ticket.lines().collect();
        assert_eq!(lines[1], "ORDER 1D9E01");
        assert_eq!(lines[2], "PICKUP Tue 12:30 (ASAP)");
        assert_eq!(
            &lines[4..7],
            [
                " 2 x Classic Burger",
                "       + Cheddar",
                "       * no onions"
            ]
        );
    }
}
