//! `/healthz` (the process answers) and `/readyz` (its dependencies answer).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

/// Checks that a service's dependencies answer; an `Err` says which does not.
pub type ReadyCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send + Sync>;

/// `/healthz`, `/readyz` and `/metrics`: what every service serves.
pub fn health_routes<S: Clone + Send + Sync + 'static>(ready: ReadyCheck) -> Router<S> {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz).with_state(ready))
        .merge(crate::metrics_routes())
}

async fn readyz(State(ready): State<ReadyCheck>) -> (StatusCode, String) {
    match ready().await {
        Ok(()) => (StatusCode::OK, "ready\n".to_owned()),
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {error:#}\n"),
            )
        }
    }
}
