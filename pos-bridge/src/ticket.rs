//! What the bridge sends to a kitchen: a ticket, built from order events, and
//! its ESC/POS rendering for printers. Displays receive the ticket as JSON.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use schemas::{OrderPlacedV2, OrderStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::escpos::{Align, Encoder};

/// Characters per line of an 80 mm receipt printer in its default font.
const WIDTH: usize = 42;

/// What a ticket tells the kitchen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    /// A new order, for the display, so the store can accept or reject it.
    Order,
    /// The kitchen should start now: printed, and shown on the display.
    Kitchen,
    /// A fired order was cancelled or rejected: printed with a CANCELLED banner.
    Cancelled,
    /// The order's status changed: for the display.
    Status,
    /// Not for a kitchen: the bridge accepts the order through command-api.
    Accept,
}

impl TicketKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Order => "order",
            TicketKind::Kitchen => "kitchen",
            TicketKind::Cancelled => "cancelled",
            TicketKind::Status => "status",
            TicketKind::Accept => "accept",
        }
    }
}

/// One line of an order, as the kitchen reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketLine {
    pub quantity: u32,
    pub name: String,
    pub modifiers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The order, as far as the kitchen cares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderDetails {
    pub asap: bool,
    pub pickup_at: DateTime<Utc>,
    /// The store's IANA time zone, in which times are printed.
    pub timezone: String,
    pub placed_at: DateTime<Utc>,
    /// When the kitchen should start.
    pub fire_at: DateTime<Utc>,
    pub lines: Vec<TicketLine>,
}

/// A ticket: the JSON body of a webhook, and what a printer ticket shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// Deterministic (order, kind, status, reprint), so a display can drop a
    /// ticket it already has.
    pub ticket_id: String,
    pub kind: TicketKind,
    pub store_id: String,
    pub order_id: Uuid,
    /// The short number the kitchen calls out.
    pub number: String,
    /// A reprint or replay: printed under a REPRINT banner.
    #[serde(default)]
    pub reprint: bool,
    /// When the event behind the ticket happened.
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderDetails>,
    /// For `status` tickets: the order's new status, as the query API names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OrderStatus>,
    /// Why an order was cancelled or rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The correlation id of the request behind the event, for the logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

/// The short number the kitchen calls out: the last six hex digits of the id.
pub fn order_number(order_id: Uuid) -> String {
    let simple = order_id.simple().to_string();
    simple[simple.len() - 6..].to_uppercase()
}

/// The id of an order's ticket of `kind` (and `status`, for status tickets).
pub fn ticket_id(order_id: Uuid, kind: TicketKind, status: Option<OrderStatus>) -> String {
    match status {
        Some(status) => format!("{order_id}:{}:{status}", kind.as_str()),
        None => format!("{order_id}:{}", kind.as_str()),
    }
}

impl OrderDetails {
    /// The order of `placed`, fired at `fire_at`, with times for `timezone`.
    pub fn from_placed(placed: &OrderPlacedV2, timezone: Tz, fire_at: DateTime<Utc>) -> Self {
        OrderDetails {
            asap: placed.asap,
            pickup_at: placed.pickup_at,
            timezone: timezone.name().to_owned(),
            placed_at: placed.placed_at,
            fire_at,
            lines: placed
                .lines
                .iter()
                .map(|l| TicketLine {
                    quantity: l.quantity,
                    name: l.name.clone(),
                    modifiers: l.modifiers.iter().map(|m| m.name.clone()).collect(),
                    note: l.note.clone(),
                })
                .collect(),
        }
    }
}

impl Ticket {
    /// A copy for a reprint: same content, a REPRINT banner, a new id.
    pub fn reprint(&self, replay_id: Uuid) -> Ticket {
        Ticket {
            ticket_id: format!("{}:reprint:{replay_id}", self.ticket_id),
            reprint: true,
            ..self.clone()
        }
    }

