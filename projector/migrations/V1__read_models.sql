-- The read models of the walking skeleton, and the consumed offsets that make
-- their projection exactly once.

-- The next offset to read of each partition; written in the same transaction
-- as the changes of the events before it.
create table projector_offsets (
    topic       text   not null,
    partition   int    not null,
    next_offset bigint not null,
    primary key (topic, partition)
);

create table stores (
    store_id     text        primary key,
    name         text        not null,
    timezone     text        not null,
    currency     text        not null,
    tax_rate_bps int         not null,
    hours        jsonb       not null,
    pickup       jsonb       not null,
    version      bigint      not null,
    updated_at   timestamptz not null
);

create table menus (
    store_id     text        primary key,
    menu_version int         not null,
    categories   jsonb       not null,
    published_at timestamptz not null
);

create table orders (
    order_id   uuid        primary key,
    store_id   text        not null,
    status     text        not null,
    version    bigint      not null,
    lines      jsonb       not null,
    totals     jsonb       not null,
    pickup_at  timestamptz not null,
    asap       boolean     not null,
    placed_at  timestamptz not null,
    updated_at timestamptz not null
);

create index orders_by_store on orders (store_id, placed_at);
