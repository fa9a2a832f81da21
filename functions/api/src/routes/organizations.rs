use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams, path_id};
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use cc_domain::DomainError;
use cc_domain::ids::OrganizationId;
use cc_domain::operations::organizations;
use cc_domain::organization::{NewOrganization, Organization, OrganizationPatch};
use cc_domain::page::{Page, PageRequest};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/organizations", get(list_organizations).post(create_organization))
        .route(
            "/v1/organizations/{id}",
            get(get_organization)
                .patch(update_organization)
                .delete(delete_organization),
        )
}

fn organization_id(raw: &str) -> Result<OrganizationId, DomainError> {
    path_id(raw, "organization")
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrganizationListParams {
    /// Exact lookup by email domain (case-insensitive, `@` optional).
    pub email_domain: Option<String>,
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OrganizationList {
    pub items: Vec<Organization>,
    pub next_cursor: Option<String>,
}

/// Create an organisation; its email domain must be new to the tenant (409 names the holder).
#[utoipa::path(post, path = "/v1/organizations", tag = "organizations", request_body = NewOrganization,
    responses((status = 201, body = Organization), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_organization(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(input): JsonBody<NewOrganization>,
) -> Result<(StatusCode, Json<Organization>), Problem> {
    let organization = organizations::create(state.store.as_ref(), &caller, input, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(organization)))
}

/// List organisations, or look one up with `?email_domain=`.
#[utoipa::path(get, path = "/v1/organizations", tag = "organizations", params(OrganizationListParams),
    responses((status = 200, body = OrganizationList), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_organizations(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<OrganizationListParams>,
) -> Result<Json<Page<Organization>>, Problem> {
    let page = PageRequest::parse(params.cursor, params.limit)?;
    let domain = params.email_domain.as_deref();
    Ok(Json(
        organizations::list(state.store.as_ref(), &caller, domain, &page).await?,
    ))
}

#[utoipa::path(get, path = "/v1/organizations/{id}", tag = "organizations",
    params(("id" = String, Path, description = "Organization id")),
    responses((status = 200, body = Organization), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_organization(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Organization>, Problem> {
    Ok(Json(
        organizations::get(state.store.as_ref(), &caller, organization_id(&id)?).await?,
    ))
}

#[utoipa::path(patch, path = "/v1/organizations/{id}", tag = "organizations", request_body = OrganizationPatch,
    params(("id" = String, Path, description = "Organization id")),
    responses((status = 200, body = Organization), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_organization(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<OrganizationPatch>,
) -> Result<Json<Organization>, Problem> {
    let id = organization_id(&id)?;
    Ok(Json(
        organizations::update(state.store.as_ref(), &caller, id, patch, state.clock.now()).await?,
    ))
}

#[utoipa::path(delete, path = "/v1/organizations/{id}", tag = "organizations",
    params(("id" = String, Path, description = "Organization id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_organization(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    organizations::delete(state.store.as_ref(), &caller, organization_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
