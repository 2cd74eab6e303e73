//! Creating an account directly, without a registration or an invitation:
//! the command line's `identity admin create` and `identity staff create`,
//! and tests in other crates that need an admin.

use deadpool_postgres::Pool;
use platform::PostgresArgs;
use uuid::Uuid;

use crate::db::{self, NewUser};
use crate::password;
use crate::role::AccountRole;
use crate::validate::{valid_email, valid_name, valid_store_id};

/// An account to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub name: String,
    /// Held to the same rules as a registration's.
    pub password: String,
    pub role: AccountRole,
    /// At least one for staff.
    pub stores: Vec<String>,
}

/// Why an account was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("an account with the email {0} exists")]
    EmailTaken(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    WeakPassword(String),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Checks `account` as a registration would.
fn check(account: &NewAccount) -> Result<(), CreateError> {
    if !valid_email(&account.email) {
        return Err(CreateError::Invalid(format!(
            "{:?} is not an email address",
            account.email
        )));
    }
    if !valid_name(&account.name) {
        return Err(CreateError::Invalid(
            "a name has 1 to 200 characters".into(),
        ));
    }
    if let Some(bad) = account.stores.iter().find(|s| !valid_store_id(s)) {
        return Err(CreateError::Invalid(format!(
            "{bad:?} is not a store id (^[a-z0-9][a-z0-9-]{{0,63}}$)"
        )));
    }
    if account.role == AccountRole::Staff && account.stores.is_empty() {
        return Err(CreateError::Invalid(
            "staff work at one store at least".into(),
        ));
    }
    password::check_strength(&account.password, &[&account.email, &account.name])
        .map_err(|weak| CreateError::WeakPassword(weak.detail()))
}

/// Creates `account` on `pool` (migrated already); its id. Staff and admins
/// made this way count as verified: an operator vouches for them.
pub async fn create_in(pool: &Pool, account: NewAccount) -> Result<Uuid, CreateError> {
    let account = NewAccount {
        email: account.email.trim().to_owned(),
        name: account.name.trim().to_owned(),
        ..account
    };
    check(&account)?;
    let secret = account.password.clone();
    let hash = tokio::task::spawn_blocking(move || password::hash(&secret))
        .await
        .map_err(anyhow::Error::from)??;
    let client = pool.get().await.map_err(anyhow::Error::from)?;
    let user = db::insert_user(
        &client,
        &NewUser {
            email: &account.email,
            name: &account.name,
            password_hash: &hash,
            role: account.role,
            stores: &account.stores,
            email_verified: account.role != AccountRole::Customer,
        },
    )
    .await?
    .ok_or_else(|| CreateError::EmailTaken(account.email.clone()))?;
    tracing::info!(sub = %user.id, role = account.role.as_str(), "created an account");
    Ok(user.id)
}

/// Migrates the database of `postgres` and creates `account` on it.
pub async fn create(postgres: &PostgresArgs, account: NewAccount) -> Result<Uuid, CreateError> {
    let pool = platform::connect_pool(postgres)?;
    db::migrate(&pool).await?;
    create_in(&pool, account).await
}
