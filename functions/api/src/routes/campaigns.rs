use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams, path_id};
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cc_domain::DomainError;
use cc_domain::campaign::{Campaign, CampaignAction, CampaignPatch, CampaignStatus, NewCampaign};
use cc_domain::ids::CampaignId;
use cc_domain::operations::campaigns;
use cc_domain::page::{Page, PageRequest};
use chrono::Utc;
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/campaigns", get(list_campaigns).post(create_campaign))
        .route(
            "/v1/campaigns/{id}",
            get(get_campaign).patch(update_campaign).delete(delete_campaign),
        )
        .route("/v1/campaigns/{id}/activate", post(activate_campaign))
        .route("/v1/campaigns/{id}/pause", post(pause_campaign))
        .route("/v1/campaigns/{id}/complete", post(complete_campaign))
        .route("/v1/campaigns/{id}/archive", post(archive_campaign))
}

pub(crate) fn campaign_id(raw: &str) -> Result<CampaignId, DomainError> {
    path_id(raw, "campaign")
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CampaignListParams {
    /// Only campaigns in this status.
    pub status: Option<CampaignStatus>,
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CampaignList {
    pub items: Vec<Campaign>,
    pub next_cursor: Option<String>,
}

/// Create a campaign (draft).
#[utoipa::path(post, path = "/v1/campaigns", tag = "campaigns", request_body = NewCampaign,
    responses((status = 201, body = Campaign), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(input): JsonBody<NewCampaign>,
) -> Result<(StatusCode, Json<Campaign>), Problem> {
    let campaign = campaigns::create(state.store.as_ref(), &caller, input, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

/// List campaigns, newest last; filter by status.
#[utoipa::path(get, path = "/v1/campaigns", tag = "campaigns", params(CampaignListParams),
    responses((status = 200, body = CampaignList), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<CampaignListParams>,
) -> Result<Json<Page<Campaign>>, Problem> {
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(
        campaigns::list(state.store.as_ref(), &caller, params.status, &page).await?,
    ))
}

#[utoipa::path(get, path = "/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = Campaign), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, Problem> {
    Ok(Json(
        campaigns::get(state.store.as_ref(), &caller, campaign_id(&id)?).await?,
    ))
}

/// Change name, description or settings (settings are merged, RFC 7396).
#[utoipa::path(patch, path = "/v1/campaigns/{id}", tag = "campaigns", request_body = CampaignPatch,
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = Campaign), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<CampaignPatch>,
) -> Result<Json<Campaign>, Problem> {
    Ok(Json(
        campaigns::update(state.store.as_ref(), &caller, campaign_id(&id)?, patch, Utc::now()).await?,
    ))
}

/// Delete a campaign without leads (archive one that has leads).
#[utoipa::path(delete, path = "/v1/campaigns/{id}", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    campaigns::delete(state.store.as_ref(), &caller, campaign_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn transition(
    state: AppState,
    caller: Caller,
    id: String,
    action: CampaignAction,
) -> Result<Json<Campaign>, Problem> {
    let campaign =
        campaigns::transition(state.store.as_ref(), &caller.0, campaign_id(&id)?, action, Utc::now()).await?;
    Ok(Json(campaign))
}

/// draft | paused → active.
#[utoipa::path(post, path = "/v1/campaigns/{id}/activate", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = Campaign), (status = 404, body = Problem), (status = 409, description = "Not possible from the current status (named in current_status)", body = Problem)))]
pub async fn activate_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, Problem> {
    transition(state, caller, id, CampaignAction::Activate).await
}

/// active → paused.
#[utoipa::path(post, path = "/v1/campaigns/{id}/pause", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = Campaign), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn pause_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, Problem> {
    transition(state, caller, id, CampaignAction::Pause).await
}

/// active | paused → completed.
#[utoipa::path(post, path = "/v1/campaigns/{id}/complete", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = Campaign), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn complete_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, Problem> {
    transition(state, caller, id, CampaignAction::Complete).await
}

/// any status except archived → archived.
#[utoipa::path(post, path = "/v1/campaigns/{id}/archive", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = Campaign), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn archive_campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Campaign>, Problem> {
    transition(state, caller, id, CampaignAction::Archive).await
}
