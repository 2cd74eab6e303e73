//! The signing keys in Postgres (`signing_keys`, private keys as PKCS#8
//! DER): created at first start, rotated by `identity keys rotate`, read
//! again by every instance every `--key-reload-secs`.
//!
//! A rotation adds a key that signs only from `now + publish_delay` on and
//! retires the current one at that same moment, so that until then the old
//! key signs while the new one is already published; a retired key stays
//! published a day longer than it signs, past any token it signed.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{GenericClient, Pool};
use p256::SecretKey;
use p256::pkcs8::EncodePrivateKey;
use rand_core::OsRng;
use uuid::Uuid;

use crate::keys::Key;

/// A new P-256 private key as PKCS#8 DER.
fn generate() -> anyhow::Result<Vec<u8>> {
    let secret = SecretKey::random(&mut OsRng);
    let der = secret
        .to_pkcs8_der()
        .map_err(|e| anyhow::anyhow!("encoding a new signing key: {e}"))?;
    Ok(der.as_bytes().to_vec())
}

async fn insert_key(
    client: &impl GenericClient,
    not_before: DateTime<Utc>,
) -> anyhow::Result<String> {
    let kid = Uuid::now_v7().simple().to_string();
    client
        .execute(
            "insert into signing_keys (kid, private_key, not_before) values ($1, $2, $3)",
            &[&kid, &generate()?, &not_before],
        )
        .await
        .context("storing a new signing key")?;
    Ok(kid)
}

/// The keys to publish: those not retired, and those retired less than a
/// day ago (longer than any token lives). Among them is the one that signs.
pub async fn load(pool: &Pool) -> anyhow::Result<Vec<Key>> {
    let client = pool.get().await.context("getting a Postgres connection")?;
    let rows = client
        .query(
            "select kid, private_key, not_before, retired_at from signing_keys
              where retired_at is null or retired_at > now() - interval '1 day'
              order by not_before desc, kid desc",
            &[],
        )
        .await
        .context("reading the signing keys")?;
    rows.iter()
        .map(|row| Key::from_der(row.get(0), row.get::<_, &[u8]>(1), row.get(2), row.get(3)))
        .collect()
}

/// The keys, after creating one that signs at once when none does (the
/// first start).
pub async fn load_or_create(pool: &Pool) -> anyhow::Result<Vec<Key>> {
    let mut client = pool.get().await.context("getting a Postgres connection")?;
    let tx = client.transaction().await.context("beginning")?;
    // Two instances starting at once on an empty table create one key.
    tx.execute("lock table signing_keys in exclusive mode", &[])
        .await
        .context("locking the signing keys")?;
    let signing = tx
        .query_opt(
            "select kid from signing_keys
              where not_before <= now() and (retired_at is null or retired_at > now())
              limit 1",
            &[],
        )
        .await
        .context("looking for a signing key")?;
    if signing.is_none() {
        let kid = insert_key(&tx, Utc::now()).await?;
        tracing::info!(kid, "created a signing key");
    }
    tx.commit().await.context("committing a signing key")?;
    drop(client);
    load(pool).await
}

/// Adds a key that signs from `now + publish_delay` on and retires every
/// other unretired key at that moment; answers the new key's id.
pub async fn rotate(pool: &Pool, publish_delay: std::time::Duration) -> anyhow::Result<String> {
    load_or_create(pool).await?;
    let delay = Duration::from_std(publish_delay).context("the publish delay")?;
    let takes_over = Utc::now() + delay;
    let mut client = pool.get().await.context("getting a Postgres connection")?;
    let tx = client.transaction().await.context("beginning")?;
    tx.execute("lock table signing_keys in exclusive mode", &[])
        .await
        .context("locking the signing keys")?;
    let kid = insert_key(&tx, takes_over).await?;
    tx.execute(
        "update signing_keys set retired_at = $2 where retired_at is null and kid <> $1",
        &[&kid, &takes_over],
    )
    .await
    .context("retiring the current signing key")?;
    tx.commit().await.context("committing a key rotation")?;
    tracing::info!(kid, %takes_over, "rotated the signing key");
    Ok(kid)
}
