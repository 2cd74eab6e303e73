//! The whole HTTP surface of the service: the API's routes and its OpenAPI
//! document, inside the shared limits, beside the probes.

use axum::Router;

use crate::openapi::ApiDoc;
use crate::routes::{self, AppState};

/// The router `run` serves, and tests call in process.
pub fn app(state: AppState, limits: &platform::HttpLimits) -> Router {
    let ready = platform::postgres_ready_check(state.pool.clone());
    let router = routes::api()
        .merge(platform::openapi_route::<_, ApiDoc>())
        .layer(axum::middleware::from_fn(platform::track_requests));
    let router = platform::with_limits(router, limits)
        .with_state(state)
        .merge(platform::health_routes(ready));
    platform::with_problem_fallbacks(router)
}
