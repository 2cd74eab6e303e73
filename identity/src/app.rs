//! The whole HTTP surface of the service: the API's routes and its OpenAPI
//! document, inside the shared limits, beside the probes.

use std::sync::Arc;

use axum::Router;
use platform::ReadyCheck;

use crate::openapi::ApiDoc;
use crate::routes::{self, AppState};

/// The router `run` serves.
pub fn app(state: AppState, limits: &platform::HttpLimits) -> Router {
    let ready_pool = state.pool.clone();
    let ready: ReadyCheck = Arc::new(move || {
        let pool = ready_pool.clone();
        Box::pin(async move { platform::postgres_ready(&pool).await })
    });
    let router = routes::api()
        .merge(platform::openapi_route::<_, ApiDoc>())
        .layer(axum::middleware::from_fn(platform::track_requests));
    let router = platform::with_limits(router, limits)
        .with_state(state)
        .merge(platform::health_routes(ready));
    platform::with_problem_fallbacks(router)
}
