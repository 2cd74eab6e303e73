//! The bodies of placing an order and quoting a cart (`POST /v1/orders`,
//! `POST /v1/orders/quote`) and their parsing into a domain cart.

use chrono::{DateTime, FixedOffset, Utc};
use domain::{Cart, CartLine, CatalogId, StoreId};
use platform::FieldError;
use serde::Deserialize;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};

use super::fields::{Fields, ID_PATTERN, is_visible_ascii_key, present, whole};
use super::money::{MoneyBody, Tip};

/// A list of menu ids (a line's modifiers).
fn catalog_ids() -> ArrayBuilder {
    ArrayBuilder::new().items(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(ID_PATTERN)),
    )
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfillmentBody {
    /// Only pickup is offered.
    #[serde(rename = "type")]
    #[schema(schema_with = pickup_only)]
    pub kind: String,
    /// When to pick up (RFC 3339); absent or `null`: as soon as possible.
    /// Within the store's hours, lead time and horizon, in a slot with room
    /// (else `422 pickup_too_soon`, `store_closed`, `slot_full`, ...).
    pub pickup_at: Option<DateTime<FixedOffset>>,
}

fn pickup_only() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["pickup"]))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineBody {
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub item_id: String,
    #[serde(deserialize_with = "whole::u32")]
    #[schema(minimum = 1, maximum = 99)]
    pub quantity: u32,
    /// The chosen options' ids.
    #[serde(default)]
    #[schema(schema_with = catalog_ids)]
    pub modifiers: Vec<String>,
    #[schema(max_length = 200)]
    pub note: Option<String>,
}

/// A payment token of the gateway: 1-255 visible ASCII characters. It
/// stands for a card, so it never appears in `Debug` output (logs, traces,
/// panics).
#[derive(Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
#[schema(value_type = String, pattern = "^[!-~]{1,255}$")]
pub struct PaymentToken(String);

impl PaymentToken {
    fn check(&self) -> Result<(), &'static str> {
        if !is_visible_ascii_key(&self.0) {
            return Err("must have 1-255 visible ASCII characters");
        }
        Ok(())
    }

    /// The token itself, for the gateway.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PaymentToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaymentToken([redacted])")
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    /// The gateway's token for the customer's payment method, 1-255 visible
    /// ASCII characters (else `422 invalid_payment_token` if the gateway
    /// does not know it).
    #[schema(pattern = "^[!-~]{1,255}$")]
    pub token: PaymentToken,
}

/// `POST /v1/orders`. The server assigns the order's id (a UUID v7): a body
/// with an `order_id` is refused with `422 order_id_not_accepted`; a retry
/// stays safe through its `Idempotency-Key`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderBody {
    /// Refused when present: ids are the server's.
    #[serde(default, deserialize_with = "present")]
    #[schema(ignore)]
    pub order_id: bool,
    /// A configured store (else `404 store_not_found`).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub store_id: String,
    pub fulfillment: FulfillmentBody,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineBody>,
    #[schema(value_type = Option<Tip>)]
    pub tip: Option<MoneyBody>,
    pub payment: PaymentBody,
}

/// `POST /v1/orders/quote`: the placing body without `payment` (a `payment`
/// field is an unknown field, refused like any other).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteBody {
    /// Refused when present, as in placing.
    #[serde(default, deserialize_with = "present")]
    #[schema(ignore)]
    pub order_id: bool,
    /// A configured store (else `404 store_not_found`).
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,63}$")]
    pub store_id: String,
    pub fulfillment: FulfillmentBody,
    #[schema(min_items = 1, max_items = 100)]
    pub lines: Vec<LineBody>,
    #[schema(value_type = Option<Tip>)]
    pub tip: Option<MoneyBody>,
}

/// The most characters of a line's note.
const MAX_NOTE: usize = 200;

/// A placing request, parsed. The order's id is assigned when it is placed.
#[derive(Debug)]
pub struct Placing {
    pub store_id: StoreId,
    pub cart: Cart,
    pub token: PaymentToken,
}

/// A quoting request, parsed.
#[derive(Debug)]
pub struct Quoting {
    pub store_id: StoreId,
    pub cart: Cart,
}

/// Why a placing or quoting body is refused.
#[derive(Debug)]
pub enum CartRefusal {
    /// The body names an `order_id`: `422 order_id_not_accepted`.
    OrderIdSent,
    /// `422 validation_failed` with these fields.
    Invalid(Vec<FieldError>),
}

/// Parses what placing and quoting share into the store and the cart.
fn parse_cart(
    f: &mut Fields,
    store_id: &str,
    fulfillment: FulfillmentBody,
    lines: Vec<LineBody>,
    tip: Option<MoneyBody>,
) -> Option<(StoreId, Cart)> {
    let store_id = f.check("store_id", StoreId::parse(store_id));
    if fulfillment.kind != "pickup" {
        f.check::<(), _>("fulfillment.type", Err("only `pickup` is offered"));
    }
    let tip = tip.as_ref().and_then(|t| f.check("tip", t.parse()));
    let mut cart_lines = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        let item_id = f.check(
            format!("lines[{i}].item_id"),
            CatalogId::parse(&line.item_id),
        );
        let modifiers: Vec<CatalogId> = line
            .modifiers
            .iter()
            .enumerate()
            .filter_map(|(m, id)| {
                f.check(format!("lines[{i}].modifiers[{m}]"), CatalogId::parse(id))
            })
            .collect();
        if line
            .note
            .as_ref()
            .is_some_and(|n| n.chars().count() > MAX_NOTE)
        {
            f.check::<(), _>(
                format!("lines[{i}].note"),
                Err(format!("at most {MAX_NOTE} characters")),
            );
        }
        if let Some(item_id) = item_id {
            cart_lines.push(CartLine {
                item_id,
                quantity: line.quantity,
                modifiers,
                note: line.note,
            });
        }
    }
    store_id.map(|store_id| {
        let cart = Cart {
            lines: cart_lines,
            tip,
            pickup_at: fulfillment.pickup_at.map(|t| t.with_timezone(&Utc)),
        };
        (store_id, cart)
    })
}

impl PlaceOrderBody {
    pub fn parse(self) -> Result<Placing, CartRefusal> {
        if self.order_id {
            return Err(CartRefusal::OrderIdSent);
        }
        let mut f = Fields::default();
        f.check("payment.token", self.payment.token.check());
        let parsed = parse_cart(
            &mut f,
            &self.store_id,
            self.fulfillment,
            self.lines,
            self.tip,
        );
        let placing = parsed.map(|(store_id, cart)| Placing {
            store_id,
            cart,
            token: self.payment.token,
        });
        f.finish(placing).map_err(CartRefusal::Invalid)
    }
}

impl QuoteBody {
    pub fn parse(self) -> Result<Quoting, CartRefusal> {
        if self.order_id {
            return Err(CartRefusal::OrderIdSent);
        }
        let mut f = Fields::default();
        let parsed = parse_cart(
            &mut f,
            &self.store_id,
            self.fulfillment,
            self.lines,
            self.tip,
        );
        let quoting = parsed.map(|(store_id, cart)| Quoting { store_id, cart });
        f.finish(quoting).map_err(CartRefusal::Invalid)
    }
}
