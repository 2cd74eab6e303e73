-- The bridge's own tables. They live beside the read models in the same
-- database but belong to pos-bridge alone (history: pos_bridge_schema_history).

-- Each store's time zone, from qsr.stores, so tickets print local times even
-- after a restart that does not read the store's profile again.
create table bridge_stores (
    store_id text primary key,
    timezone text not null
);

-- Every ticket, once per sink: written (pending) in the same transaction as
-- the decision to send it, before the Kafka offset past its event is
-- committed; marked delivered once its sink took it. A restart resumes from
-- here and skips what was delivered. A scheduled ticket waits here until
-- due_at (hold and fire).
create table bridge_tickets (
    seq bigserial primary key,
    ticket_id text not null,
    -- `printer:<host:port>`, `kds:<url>` or `command-api`.
    sink text not null,
    store_id text not null,
    order_id uuid not null,
    -- order, kitchen, cancelled, status, accept.
    kind text not null,
    body jsonb not null,
    due_at timestamptz not null,
    created_at timestamptz not null default now(),
    -- pending, delivered, dead (dead-lettered), dropped (cancelled before firing).
    state text not null default 'pending',
    attempts integer not null default 0,
    last_error text,
    delivered_at timestamptz,
    unique (ticket_id, sink)
);

create index bridge_tickets_queue on bridge_tickets (store_id, sink, seq) where state = 'pending';
create index bridge_tickets_order on bridge_tickets (order_id, kind);
create index bridge_tickets_replay on bridge_tickets (store_id, due_at) where kind in ('kitchen', 'cancelled');
