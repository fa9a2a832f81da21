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
use cc_domain::operations::launch::{self, LaunchOptions, LaunchReport};
use cc_domain::operations::{campaigns, emails};
use cc_domain::outbound::OutboundEmail;
use cc_domain::page::{Page, PageRequest};
use cc_domain::sequence::SequenceInput;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/campaigns", get(list_campaigns).post(create_campaign))
        .route(
            "/v1/campaigns/{id}",
            get(get_campaign).patch(update_campaign).delete(delete_campaign),
        )
        .route("/v1/campaigns/{id}/activate", post(activate_campaign))
        .route("/v1/campaigns/{id}/sequence", axum::routing::put(put_sequence))
        .route("/v1/campaigns/{id}/emails", get(list_campaign_emails))
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
    let campaign = campaigns::create(state.store.as_ref(), &caller, input, state.clock.now()).await?;
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
        campaigns::update(
            state.store.as_ref(),
            &caller,
            campaign_id(&id)?,
            patch,
            state.clock.now(),
        )
        .await?,
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
    let campaign = campaigns::transition(
        state.store.as_ref(),
        &caller.0,
        campaign_id(&id)?,
        action,
        state.clock.now(),
    )
    .await?;
    Ok(Json(campaign))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ActivateParams {
    /// Check and preview without launching.
    #[serde(default)]
    pub dry_run: bool,
    /// The lead a dry run renders (default: the campaign's first lead with an email).
    pub preview_lead_id: Option<String>,
}

/// An activation: the campaign, and what the launch checked and planned.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Activation {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub launch: LaunchReport,
}

/// Launch (draft → active) or resume (paused → active). Checks that every
/// step renders for every lead (422 `missing-variables` naming the leads and
/// variables otherwise), then plans each lead's first email inside the
/// sending window in the lead's time zone, spread over the campaign's
/// mailboxes within their caps. With `dry_run=true` it only answers the
/// report (200, `LaunchReport`) with a rendered preview.
#[utoipa::path(post, path = "/v1/campaigns/{id}/activate", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id"), ActivateParams),
    responses((status = 200, description = "Activated (an `Activation`), or with dry_run the `LaunchReport`", body = Activation),
        (status = 404, body = Problem), (status = 409, description = "Not possible from the current status (named in current_status)", body = Problem),
        (status = 422, description = "No sequence, no verified mailbox, or leads lacking variables (blocked_leads)", body = Problem)))]
pub async fn activate_campaign(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<ActivateParams>,
) -> Result<axum::response::Response, Problem> {
    use axum::response::IntoResponse;
    let options = LaunchOptions {
        dry_run: params.dry_run,
        preview_lead: params
            .preview_lead_id
            .as_deref()
            .map(|raw| path_id(raw, "lead"))
            .transpose()?,
    };
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let launched = launch::launch(
        state.store.as_ref(),
        &caller,
        campaign_id(&id)?,
        options.clone(),
        state.clock.now(),
        &mut rng,
    )
    .await?;
    Ok(if options.dry_run {
        Json(launched.report).into_response()
    } else {
        Json(Activation {
            campaign: launched.campaign,
            launch: launched.report,
        })
        .into_response()
    })
}

/// Replace the campaign's sequence: ordered steps, each with a delay after
/// the previous one and one or more weighted variants (A/B).
#[utoipa::path(put, path = "/v1/campaigns/{id}/sequence", tag = "campaigns", request_body = SequenceInput,
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = Campaign), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_sequence(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(input): JsonBody<SequenceInput>,
) -> Result<Json<Campaign>, Problem> {
    Ok(Json(
        launch::put_sequence(
            state.store.as_ref(),
            &caller,
            campaign_id(&id)?,
            input,
            state.clock.now(),
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EmailListParams {
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EmailList {
    pub items: Vec<OutboundEmail>,
    pub next_cursor: Option<String>,
}

/// The campaign's emails (scheduled, sent and the rest), by scheduled time.
#[utoipa::path(get, path = "/v1/campaigns/{id}/emails", tag = "emails", params(("id" = String, Path, description = "Campaign id"), EmailListParams),
    responses((status = 200, body = EmailList), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_campaign_emails(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<EmailListParams>,
) -> Result<Json<Page<OutboundEmail>>, Problem> {
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(
        emails::campaign_emails(state.store.as_ref(), &caller, campaign_id(&id)?, &page).await?,
    ))
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
