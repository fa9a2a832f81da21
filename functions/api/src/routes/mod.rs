mod api_keys;
mod campaigns;
mod exports;
mod imports;
mod lead_sources;
mod leads;
mod mailboxes;
mod organizations;
mod replies;
mod stats;
mod suppressions;
mod templates;
mod tenants;

use crate::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use tracing::Instrument;

pub use api_keys::*;
pub use campaigns::*;
pub use exports::*;
pub use imports::*;
pub use lead_sources::*;
pub use leads::*;
pub use mailboxes::*;
pub use organizations::*;
pub use replies::*;
pub use stats::*;
pub use suppressions::*;
pub use templates::*;
pub use tenants::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/openapi.json", get(openapi_document))
        .merge(tenants::routes())
        .merge(api_keys::routes())
        .merge(campaigns::routes())
        .merge(exports::routes())
        .merge(organizations::routes())
        .merge(leads::routes())
        .merge(imports::routes())
        .merge(lead_sources::routes())
        .merge(mailboxes::routes())
        .merge(templates::routes())
        .merge(suppressions::routes())
        .merge(stats::routes())
        .merge(replies::routes())
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    pub status: &'static str,
    pub version: &'static str,
}

/// Liveness; needs no key.
#[utoipa::path(get, path = "/v1/health", tag = "meta", responses((status = 200, body = Health)))]
pub async fn health() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses((status = 200, description = "The OpenAPI 3.1 document")))]
pub async fn openapi_document() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_json(),
    )
}

/// One span per request carrying `request_id` (and `tenant_id` once known),
/// and one log line per response. Never logs bodies or query strings.
pub async fn observe(request: Request, next: Next) -> Response {
    let request_id = request
        .extensions()
        .get::<lambda_http::Context>()
        .map(|ctx| ctx.request_id.clone())
        .or_else(|| {
            request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .filter(|id| !id.is_empty() && id.len() <= 128)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        tenant_id = tracing::field::Empty,
        method = %method,
        route = route.as_deref().unwrap_or("unmatched"),
    );
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_millis() as u64,
            "request completed"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
