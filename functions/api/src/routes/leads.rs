use super::campaigns::campaign_id;
use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams, json_value, path_id};
use crate::problem::Problem;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cc_domain::DomainError;
use cc_domain::activity::Activity;
use cc_domain::ids::LeadId;
use cc_domain::lead::{Lead, LeadPatch, LeadStatus, NewLead};
use cc_domain::operations::leads::{self, Addressing, ItemStatus, LeadItemResult, LeadOutcome};
use cc_domain::page::{Page, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/campaigns/{id}/leads", get(list_campaign_leads).post(add_leads))
        .route("/v1/leads", get(find_leads))
        .route("/v1/leads/{id}", get(get_lead).patch(update_lead).delete(delete_lead))
        .route("/v1/leads/{id}/activities", get(lead_activities))
        .route("/v1/leads/{id}/emails", get(lead_emails))
}

fn lead_id(raw: &str) -> Result<LeadId, DomainError> {
    path_id(raw, "lead")
}

/// The bulk form of `POST /v1/campaigns/{id}/leads` (documentation only: the
/// handler reads the body itself to answer each item separately).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct LeadBatch {
    /// 1–1,000 leads.
    pub leads: Vec<NewLead>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchSummary {
    pub created: usize,
    pub duplicate: usize,
    pub invalid: usize,
}

/// One result per submitted lead, in order.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadBatchResult {
    pub results: Vec<LeadItemResult>,
    pub summary: BatchSummary,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadList {
    pub items: Vec<Lead>,
    pub next_cursor: Option<String>,
}

