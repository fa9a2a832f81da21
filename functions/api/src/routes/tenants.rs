use crate::AppState;
use crate::auth::{Operator, OperatorOrCaller};
use crate::extract::{JsonBody, path_id};
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cc_domain::DomainError;
use cc_domain::ids::TenantId;
use cc_domain::operations::tenants;
use cc_domain::tenant::{NewTenant, Tenant};
use chrono::{DateTime, Utc};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/tenants", post(create_tenant))
        .route("/v1/tenants/{id}", get(get_tenant))
}

/// A new tenant and its first admin key. The key is shown only here.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantCreated {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub admin_api_key: String,
}

/// Create a tenant (platform operator only).
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = NewTenant,
    security(("operator" = [])),
    responses((status = 201, body = TenantCreated), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_tenant(
    State(state): State<AppState>,
    _operator: Operator,
    JsonBody(input): JsonBody<NewTenant>,
) -> Result<(StatusCode, Json<TenantCreated>), Problem> {
    let (tenant, key) = tenants::create_tenant(state.store.as_ref(), input, state.clock.now()).await?;
    tracing::info!(tenant_id = %tenant.id, "tenant created");
    Ok((
        StatusCode::CREATED,
        Json(TenantCreated {
            id: tenant.id,
            name: tenant.name,
            created_at: tenant.created_at,
            updated_at: tenant.updated_at,
            admin_api_key: key.secret.expose().to_string(),
        }),
    ))
}

/// Read a tenant: the operator reads any, a tenant key only its own.
#[utoipa::path(get, path = "/v1/tenants/{id}", tag = "tenants",
    params(("id" = String, Path, description = "Tenant id")),
    security(("operator" = []), ("bearer" = []), ("api_key" = [])),
    responses((status = 200, body = Tenant), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_tenant(
    State(state): State<AppState>,
    caller: OperatorOrCaller,
    Path(id): Path<String>,
) -> Result<Json<Tenant>, Problem> {
    let id: TenantId = path_id(&id, "tenant")?;
    if let OperatorOrCaller::Tenant(principal) = caller {
        if principal.tenant_id != id {
            return Err(DomainError::NotFound { entity: "tenant" }.into());
        }
    }
    Ok(Json(tenants::get_tenant(state.store.as_ref(), id).await?))
}
