//! The `identity` binary's command line: without a subcommand it serves;
//! `admin create` and `staff create` make an account (its password read
//! from standard input), `keys rotate` rotates the signing key. The
//! service's settings (`--database-url`, `--key-reload-secs`, …) come from
//! the environment or before the subcommand.

use std::io::BufRead;
use std::time::Duration;

use anyhow::Context;

use crate::accounts::{self, NewAccount};
use crate::config::Config;
use crate::key_store;
use crate::role::AccountRole;

/// Keeps accounts and signs the access tokens every service verifies.
/// Without a subcommand, serves HTTP.
#[derive(Debug, clap::Parser)]
#[command(name = "identity", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do instead of serving.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Administrator accounts.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
    /// The signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum AdminAction {
    /// Creates an admin (after migrating the database). The password is the
    /// first line of standard input, held to the registration's rules.
    Create(AccountArgs),
}

#[derive(Debug, clap::Subcommand)]
pub enum StaffAction {
    /// Creates a staff member of some stores (after migrating the
    /// database). The password is the first line of standard input.
    Create {
        #[command(flatten)]
        account: AccountArgs,
        /// The stores they work at, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        stores: Vec<String>,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum KeysAction {
    /// Adds a new signing key and retires the current one. Running
    /// instances publish the new key within `--key-reload-secs` and sign
    /// with it from twice that on; the old key stays published a day
    /// longer. No restart is needed.
    Rotate,
}

/// Who the account is.
#[derive(Debug, Clone, clap::Args)]
pub struct AccountArgs {
    /// The account's email, unique whatever its case.
    #[arg(long)]
    pub email: String,
    /// The name shown for the account, 1 to 200 characters.
    #[arg(long)]
    pub name: String,
    /// Read the password from standard input (the only way: it never goes
    /// on the command line, where `ps` would show it).
    #[arg(long, default_value_t = true)]
    pub password_stdin: bool,
}

/// The first line of standard input, without its line ending.
fn password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(
        !password.is_empty(),
        "no password on standard input (give it as one line)"
    );
    Ok(password)
}

async fn create(
    config: &Config,
    account: AccountArgs,
    role: AccountRole,
    stores: Vec<String>,
) -> anyhow::Result<()> {
    let password = password_from_stdin()?;
    let new = NewAccount {
        email: account.email,
        name: account.name,
        password,
        role,
        stores,
    };
    let id = accounts::create(&config.postgres, new).await?;
    println!("created {} {id}", role.as_str());
    Ok(())
}

/// Runs `command` with the settings of `config`.
pub async fn execute(config: &Config, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Admin {
            action: AdminAction::Create(account),
        } => create(config, account, AccountRole::Admin, Vec::new()).await,
        Command::Staff {
            action: StaffAction::Create { account, stores },
        } => create(config, account, AccountRole::Staff, stores).await,
        Command::Keys {
            action: KeysAction::Rotate,
        } => {
            let pool = platform::connect_pool(&config.postgres)?;
            crate::db::migrate(&pool).await?;
            let delay = Duration::from_secs(config.key_reload_secs.saturating_mul(2));
            let kid = key_store::rotate(&pool, delay).await?;
            println!("rotated: key {kid} signs in {} s", delay.as_secs());
            Ok(())
        }
    }
}
