//! The services a test can run, and the settings each runs with in a test:
//! its names from the test's scratch, the key set it trusts tokens of (the
//! test issuer's, `testkit::auth_args`, or identity's), and limits that let
//! one test customer place as many orders as it likes.

use std::fmt;
use std::net::SocketAddr;

use platform::{AuthArgs, HttpLimits, PostgresArgs};
use pos_bridge::{KdsSettings, PosClient, Secret, StoreSettings};
use testkit::Scratch;
use testkit::fixtures::{FEEDBACK_SECRET, KDS_SECRET};

/// A service of the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// Started first when asked for (`with_identity`): the others then trust
    /// its tokens instead of the test issuer's.
    Identity,
    CommandApi,
    Projector,
    QueryApi,
    Bridge,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Identity => "identity",
            Service::CommandApi => "command-api",
            Service::Projector => "projector",
            Service::QueryApi => "query-api",
            Service::Bridge => "pos-bridge",
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub(crate) fn command_api_config(
    scratch: &Scratch,
    addr: SocketAddr,
    auth: AuthArgs,
) -> command_api::Config {
    command_api::Config {
        addr,
        kafka: scratch.kafka.clone(),
        group: scratch.name("command-api"),
        transactional_id_prefix: scratch.name("writer"),
        auth,
        batch_max: 64,
        transaction_timeout_ms: 10_000,
        ended_order_retention_secs: 86_400,
        gateway_timeout_ms: 300,
        http: HttpLimits::default(),
        // The tests place many orders as one customer.
        limits: command_api::Limits {
            placements_per_minute: 1_000_000,
            placement_burst: 1_000_000,
            ..command_api::Limits::default()
        },
    }
}

pub(crate) fn projector_config(scratch: &Scratch, addr: SocketAddr) -> projector::Config {
    projector::Config {
        addr,
        kafka: scratch.kafka.clone(),
        postgres: scratch.postgres.clone(),
        group: scratch.name("projector"),
        batch_max: 500,
        dead_letter_topic: scratch.topic("dead-letter"),
        http: HttpLimits::default(),
    }
}

pub(crate) fn query_api_config(
    postgres: &PostgresArgs,
    addr: SocketAddr,
    auth: AuthArgs,
) -> query_api::Config {
    query_api::Config {
        addr,
        postgres: postgres.clone(),
        auth,
        http: HttpLimits::default(),
        streams_per_caller: 8,
    }
}

pub(crate) fn bridge_config(scratch: &Scratch, addr: SocketAddr) -> pos_bridge::Config {
    pos_bridge::Config {
        addr,
        kafka: scratch.kafka.clone(),
        postgres: scratch.postgres.clone(),
        group: scratch.name("bridge"),
        instance_id: None,
        settings_file: "unused.toml".into(),
        http: HttpLimits::default(),
    }
}

/// A store's settings at the bridge: its tickets go to `printers` and to the
/// displays at `kds` (signed with [`KDS_SECRET`]); its feedback is checked
/// with [`FEEDBACK_SECRET`] and sent to command-api with pos tokens of the
/// store's test POS client (`testkit::pos_client`), which the bridge gets
/// from the test issuer's token endpoint ([`bridge_settings`] names it).
pub fn store_settings(
    store_id: &str,
    printers: &[String],
    kds: &[String],
    prep_minutes: u32,
    auto_accept: bool,
) -> StoreSettings {
    StoreSettings {
        timezone: None,
        prep_minutes,
        auto_accept,
        pos_client: {
            let client = testkit::pos_client(store_id);
            Some(PosClient {
                id: client.id,
                secret: Secret::new(client.secret),
            })
        },
        feedback_secret: Some(Secret::new(FEEDBACK_SECRET)),
        printers: printers.to_vec(),
        kds: kds
            .iter()
            .map(|url| KdsSettings {
                url: url.clone(),
                secret: Secret::new(KDS_SECRET),
            })
            .collect(),
    }
}
