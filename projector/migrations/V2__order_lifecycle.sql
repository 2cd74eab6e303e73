-- The order's customer, slot and payment, and the store's availability and
-- status, as the domain of issue 3 records them.

alter table orders
    add column customer_id     text,
    add column slot            timestamptz,
    add column payment_status  text,
    add column captured_amount bigint not null default 0,
    add column refunded_amount bigint not null default 0;

update orders set slot = pickup_at where slot is null;
alter table orders alter column slot set not null;

create index orders_by_customer on orders (customer_id, placed_at) where customer_id is not null;

alter table stores
    add column accepting_orders boolean not null default true,
    add column busy_minutes     int     not null default 0,
    add column unavailable      text[]  not null default '{}';
