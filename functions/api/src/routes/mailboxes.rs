use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams, path_id};
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cc_domain::DomainError;
use cc_domain::ids::MailboxId;
use cc_domain::mailbox::{Mailbox, MailboxAction, MailboxPatch, NewMailbox};
use cc_domain::operations::mailboxes;
use cc_domain::page::{Page, PageRequest};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/mailboxes", get(list_mailboxes).post(create_mailbox))
        .route(
            "/v1/mailboxes/{id}",
            get(get_mailbox).patch(update_mailbox).delete(delete_mailbox),
        )
        .route("/v1/mailboxes/{id}/pause", post(pause_mailbox))
        .route("/v1/mailboxes/{id}/resume", post(resume_mailbox))
        .route("/v1/mailboxes/{id}/verify", post(verify_mailbox))
}

fn mailbox_id(raw: &str) -> Result<MailboxId, DomainError> {
    path_id(raw, "mailbox")
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MailboxListParams {
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MailboxList {
    pub items: Vec<Mailbox>,
    pub next_cursor: Option<String>,
}

/// Create a mailbox (a sender identity) and ask SES to verify its address.
///
/// It starts `pending_verification` (or `verified` when SES already knows the
/// address as verified); read it again to follow the verification. The address
/// is unique within the tenant (409 names the holder).
#[utoipa::path(post, path = "/v1/mailboxes", tag = "mailboxes", request_body = NewMailbox,
    responses((status = 201, body = Mailbox), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_mailbox(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(input): JsonBody<NewMailbox>,
) -> Result<(StatusCode, Json<Mailbox>), Problem> {
    let mailbox = mailboxes::create(
        state.store.as_ref(),
        state.identities.as_ref(),
        &caller,
        input,
        state.clock.now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(mailbox)))
}

/// List mailboxes, oldest first; pending verifications are refreshed from SES.
#[utoipa::path(get, path = "/v1/mailboxes", tag = "mailboxes", params(MailboxListParams),
    responses((status = 200, body = MailboxList), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_mailboxes(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<MailboxListParams>,
) -> Result<Json<Page<Mailbox>>, Problem> {
    let page = PageRequest::parse(params.cursor, params.limit)?;
    let listed = mailboxes::list(
        state.store.as_ref(),
        state.identities.as_ref(),
        &caller,
        &page,
        state.clock.now(),
    )
    .await?;
    Ok(Json(listed))
}

/// Read a mailbox; a pending verification is refreshed from SES (poll this).
#[utoipa::path(get, path = "/v1/mailboxes/{id}", tag = "mailboxes",
    params(("id" = String, Path, description = "Mailbox id")),
    responses((status = 200, body = Mailbox), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_mailbox(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Mailbox>, Problem> {
    let id = mailbox_id(&id)?;
    let mailbox = mailboxes::get(
        state.store.as_ref(),
        state.identities.as_ref(),
        &caller,
        id,
        state.clock.now(),
    )
    .await?;
    Ok(Json(mailbox))
}

/// Change a mailbox's name, reply-to, limits, window or time zone (not its address).
#[utoipa::path(patch, path = "/v1/mailboxes/{id}", tag = "mailboxes", request_body = MailboxPatch,
    params(("id" = String, Path, description = "Mailbox id")),
    responses((status = 200, body = Mailbox), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_mailbox(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<MailboxPatch>,
) -> Result<Json<Mailbox>, Problem> {
    let id = mailbox_id(&id)?;
    Ok(Json(
        mailboxes::update(state.store.as_ref(), &caller, id, patch, state.clock.now()).await?,
    ))
}

/// Delete a mailbox; its address is free again within the tenant.
#[utoipa::path(delete, path = "/v1/mailboxes/{id}", tag = "mailboxes",
    params(("id" = String, Path, description = "Mailbox id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_mailbox(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    mailboxes::delete(state.store.as_ref(), &caller, mailbox_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn transition(
    state: AppState,
    caller: Caller,
    id: String,
    action: MailboxAction,
) -> Result<Json<Mailbox>, Problem> {
    let id = mailbox_id(&id)?;
    let mailbox = mailboxes::transition(
        state.store.as_ref(),
        state.identities.as_ref(),
        &caller.0,
        id,
        action,
        state.clock.now(),
    )
    .await?;
    Ok(Json(mailbox))
}

/// verified → paused: the mailbox stops sending.
#[utoipa::path(post, path = "/v1/mailboxes/{id}/pause", tag = "mailboxes",
    params(("id" = String, Path, description = "Mailbox id")),
    responses((status = 200, body = Mailbox), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "Not possible from the current status", body = Problem)))]
pub async fn pause_mailbox(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Mailbox>, Problem> {
    transition(state, caller, id, MailboxAction::Pause).await
}

/// paused → verified: the mailbox sends again.
#[utoipa::path(post, path = "/v1/mailboxes/{id}/resume", tag = "mailboxes",
    params(("id" = String, Path, description = "Mailbox id")),
    responses((status = 200, body = Mailbox), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn resume_mailbox(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Mailbox>, Problem> {
    transition(state, caller, id, MailboxAction::Resume).await
}

/// failed | pending_verification → pending_verification: SES mails the owner a new link.
#[utoipa::path(post, path = "/v1/mailboxes/{id}/verify", tag = "mailboxes",
    params(("id" = String, Path, description = "Mailbox id")),
    responses((status = 200, body = Mailbox), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn verify_mailbox(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Mailbox>, Problem> {
    transition(state, caller, id, MailboxAction::Verify).await
}