/// Add one lead (an object: 201 with the lead, 409 if the campaign has its
/// address, or for a lead without an email its phone in E.164; 422 if invalid,
/// e.g. with neither) or many (`[...]` or `{"leads": [...]}`, up to
/// 1,000: 200 with a result per item; good items are stored even when others fail).
#[utoipa::path(post, path = "/v1/campaigns/{id}/leads", tag = "leads",
    params(("id" = String, Path, description = "Campaign id")),
    request_body(content = LeadBatch, description = "A lead object, an array of leads, or {\"leads\": [...]}"),
    responses(
        (status = 200, description = "Batch: one result per item", body = LeadBatchResult),
        (status = 201, description = "Single lead created", body = Lead),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn add_leads(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Problem> {
    let campaign = campaign_id(&id)?;
    let body = json_value(request, &state).await?;
    let (items, addressing) = match body {
        Value::Array(items) => (items, Addressing::Batch),
        Value::Object(mut object) if object.contains_key("leads") => match object.remove("leads") {
            Some(Value::Array(items)) if object.is_empty() => (items, Addressing::Batch),
            Some(Value::Array(_)) => {
                let extra = object.keys().next().cloned().unwrap_or_default();
                return Err(DomainError::invalid(format!("/{extra}"), "unknown field; send {\"leads\": [...]}").into());
            }
            _ => return Err(DomainError::invalid("/leads", "must be an array of leads").into()),
        },
        single @ Value::Object(_) => (vec![single], Addressing::Single),
        _ => {
            return Err(
                DomainError::invalid("/", "send a lead object, an array of leads or {\"leads\": [...]}").into(),
            );
        }
    };
    let outcomes = leads::add(
        state.store.as_ref(),
        &caller,
        campaign,
        items,
        addressing,
        state.clock.now(),
    )
    .await?;
    if addressing == Addressing::Single {
        return match outcomes.into_iter().next() {
            Some(LeadOutcome::Created(lead)) => Ok((StatusCode::CREATED, Json(*lead)).into_response()),
            Some(LeadOutcome::Duplicate(existing)) => Err(DomainError::Conflict {
                message: format!(
                    "lead {existing} of this campaign already has this email (or, for a lead without one, this phone)"
                ),
                existing_id: Some(existing.to_string()),
            }
            .into()),
            Some(LeadOutcome::Invalid(errors)) => Err(DomainError::Validation(errors).into()),
            None => Err(DomainError::invalid("/", "send a lead").into()),
        };
    }
    let results: Vec<LeadItemResult> = outcomes
        .iter()
        .enumerate()
        .map(|(index, outcome)| LeadItemResult::new(index, outcome))
        .collect();
    let count = |status| results.iter().filter(|r| r.status == status).count();
    let summary = BatchSummary {
        created: count(ItemStatus::Created),
        duplicate: count(ItemStatus::Duplicate),
        invalid: count(ItemStatus::Invalid),
    };
    tracing::info!(
        created = summary.created,
        duplicate = summary.duplicate,
        invalid = summary.invalid,
        "leads added"
    );
    Ok((StatusCode::OK, Json(LeadBatchResult { results, summary })).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LeadListParams {
    /// Only leads in this status.
    pub status: Option<LeadStatus>,
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

/// A campaign's leads in the order they were added.
#[utoipa::path(get, path = "/v1/campaigns/{id}/leads", tag = "leads",
    params(("id" = String, Path, description = "Campaign id"), LeadListParams),
    responses((status = 200, body = LeadList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_campaign_leads(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<LeadListParams>,
) -> Result<Json<Page<Lead>>, Problem> {
    let campaign = campaign_id(&id)?;
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(
        leads::list_in_campaign(state.store.as_ref(), &caller, campaign, params.status, &page).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LeadSearchParams {
    /// Every lead of the tenant with this address (case-insensitive), across
    /// campaigns. Leads without an email (phone only) are never listed here.
    pub email: String,
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/v1/leads", tag = "leads", params(LeadSearchParams),
    responses((status = 200, body = LeadList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn find_leads(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<LeadSearchParams>,
) -> Result<Json<Page<Lead>>, Problem> {
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(
        leads::find_by_email(state.store.as_ref(), &caller, &params.email, &page).await?,
    ))
}

#[utoipa::path(get, path = "/v1/leads/{id}", tag = "leads",
    params(("id" = String, Path, description = "Lead id")),
    responses((status = 200, body = Lead), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_lead(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Lead>, Problem> {
    Ok(Json(leads::get(state.store.as_ref(), &caller, lead_id(&id)?).await?))
}

/// Change a lead; `custom_fields` and `personalization` are merged (RFC 7396).
#[utoipa::path(patch, path = "/v1/leads/{id}", tag = "leads", request_body = LeadPatch,
    params(("id" = String, Path, description = "Lead id")),
    responses((status = 200, body = Lead), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_lead(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<LeadPatch>,
) -> Result<Json<Lead>, Problem> {
    Ok(Json(
        leads::update(state.store.as_ref(), &caller, lead_id(&id)?, patch, state.clock.now()).await?,
    ))
}

#[utoipa::path(delete, path = "/v1/leads/{id}", tag = "leads",
    params(("id" = String, Path, description = "Lead id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_lead(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    leads::delete(state.store.as_ref(), &caller, lead_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ActivityList {
    pub items: Vec<Activity>,
    pub next_cursor: Option<String>,
}

/// A lead's timeline, oldest first (`lead.created`, and later email and reply events).
#[utoipa::path(get, path = "/v1/leads/{id}/activities", tag = "leads",
    params(("id" = String, Path, description = "Lead id"), super::PageParams),
    responses((status = 200, body = ActivityList), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn lead_activities(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<super::PageParams>,
) -> Result<Json<Page<Activity>>, Problem> {
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(
        leads::activities(state.store.as_ref(), &caller, lead_id(&id)?, &page).await?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadEmails {
    pub items: Vec<cc_domain::outbound::OutboundEmail>,
}

/// The lead's sequence emails in step order: step, variant, mailbox,
/// template version, subject, scheduled and sent times, status, SES message id.
#[utoipa::path(get, path = "/v1/leads/{id}/emails", tag = "emails",
    params(("id" = String, Path, description = "Lead id")),
    responses((status = 200, body = LeadEmails), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn lead_emails(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<LeadEmails>, Problem> {
    let items = cc_domain::operations::emails::lead_emails(state.store.as_ref(), &caller, lead_id(&id)?).await?;
    Ok(Json(LeadEmails { items }))
}
