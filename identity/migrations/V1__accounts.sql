-- Accounts, refresh tokens and signing keys of the identity service. The
-- personal data (email, name, phone) lives only here; other services know a
-- user by `id` alone, the opaque `sub` of its tokens.

create table users (
    id uuid primary key,
    email text not null,
    name text not null,
    phone text,
    password_hash text not null,
    role text not null check (role in ('customer', 'staff', 'admin')),
    stores text[] not null default '{}',
    email_verified boolean not null default false,
    created_at timestamptz not null default now()
);

-- Emails are unique whatever their case.
create unique index users_email_key on users (lower(email));

-- Refresh tokens are stored as SHA-256 hashes of the opaque token. A login
-- starts a family; each refresh spends its token and issues the next of the
-- family. Presenting a spent token revokes the whole family.
create table refresh_tokens (
    token_hash bytea primary key,
    family_id uuid not null,
    user_id uuid not null references users (id) on delete cascade,
    spent boolean not null default false,
    revoked boolean not null default false,
    expires_at timestamptz not null,
    created_at timestamptz not null default now()
);

create index refresh_tokens_family on refresh_tokens (family_id);
create index refresh_tokens_user on refresh_tokens (user_id);

-- ES256 (P-256) keys, the private key as PKCS#8 DER. The newest unretired
-- key signs; retired ones stay published until their tokens have expired.
create table signing_keys (
    kid text primary key,
    private_key bytea not null,
    created_at timestamptz not null default now(),
    retired_at timestamptz
);
