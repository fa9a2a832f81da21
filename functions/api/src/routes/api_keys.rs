use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams, path_id};
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use cc_domain::api_key::{ApiKeyView, NewApiKey, Role};
use cc_domain::ids::ApiKeyId;
use cc_domain::operations::auth;
use cc_domain::page::{Page, PageRequest};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/api-keys", get(list_api_keys).post(create_api_key))
        .route("/v1/api-keys/{id}", delete(revoke_api_key))
}

/// `?cursor=&limit=` of every listing.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Opaque cursor from the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

/// A new key. `key` is the secret, shown only here.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyCreated {
    pub id: ApiKeyId,
    pub key: String,
    pub name: String,
    pub role: Role,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    pub items: Vec<ApiKeyView>,
    pub next_cursor: Option<String>,
}

/// Create an API key (admin).
#[utoipa::path(post, path = "/v1/api-keys", tag = "api-keys", request_body = NewApiKey,
    responses((status = 201, body = ApiKeyCreated), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_api_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(input): JsonBody<NewApiKey>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), Problem> {
    let issued = auth::issue_key(state.store.as_ref(), &caller, input, state.clock.now()).await?;
    let record = issued.record;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            id: record.id,
            key: issued.secret.expose().to_string(),
            name: record.name,
            role: record.role,
            prefix: record.prefix,
            created_at: record.created_at,
        }),
    ))
}

/// List API keys, without secrets (admin).
#[utoipa::path(get, path = "/v1/api-keys", tag = "api-keys", params(PageParams),
    responses((status = 200, body = ApiKeyList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn list_api_keys(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<Page<ApiKeyView>>, Problem> {
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(auth::list_keys(state.store.as_ref(), &caller, &page).await?))
}

/// Revoke an API key at once (admin). The last admin key cannot be revoked.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api-keys",
    params(("id" = String, Path, description = "API key id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn revoke_api_key(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    let id: ApiKeyId = path_id(&id, "api key")?;
    auth::revoke_key(state.store.as_ref(), &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