    /// The ticket as ESC/POS: initialise; banners; the order number large and
    /// the pickup time tall (in the store's time zone); each line with its
    /// quantity, indented modifiers and note; then feed and cut.
    pub fn to_escpos(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.initialize();
        let cancelled = self.kind == TicketKind::Cancelled;
        for (banner, on) in [("REPRINT", self.reprint), ("CANCELLED", cancelled)] {
            if on {
                e.align(Align::Center)
                    .size(2, 2)
                    .reverse(true)
                    .line(&format!(" {banner} "))
                    .reverse(false)
                    .size(1, 1);
            }
        }
        e.align(Align::Center)
            .size(2, 2)
            .bold(true)
            .line(&format!("#{}", self.number))
            .bold(false);
        if let Some(order) = &self.order {
            let tz: Tz = order.timezone.parse().unwrap_or(Tz::UTC);
            let pickup = order.pickup_at.with_timezone(&tz).format("%a %H:%M");
            let when = if order.asap { "ASAP" } else { "SCHEDULED" };
            e.size(1, 2)
                .line(&format!("PICKUP {pickup} {when}"))
                .size(1, 1);
            e.align(Align::Left).line(&"-".repeat(WIDTH));
            for line in &order.lines {
                e.bold(true)
                    .line(&format!("{:>2} x {}", line.quantity, line.name))
                    .bold(false);
                for modifier in &line.modifiers {
                    e.line(&format!("       + {modifier}"));
                }
                if let Some(note) = &line.note {
                    e.line(&format!("       * {note}"));
                }
            }
            e.line(&"-".repeat(WIDTH));
            let placed = order.placed_at.with_timezone(&tz).format("%H:%M");
            e.line(&format!("placed {placed}"));
        } else {
            e.align(Align::Left);
        }
        if let Some(reason) = &self.reason {
            e.line(&format!("reason: {reason}"));
        }
        e.feed(4).cut();
        e.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escpos::{Command, decode};

    fn ticket(kind: TicketKind) -> Ticket {
        let at: DateTime<Utc> = "2026-11-24T17:30:00Z".parse().unwrap();
        let order_id: Uuid = "0193a0c4-7b1e-7cc0-8f8e-3f2b6a1d9e01".parse().unwrap();
        Ticket {
            ticket_id: ticket_id(order_id, kind, None),
            kind,
            store_id: "downtown-42".into(),
            order_id,
            number: order_number(order_id),
            reprint: false,
            at,
            order: Some(OrderDetails {
                asap: true,
                pickup_at: at,
                timezone: "America/New_York".into(),
                placed_at: at - chrono::Duration::minutes(20),
                fire_at: at,
                lines: vec![TicketLine {
                    quantity: 2,
                    name: "Classic Burger".into(),
                    modifiers: vec!["Cheddar".into()],
                    note: Some("no onions".into()),
                }],
            }),
            status: None,
            reason: None,
            correlation_id: None,
        }
    }

    fn lines(bytes: &[u8]) -> Vec<String> {
        decode(bytes)
            .into_iter()
            .filter_map(|c| match c {
                Command::Line(text) => Some(text),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_kitchen_ticket_has_number_local_pickup_lines_modifiers_notes_then_a_cut() {
        let bytes = ticket(TicketKind::Kitchen).to_escpos();
        assert_eq!(&bytes[..2], [0x1b, b'@'], "starts by initialising");
        assert_eq!(
            &bytes[bytes.len() - 7..],
            [0x1b, b'd', 4, 0x1d, b'V', 66, 0]
        );
        let lines = lines(&bytes);
        assert_eq!(lines[0], "#1D9E01");
        assert_eq!(lines[1], "PICKUP Tue 12:30 ASAP");
        assert_eq!(
            &lines[3..6],
            [
                " 2 x Classic Burger",
                "       + Cheddar",
                "       * no onions"
            ]
        );
        assert_eq!(lines[7], "placed 12:10");
        let commands = decode(&bytes);
        let number = commands
            .iter()
            .position(|c| *c == Command::Line("#1D9E01".into()))
            .unwrap();
        assert!(
            commands[..number].contains(&Command::Size {
                width: 2,
                height: 2
            }),
            "the number is printed large"
        );
        assert!(!commands.contains(&Command::Reverse(true)), "no banner");
        let text = crate::escpos::to_text(&commands);
        assert!(
            text.contains("[bold]  2 x Classic Burger\n       + Cheddar\n       * no onions\n"),
            "{text}"
        );
        assert!(text.contains("[large] #1D9E01\n"), "{text}");
    }

    #[test]
    fn reprints_and_cancellations_carry_a_banner_first() {
        let id = Uuid::from_u128(7);
        let reprint = ticket(TicketKind::Kitchen).reprint(id);
        assert_eq!(
            reprint.ticket_id,
            format!("{}:reprint:{id}", ticket(TicketKind::Kitchen).ticket_id)
        );
        let bytes = reprint.to_escpos();
        assert_eq!(lines(&bytes)[0], " REPRINT ");
        let mut cancelled = ticket(TicketKind::Cancelled);
        cancelled.reason = Some("customer changed their mind".into());
        let lines = lines(&cancelled.to_escpos());
        assert_eq!(lines[0], " CANCELLED ");
        assert!(lines.contains(&"reason: customer changed their mind".to_owned()));
    }
}
