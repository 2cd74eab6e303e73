//! Plumbing that every service shares and that holds no business rule: settings
//! for Kafka and Postgres, topic creation, the health endpoints, problem+json
//! errors, the HTTP server and its limits, logging and shutdown.
//!
//! Kafka (feature `kafka`: rdkafka) and Postgres (feature `postgres`:
//! tokio-postgres, deadpool) are each behind a feature, so a service links
//! only the clients it uses.

mod auth;
mod health;
mod json;
/// Verifying ES256 tokens by the identity service's published key set.
pub mod jwks;
#[cfg(feature = "kafka")]
mod kafka;
/// librdkafka's `log` and `error` callbacks, for a client context of its own.
#[cfg(feature = "kafka")]
pub mod kafka_log;
mod limits;
mod openapi;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_refusal;
mod problem;
mod serve;
mod shutdown;
mod startup;
mod telemetry;
mod telemetry_metrics;
mod verified;

pub use auth::{AuthArgs, Caller, Claims, JwtKeys, Role};
pub use health::{ReadyCheck, health_routes};
pub use json::{BODY_LIMIT, JsonRequest};
#[cfg(feature = "kafka")]
pub use kafka::{KafkaArgs, ensure_topic, ensure_topics, kafka_ready};
#[cfg(feature = "kafka")]
pub use kafka_log::KafkaContext;
pub use limits::{HttpLimits, with_limits};
pub use openapi::{BearerAuth, Overload, Refusals, TooMany, openapi_route};
#[cfg(feature = "postgres")]
pub use postgres::{
    PostgresArgs, connect_pool, connection, migrate, postgres_ready, postgres_ready_check,
    redact_database_url,
};
#[cfg(feature = "postgres")]
pub use postgres_refusal::refused_data;
pub use problem::{FieldError, Problem, ProblemBody, with_problem_fallbacks};
pub use serve::serve;
pub use shutdown::shutdown_signal;
pub use startup::{STARTUP_PATIENCE, retry_at_start};
pub use telemetry::init_tracing;
pub use telemetry_metrics::{metrics_routes, track_requests};
