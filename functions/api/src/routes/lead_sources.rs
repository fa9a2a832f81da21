use super::PageParams;
use crate::AppState;
use crate::auth::{Caller, presented_key};
use crate::extract::{JsonBody, QueryParams, path_id};
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use axum::routing::{get, post};
use axum::{Json, Router};
use cc_domain::DomainError;
use cc_domain::ids::LeadSourceId;
use cc_domain::import::ImportJobView;
use cc_domain::lead_source::{LeadSourceView, NewLeadSource, SourceType};
use cc_domain::operations::auth;
use cc_domain::operations::lead_sources::{self, HookAuth, HookBody};
use cc_domain::page::{Page, PageRequest};
use chrono::{DateTime, Utc};
use serde::Serialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/lead-sources", get(list_lead_sources).post(create_lead_source))
        .route("/v1/lead-sources/{id}", get(get_lead_source).delete(delete_lead_source))
        .route("/v1/hooks/leads/{source_id}", post(hook_leads))
        .route("/api/hooks", post(default_hook))
}

/// A new source; `secret` (webhooks) is shown only here.
#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadSourceCreated {
    pub id: LeadSourceId,
    #[serde(rename = "type")]
    pub kind: SourceType,
    pub campaign_id: cc_domain::ids::CampaignId,
    pub name: Option<String>,
    pub mapping: std::collections::BTreeMap<String, String>,
    pub url: Option<String>,
    pub poll_interval_seconds: Option<u32>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LeadSourceList {
    pub items: Vec<LeadSourceView>,
    pub next_cursor: Option<String>,
}

/// Create a lead source: a webhook (answers its signing secret once) or a Google Sheet to poll.
#[utoipa::path(post, path = "/v1/lead-sources", tag = "lead-sources", request_body = NewLeadSource,
    responses((status = 201, body = LeadSourceCreated), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_lead_source(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(input): JsonBody<NewLeadSource>,
) -> Result<(StatusCode, Json<LeadSourceCreated>), Problem> {
    let source = lead_sources::create(state.store.as_ref(), &caller, input, state.clock.now()).await?;
    let secret = source.secret.clone();
    let view = LeadSourceView::from(source);
    Ok((
        StatusCode::CREATED,
        Json(LeadSourceCreated {
            id: view.id,
            kind: view.kind,
            campaign_id: view.campaign_id,
            name: view.name,
            mapping: view.mapping,
            url: view.url,
            poll_interval_seconds: view.poll_interval_seconds,
            created_at: view.created_at,
            secret,
        }),
    ))
}

#[utoipa::path(get, path = "/v1/lead-sources", tag = "lead-sources", params(PageParams),
    responses((status = 200, body = LeadSourceList), (status = 401, body = Problem)))]
pub async fn list_lead_sources(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<PageParams>,
) -> Result<Json<Page<LeadSourceView>>, Problem> {
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(
        lead_sources::list(state.store.as_ref(), &caller, &page)
            .await?
            .map(LeadSourceView::from),
    ))
}

#[utoipa::path(get, path = "/v1/lead-sources/{id}", tag = "lead-sources",
    params(("id" = String, Path, description = "Lead source id")),
    responses((status = 200, body = LeadSourceView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_lead_source(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<LeadSourceView>, Problem> {
    let id = path_id(&id, "lead source")?;
    Ok(Json(lead_sources::get(state.store.as_ref(), &caller, id).await?.into()))
}

#[utoipa::path(delete, path = "/v1/lead-sources/{id}", tag = "lead-sources",
    params(("id" = String, Path, description = "Lead source id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_lead_source(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    lead_sources::delete(state.store.as_ref(), &caller, path_id(&id, "lead source")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The body of a hook call: JSON (one lead, an array, or `{"leads": [...]}`) or a form.
fn hook_body(headers: &HeaderMap, body: &[u8]) -> Result<HookBody, DomainError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_bytes(body).map_err(|e| DomainError::BadFile(format!("not a valid form: {e}")))?;
        return Ok(HookBody::Form(pairs));
    }
    serde_json::from_slice(body)
        .map(HookBody::Json)
        .map_err(|e| DomainError::BadFile(format!("the body is not JSON: {e}")))
}

/// Either a signature or a tenant key, checked in the domain.
pub enum HookCaller {
    Signature(String),
    Key(String),
}

impl FromRequestParts<AppState> for HookCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(signature) = parts.headers.get("x-signature").and_then(|v| v.to_str().ok()) {
            return Ok(HookCaller::Signature(signature.to_string()));
        }
        presented_key(parts).map(HookCaller::Key).ok_or_else(|| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Signature or API key required",
                "sign the body (X-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>) or send an API key",
            )
        })
    }
}

/// Leads pushed by a form, an ad platform or an automation: one lead, an array
/// or a form, authenticated by the source's signature (within 5 minutes) or an
/// API key; queued like an import (202 with the job).
#[utoipa::path(post, path = "/v1/hooks/leads/{source_id}", tag = "lead-sources",
    params(("source_id" = String, Path, description = "Webhook lead source id"),
           ("X-Signature" = Option<String>, Header, description = "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>")),
    request_body(content = Object, description = "A lead object, an array of leads, {\"leads\": [...]}, or a form"),
    security((), ("bearer" = []), ("api_key" = [])),
    responses((status = 202, body = ImportJobView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn hook_leads(
    State(state): State<AppState>,
    caller: HookCaller,
    Path(source_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportJobView>), Problem> {
    let source_id: LeadSourceId = path_id(&source_id, "lead source")?;
    let principal;
    let auth = match &caller {
        HookCaller::Signature(header) => HookAuth::Signature(header),
        HookCaller::Key(key) => {
            principal = auth::authenticate(state.store.as_ref(), key, state.clock.now()).await?;
            HookAuth::Key(principal)
        }
    };
    let job = lead_sources::receive(
        state.store.as_ref(),
        state.lead_batches.as_ref(),
        source_id,
        auth,
        &body,
        || hook_body(&headers, &body),
        state.clock.now(),
    )
    .await?;
    tracing::info!(import_id = %job.id, rows = job.total_rows, "webhook leads queued");
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

/// Alias of `/v1/hooks/leads/{source}` for the tenant's first webhook source (API key only).
#[utoipa::path(post, path = "/api/hooks", tag = "lead-sources",
    request_body(content = Object, description = "A lead object, an array of leads, or a form"),
    responses((status = 202, body = ImportJobView), (status = 401, body = Problem), (status = 409, description = "No webhook source yet", body = Problem)))]
pub async fn default_hook(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportJobView>), Problem> {
    let body = hook_body(&headers, &body)?;
    let job = lead_sources::receive_default(
        state.store.as_ref(),
        state.lead_batches.as_ref(),
        &caller,
        body,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}
