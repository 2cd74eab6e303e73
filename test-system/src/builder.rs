//! `System::builder()`: which services a test runs and what it changes of
//! their test settings; `start` creates the scratch, starts them and waits
//! until they are ready.

use std::collections::BTreeSet;
use std::sync::Mutex;

use anyhow::{Context, bail};
use testkit::fixtures::{STORE, Tokens};
use testkit::{Scratch, Servers};

use crate::identity_service::{self, identity_config};
use crate::instance::{Instance, bind, is_ready, pause_before_next_look};
use crate::services::{
    bridge_config, command_api_config, projector_config, query_api_config, store_settings,
};
use crate::{PATIENCE, Service, System};

/// A change to a service's test settings `C`, made before it starts.
pub trait Tuner<C>: FnOnce(&mut C) + Send + 'static {}

impl<C, F: FnOnce(&mut C) + Send + 'static> Tuner<C> for F {}

type Tune<C> = Box<dyn FnOnce(&mut C) + Send>;

/// What [`System::builder`] starts.
pub struct Builder {
    services: BTreeSet<Service>,
    servers: Servers,
    command_api: Tune<command_api::Config>,
    projector: Tune<projector::Config>,
    query_api: Tune<query_api::Config>,
    /// More flags for identity, after the test's own.
    identity_args: Vec<String>,
}

impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Builder")
            .field("services", &self.services)
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// command-api, the projector and query-api on the test servers, with
    /// names starting `test`, topics of 3 partitions and a pool of 4.
    pub(crate) fn new() -> Builder {
        Builder {
            services: BTreeSet::from([Service::CommandApi, Service::Projector, Service::QueryApi]),
            servers: Servers::from_env("test", 4),
            command_api: Box::new(|_| {}),
            projector: Box::new(|_| {}),
            query_api: Box::new(|_| {}),
            identity_args: Vec::new(),
        }
    }

    /// Adds pos-bridge, with the tickets of [`STORE`] sent to a printer the
    /// test holds (`System::printer`) and its feedback signed with
    /// [`testkit::fixtures::FEEDBACK_SECRET`]; the bridge's other settings
    /// are its defaults.
    pub fn with_bridge(mut self) -> Builder {
        self.services.insert(Service::Bridge);
        self
    }

    /// Adds the identity service, started first on the scratch's database;
    /// command-api and query-api then trust its tokens (its key set, its
    /// issuer, audience `qsr`) instead of the test issuer's, and
    /// `system.tokens` come from accounts made through it, the `pos` one
    /// from a POS client credential the admin issued, which the bridge then
    /// uses too (see `identity_service.rs`).
    pub fn with_identity(mut self) -> Builder {
        self.services.insert(Service::Identity);
        self
    }

    /// More flags for identity (`identity --help`), e.g.
    /// `["--allow-unverified-orders", "false"]`.
    pub fn identity_args<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Builder {
        self.identity_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Starts just `services`. query-api without the projector gets the read
    /// models' tables from the projector's migrations.
    pub fn only(mut self, services: impl IntoIterator<Item = Service>) -> Builder {
        self.services = services.into_iter().collect();
        self
    }

    /// Starts the test's names with `prefix` (default `test`).
    pub fn prefix(mut self, prefix: &str) -> Builder {
        self.servers.prefix = prefix.to_owned();
        self
    }

    /// Partitions of each topic (default 3).
    pub fn partitions(mut self, partitions: i32) -> Builder {
        self.servers.partitions = partitions;
        self
    }

    /// Connections of each service's Postgres pool (default 4).
    pub fn db_pool_size(mut self, size: usize) -> Builder {
        self.servers.db_pool_size = size;
        self
    }

    /// Other servers than `QSR_KAFKA_BROKERS` and `QSR_TEST_DATABASE_URL`.
    pub fn servers_at(mut self, brokers: &str, admin_database_url: &str) -> Builder {
        self.servers.brokers = brokers.to_owned();
        self.servers.admin_database_url = admin_database_url.to_owned();
        self
    }

    /// Changes command-api's test settings.
    pub fn command_api_config(self, tune: impl Tuner<command_api::Config>) -> Builder {
        Builder {
            command_api: Box::new(tune),
            ..self
        }
    }

    /// Changes the projector's test settings.
    pub fn projector_config(self, tune: impl Tuner<projector::Config>) -> Builder {
        Builder {
            projector: Box::new(tune),
            ..self
        }
    }

    /// Changes query-api's test settings.
    pub fn query_api_config(self, tune: impl Tuner<query_api::Config>) -> Builder {
        Builder {
            query_api: Box::new(tune),
            ..self
        }
    }

    /// Creates the scratch, starts the services and waits until each is ready.
    pub async fn start(self) -> anyhow::Result<System> {
        let wants = |service| self.services.contains(&service);
        let scratch = Scratch::create(&self.servers).await?;
        let http = reqwest::Client::new();
        let mut running = Vec::new();
        // The services trust the test issuer's tokens, or identity's only;
        // the bridge's POS client for STORE is the same one's.
        let (auth, tokens, pos_token_url, store_pos_client) = if wants(Service::Identity) {
            let listener = bind().await?;
            let addr = listener.local_addr()?;
            let config = identity_config(&scratch, addr, &self.identity_args)?;
            let instance = Instance::spawn(Service::Identity, listener, |l, stop| {
                identity::run(config, l, stop)
            })?;
            let url = instance.url.clone();
            let instance = started(&http, instance).await?;
            running.push(instance);
            let (tokens, client) =
                identity_service::tokens(&http, &url, &scratch.postgres, &scratch.suffix)
                    .await
                    .context("making the test accounts through identity")?;
            let token_url = format!("{url}/v1/auth/token");
            (identity_service::auth_args(addr), tokens, token_url, client)
        } else {
            let (url, client) = (testkit::token_url(), testkit::pos_client(STORE));
            (testkit::auth_args(), Tokens::new()?, url, client)
        };
        let mut command_config = None;
        if wants(Service::CommandApi) {
            let listener = bind().await?;
            let mut config = command_api_config(&scratch, listener.local_addr()?, auth.clone());
            (self.command_api)(&mut config);
            command_config = Some(config.clone());
            running.push(Instance::spawn(
                Service::CommandApi,
                listener,
                |l, stop| command_api::run(config, l, stop),
            )?);
        }
        if wants(Service::Projector) {
            let listener = bind().await?;
            let mut config = projector_config(&scratch, listener.local_addr()?);
            (self.projector)(&mut config);
            running.push(Instance::spawn(Service::Projector, listener, |l, stop| {
                projector::run(config, l, stop)
            })?);
        } else if wants(Service::QueryApi) {
            let pool = platform::connect_pool(&scratch.postgres)?;
            projector::migrate(&pool)
                .await
                .context("creating the read models' tables")?;
        }
        if wants(Service::QueryApi) {
            let listener = bind().await?;
            let mut config =
                query_api_config(&scratch.postgres, listener.local_addr()?, auth.clone());
            (self.query_api)(&mut config);
            running.push(Instance::spawn(Service::QueryApi, listener, |l, stop| {
                query_api::run(config, l, stop)
            })?);
        }
        let mut printer = None;
        if wants(Service::Bridge) {
            let command_api = running
                .iter()
                .find(|i| i.service == Service::CommandApi)
                .context("the bridge sends its feedback to command-api: start it too")?
                .url
                .clone();
            let kitchen = bind().await?;
            let mut settings = pos_bridge::Settings::new(command_api);
            settings.dead_letter_topic = scratch.topic("bridge-dead-letter");
            settings.token_url = Some(pos_token_url.clone());
            let mut store =
                store_settings(STORE, &[kitchen.local_addr()?.to_string()], &[], 0, false);
            store.pos_client = Some(pos_bridge::PosClient {
                id: store_pos_client.id.clone(),
                secret: pos_bridge::Secret::new(store_pos_client.secret.clone()),
            });
            settings.stores.insert(STORE.to_owned(), store);
            printer = Some(kitchen);
            let listener = bind().await?;
            let config = bridge_config(&scratch, listener.local_addr()?);
            running.push(Instance::spawn(Service::Bridge, listener, |l, stop| {
                pos_bridge::run(config, settings, l, stop)
            })?);
        }
        let urls: Vec<String> = running.iter().map(|i| i.url.clone()).collect();
        let system = System {
            scratch,
            http,
            tokens,
            auth,
            pos_token_url,
            printer,
            command_config,
            running: Mutex::new(running),
        };
        for url in urls {
            system.wait_ready(&url).await?;
        }
        Ok(system)
    }
}

/// `instance` once it answers `/readyz`; an error if it ends first or is
/// not ready within [`PATIENCE`].
async fn started(http: &reqwest::Client, instance: Instance) -> anyhow::Result<Instance> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if instance.is_finished() {
            let reason = instance.exit_reason().await;
            bail!("{reason}, while waiting for it to be ready");
        }
        if is_ready(http, &instance.url).await {
            return Ok(instance);
        }
        pause_before_next_look(&instance.url, deadline).await?;
    }
}
