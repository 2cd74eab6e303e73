//! POS devices' client credentials (`pos_clients`): a client id (a UUID)
//! and a 256-bit secret, shown once and stored as its SHA-256 hash.

use anyhow::Context;
use deadpool_postgres::GenericClient;
use uuid::Uuid;

use crate::secret_token;

/// A new client of `store`: its id and secret (the only time it is seen).
pub async fn create(
    client: &impl GenericClient,
    store: &str,
    created_by: Uuid,
) -> anyhow::Result<(Uuid, String)> {
    let id = Uuid::now_v7();
    let secret = secret_token::generate();
    client
        .execute(
            "insert into pos_clients (id, store_id, secret_hash, created_by)
             values ($1, $2, $3, $4)",
            &[&id, &store, &secret_token::hash(&secret), &created_by],
        )
        .await
        .context("storing a POS client")?;
    Ok((id, secret))
}

/// The store of client `id` when `secret` is its secret and it is not
/// revoked.
pub async fn authenticate(
    client: &impl GenericClient,
    id: Uuid,
    secret: &str,
) -> anyhow::Result<Option<String>> {
    let row = client
        .query_opt(
            "select store_id, secret_hash from pos_clients where id = $1 and revoked_at is null",
            &[&id],
        )
        .await
        .context("reading a POS client")?;
    Ok(row.and_then(|row| {
        let stored: Vec<u8> = row.get(1);
        secret_token::hashes_match(&stored, &secret_token::hash(secret)).then(|| row.get(0))
    }))
}

/// Revokes client `id` of `store`; `false` when there is no such live
/// client. Tokens it was given live out their minutes.
pub async fn revoke(client: &impl GenericClient, store: &str, id: Uuid) -> anyhow::Result<bool> {
    let revoked = client
        .execute(
            "update pos_clients set revoked_at = now()
              where id = $1 and store_id = $2 and revoked_at is null",
            &[&id, &store],
        )
        .await
        .context("revoking a POS client")?;
    Ok(revoked > 0)
}
