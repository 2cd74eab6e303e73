-- Issue 12's second slice: single-use mailed tokens, invitations, the mail
-- outbox, POS client credentials, and keys that sign only from a time on.

-- Email verification and password reset tokens, stored as SHA-256 hashes of
-- the mailed token. Spent by setting `spent_at`; gone with their user.
create table email_tokens (
    token_hash bytea primary key,
    purpose text not null check (purpose in ('verify_email', 'reset_password')),
    user_id uuid not null references users (id) on delete cascade,
    expires_at timestamptz not null,
    spent_at timestamptz,
    created_at timestamptz not null default now()
);

create index email_tokens_user on email_tokens (user_id);

-- An admin's invitation of a staff member or another admin; accepting it
-- creates the account with this role and these stores.
create table invitations (
    id uuid primary key,
    token_hash bytea not null unique,
    email text not null,
    role text not null check (role in ('staff', 'admin')),
    stores text[] not null default '{}',
    invited_by uuid references users (id) on delete set null,
    expires_at timestamptz not null,
    accepted_at timestamptz,
    created_at timestamptz not null default now()
);

-- Mail not yet sent, written in the transaction of the token it carries and
-- sent by a background task. A row leaves once its mail is sent; one that
-- keeps failing stays with `failed_at` set. A mail to a user goes with the
-- user's row, one of an invitation with the invitation's.
create table mail_outbox (
    id uuid primary key,
    user_id uuid references users (id) on delete cascade,
    invitation_id uuid references invitations (id) on delete cascade,
    recipient text not null,
    subject text not null,
    body text not null,
    attempts integer not null default 0,
    next_attempt_at timestamptz not null default now(),
    last_error text,
    failed_at timestamptz,
    created_at timestamptz not null default now()
);

create index mail_outbox_due on mail_outbox (next_attempt_at) where failed_at is null;

-- A store's POS device: the client credentials of `POST /v1/auth/token`.
-- The secret is 256 random bits, stored as its SHA-256 hash.
create table pos_clients (
    id uuid primary key,
    store_id text not null,
    secret_hash bytea not null,
    created_by uuid references users (id) on delete set null,
    revoked_at timestamptz,
    created_at timestamptz not null default now()
);

create index pos_clients_store on pos_clients (store_id);

-- A key signs only from `not_before` on, so that every verifier has fetched
-- it first; existing keys sign already.
alter table signing_keys add column not_before timestamptz not null default now();
