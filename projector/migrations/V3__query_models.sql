-- The read models the whole query API answers from: each order's timeline,
-- the kitchen queue, each customer's history, the slots taken, and sales.

-- When the store expects the order ready (from its acceptance).
alter table orders add column ready_at timestamptz;

-- Every status an order has had, keyed by the order's version at the change:
-- the order's timeline, and the server-sent events of GET /v1/orders/{id}/events
-- (whose event ids are these versions).
create table order_status_changes (
    order_id uuid        not null,
    version  bigint      not null,
    status   text        not null,
    at       timestamptz not null,
    -- Why, for a rejection or a cancellation.
    reason   text,
    primary key (order_id, version)
);

-- The kitchen queue: a store's orders in a status, oldest first.
create index orders_queue on orders (store_id, status, placed_at, order_id);

-- A customer's orders, newest first.
drop index orders_by_customer;
create index orders_by_customer on orders (customer_id, placed_at desc, order_id desc)
    where customer_id is not null;

-- The orders holding each pickup slot.
drop index orders_by_store;
create index orders_by_slot on orders (store_id, slot);

-- Sales in 15-minute intervals of UTC: every time zone's offset is a multiple
-- of 15 minutes, so the query API sums them into the hours of whatever time
-- zone the store has, including the 23- and 25-hour days of clock changes.
-- Orders, revenue (the subtotal), tax and tips count in the interval the order
-- was placed in, and leave it again when the order is rejected or cancelled;
-- refunds count in the interval they were made in. Amounts are minor units of
-- the store's currency.
create table sales_intervals (
    store_id text        not null,
    interval_start timestamptz not null,
    orders   integer     not null,
    revenue  bigint      not null,
    tax      bigint      not null,
    tips     bigint      not null,
    refunds  bigint      not null,
    primary key (store_id, interval_start)
);

-- The new models need every event from the start (sales and timelines cannot
-- be derived from the rows the older schema kept), so the projection starts
-- over from offset zero of the log.
truncate projector_offsets, stores, menus, orders;
