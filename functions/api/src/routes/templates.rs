use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams, path_id};
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use cc_domain::DomainError;
use cc_domain::ids::TemplateId;
use cc_domain::operations::templates::{self, PreviewRequest, TemplatePreview};
use cc_domain::page::{Page, PageRequest};
use cc_domain::template::{NewTemplate, Template, TemplatePatch, TemplateVersion};
use serde::{Deserialize, Serialize};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/templates", get(list_templates).post(create_template))
        .route(
            "/v1/templates/{id}",
            get(get_template).patch(update_template).delete(delete_template),
        )
        .route("/v1/templates/{id}/versions", get(list_template_versions))
        .route("/v1/templates/{id}/versions/{version}", get(get_template_version))
        .route("/v1/templates/{id}/preview", post(preview_template))
}

fn template_id(raw: &str) -> Result<TemplateId, DomainError> {
    path_id(raw, "template")
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TemplateListParams {
    pub cursor: Option<String>,
    /// 1–500, default 50.
    pub limit: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateList {
    pub items: Vec<Template>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TemplateVersionList {
    pub items: Vec<TemplateVersion>,
    pub next_cursor: Option<String>,
}

/// Create a template (version 1). Each part must compile: a syntax error is
/// 422 naming `/subject`, `/html` or `/text` with its line.
#[utoipa::path(post, path = "/v1/templates", tag = "templates", request_body = NewTemplate,
    responses((status = 201, body = Template), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    JsonBody(input): JsonBody<NewTemplate>,
) -> Result<(StatusCode, Json<Template>), Problem> {
    let template = templates::create(state.store.as_ref(), &caller, input, state.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(template)))
}

/// List templates (their current versions), oldest first.
#[utoipa::path(get, path = "/v1/templates", tag = "templates", params(TemplateListParams),
    responses((status = 200, body = TemplateList), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list_templates(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<TemplateListParams>,
) -> Result<Json<Page<Template>>, Problem> {
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(templates::list(state.store.as_ref(), &caller, &page).await?))
}

/// The current version of a template.
#[utoipa::path(get, path = "/v1/templates/{id}", tag = "templates",
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, body = Template), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Template>, Problem> {
    Ok(Json(
        templates::get(state.store.as_ref(), &caller, template_id(&id)?).await?,
    ))
}

/// Change a template: the result is its next version; older versions stay readable.
#[utoipa::path(patch, path = "/v1/templates/{id}", tag = "templates", request_body = TemplatePatch,
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, body = Template), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<TemplatePatch>,
) -> Result<Json<Template>, Problem> {
    let id = template_id(&id)?;
    Ok(Json(
        templates::update(state.store.as_ref(), &caller, id, patch, state.clock.now()).await?,
    ))
}

/// Delete a template (its versions are kept for the emails rendered from them).
#[utoipa::path(delete, path = "/v1/templates/{id}", tag = "templates",
    params(("id" = String, Path, description = "Template id")),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, Problem> {
    templates::delete(state.store.as_ref(), &caller, template_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every version of a template, newest first.
#[utoipa::path(get, path = "/v1/templates/{id}/versions", tag = "templates",
    params(("id" = String, Path, description = "Template id"), TemplateListParams),
    responses((status = 200, body = TemplateVersionList), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn list_template_versions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<TemplateListParams>,
) -> Result<Json<Page<TemplateVersion>>, Problem> {
    let id = template_id(&id)?;
    let page = PageRequest::parse(params.cursor, params.limit)?;
    Ok(Json(
        templates::versions(state.store.as_ref(), &caller, id, &page).await?,
    ))
}

/// One version of a template, as it was saved.
#[utoipa::path(get, path = "/v1/templates/{id}/versions/{version}", tag = "templates",
    params(("id" = String, Path, description = "Template id"), ("version" = u32, Path, description = "Version number (1 is the first)")),
    responses((status = 200, body = TemplateVersion), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_template_version(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, version)): Path<(String, String)>,
) -> Result<Json<TemplateVersion>, Problem> {
    let id = template_id(&id)?;
    let version: u32 = path_id(&version, "template version")?;
    Ok(Json(
        templates::version(state.store.as_ref(), &caller, id, version).await?,
    ))
}

/// Render a template for a lead (`lead_id`), a mailbox (`mailbox_id`) and/or
/// sample `data`, and name the variables that have no value and no fallback.
/// A template that does not render answers 200 with `subject: null` and `error`.
#[utoipa::path(post, path = "/v1/templates/{id}/preview", tag = "templates", request_body = PreviewRequest,
    params(("id" = String, Path, description = "Template id")),
    responses((status = 200, body = TemplatePreview), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn preview_template(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<PreviewRequest>,
) -> Result<Json<TemplatePreview>, Problem> {
    let id = template_id(&id)?;
    Ok(Json(
        templates::preview(state.store.as_ref(), &caller, id, request).await?,
    ))
}
