use super::campaigns::campaign_id;
use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams, path_id};
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use cc_domain::DomainError;
use cc_domain::inbound::{MessageKind, ReplyClass};
use cc_domain::operations::replies::{self, ReplyDetail, ReplyPatch};
use cc_domain::page::{Page, PageRequest};
use cc_domain::reply::{Reply, ReplyFilter};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/replies", get(list_replies))
        .route("/v1/replies/{id}", get(get_reply).patch(update_reply))
        .route("/v1/inbox/forwarding-address", get(forwarding_address))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ForwardingAddress {
    /// Forward a mailbox's inbound mail here: it lands in the tenant's inbox,
    /// matched by `In-Reply-To`/`References` or the sender.
    pub address: String,
    pub reply_domain: String,
}

/// The tenant's forwarding address on the reply domain (signed: only this tenant's).
#[utoipa::path(get, path = "/v1/inbox/forwarding-address", tag = "replies",
    responses((status = 200, body = ForwardingAddress), (status = 401, body = Problem), (status = 409, body = Problem)))]
pub async fn forwarding_address(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<ForwardingAddress>, Problem> {
    caller.require(cc_domain::api_key::Capability::Read)?;
    let addresses = state.reply_addresses.as_ref().ok_or(DomainError::Conflict {
        message: "this deployment receives no replies (its ReplyDomain is empty)".into(),
        existing_id: None,
    })?;
    Ok(Json(ForwardingAddress {
        address: addresses.for_tenant(caller.tenant_id),
        reply_domain: addresses.domain().to_string(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReplyListParams {
    /// Only replies to this campaign's emails.
    pub campaign_id: Option<String>,
    /// `human` (default), `auto_reply`, `bounce`, or `all`.
    pub kind: Option<String>,
    /// e.g. `interested`, `out_of_office`.
    pub classification: Option<String>,
    /// `true`: only unread ones; `false`: only read ones.
    pub unread: Option<bool>,
    /// `true`: only those matched to an email; `false`: only unmatched ones.
    pub matched: Option<bool>,
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReplyList {
    pub items: Vec<Reply>,
    pub next_cursor: Option<String>,
}

fn filter(params: &ReplyListParams) -> Result<ReplyFilter, DomainError> {
    let kind = match params.kind.as_deref().unwrap_or("human") {
        "all" => None,
        "human" => Some(MessageKind::Human),
        "auto_reply" => Some(MessageKind::AutoReply),
        "bounce" => Some(MessageKind::Bounce),
        _ => return Err(DomainError::invalid("kind", "one of human, auto_reply, bounce, all")),
    };
    let classification = match params.classification.as_deref() {
        None => None,
        Some(text) => Some(
            ReplyClass::ALL
                .into_iter()
                .find(|c| c.as_str() == text)
                .ok_or_else(|| DomainError::invalid("classification", "not a classification"))?,
        ),
    };
    let campaign = match params.campaign_id.as_deref() {
        None => None,
        Some(raw) => Some(campaign_id(raw).map_err(|_| DomainError::invalid("campaign_id", "not a campaign id"))?),
    };
    Ok(ReplyFilter {
        campaign,
        kind,
        classification,
        unread: params.unread,
        matched: params.matched,
    })
}

/// The unified inbox: inbound messages, newest first (people's replies by default).
#[utoipa::path(get, path = "/v1/replies", tag = "replies", params(ReplyListParams),
    responses((status = 200, body = ReplyList), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_replies(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<ReplyListParams>,
) -> Result<Json<Page<Reply>>, Problem> {
    let filter = filter(&params)?;
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(
        replies::list(state.store.as_ref(), &caller, &filter, &page).await?,
    ))
}

/// One inbound message: its visible and full text, the email it answers and the lead's thread.
#[utoipa::path(get, path = "/v1/replies/{id}", tag = "replies",
    params(("id" = String, Path, description = "Reply id")),
    responses((status = 200, body = ReplyDetail), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_reply(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<ReplyDetail>, Problem> {
    let id = path_id(&id, "reply")?;
    Ok(Json(replies::get(state.store.as_ref(), &caller, id).await?))
}

/// Mark a reply read or unread, or correct its classification (kept with the
/// key that made it; the KPIs and the lead's status follow it).
#[utoipa::path(patch, path = "/v1/replies/{id}", tag = "replies", request_body = ReplyPatch,
    params(("id" = String, Path, description = "Reply id")),
    responses((status = 200, body = Reply), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_reply(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<ReplyPatch>,
) -> Result<Json<Reply>, Problem> {
    let id = path_id(&id, "reply")?;
    let reply = replies::update(state.store.as_ref(), &caller, id, patch, state.clock.now()).await?;
    Ok(Json(reply))
}
