use super::campaigns::campaign_id;
use crate::AppState;
use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams, path_id};
use crate::problem::Problem;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use cc_domain::DomainError;
use cc_domain::ids::ImportJobId;
use cc_domain::import::{ImportJobView, ImportStatus, MAX_UPLOAD_BYTES};
use cc_domain::operations::imports;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/campaigns/{id}/imports", post(start_import))
        .route("/v1/campaigns/{id}/imports/upload-url", post(create_upload_url))
        .route("/v1/imports/{id}", get(get_import))
        .route("/v1/imports/{id}/errors", get(import_errors))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// JSON object: CSV header → lead field (`email`, `first_name`...), `custom_fields.<name>`, or `ignore`.
    /// Headers not named here are matched automatically; unmatched ones become custom fields.
    pub mapping: Option<String>,
}

/// Import a CSV file (the body, `text/csv`, up to 6 MB) into a campaign in
/// the background: 202 with the job; follow it at `/v1/imports/{id}`.
#[utoipa::path(post, path = "/v1/campaigns/{id}/imports", tag = "imports",
    params(("id" = String, Path, description = "Campaign id"), ImportParams),
    request_body(content = String, content_type = "text/csv", description = "The CSV file: comma, semicolon or tab separated, UTF-8 (BOM allowed), a header row"),
    responses(
        (status = 202, body = ImportJobView),
        (status = 400, description = "Not a CSV file, no email column, or a bad mapping", body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem)))]
pub async fn start_import(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<ImportParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<ImportJobView>), Problem> {
    let campaign = campaign_id(&id)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/csv");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if !matches!(
        essence.as_str(),
        "text/csv" | "text/plain" | "application/csv" | "application/octet-stream"
    ) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported content type",
            "send the file as text/csv",
        ));
    }
    let mapping: BTreeMap<String, String> = match params.mapping.as_deref() {
        None | Some("") => BTreeMap::new(),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| DomainError::invalid("mapping", format!("must be a JSON object of strings: {e}")))?,
    };
    let job = imports::start_csv_import(
        state.store.as_ref(),
        state.lead_batches.as_ref(),
        &caller,
        campaign,
        &body,
        &mapping,
        state.clock.now(),
    )
    .await?;
    tracing::info!(import_id = %job.id, rows = job.total_rows, batches = job.batches_total, "import queued");
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UploadUrlRequest {
    /// CSV header → lead field (`email`, `first_name`...), `custom_fields.<name>`, or `ignore`.
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
}

/// Where to PUT the file, and the job it will start.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadUrlView {
    /// The import job; follow it at `/v1/imports/{id}`.
    pub id: ImportJobId,
    /// `awaiting_upload` until the file arrives.
    pub status: ImportStatus,
    /// A presigned URL: PUT the file's bytes to it, with no other credentials.
    pub upload_url: String,
    pub method: &'static str,
    pub expires_at: chrono::DateTime<Utc>,
    /// The largest file the job will read.
    pub max_bytes: u64,
}

/// For files larger than a request body allows: a presigned S3 URL to PUT
/// the CSV to (up to 50 MB, valid 15 minutes). The upload itself starts the
/// job; the body (`{}` or `{"mapping": {...}}`) sets the column mapping.
#[utoipa::path(post, path = "/v1/campaigns/{id}/imports/upload-url", tag = "imports",
    params(("id" = String, Path, description = "Campaign id")),
    request_body = UploadUrlRequest,
    responses(
        (status = 201, body = UploadUrlView),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_upload_url(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<UploadUrlRequest>,
) -> Result<(StatusCode, Json<UploadUrlView>), Problem> {
    let campaign = campaign_id(&id)?;
    let (job, url) = imports::create_upload(
        state.store.as_ref(),
        state.import_files.as_ref(),
        &caller,
        campaign,
        request.mapping,
        state.clock.now(),
    )
    .await?;
    tracing::info!(import_id = %job.id, "upload URL issued");
    let view = UploadUrlView {
        id: job.id,
        status: job.status,
        upload_url: url.url,
        method: "PUT",
        expires_at: url.expires_at,
        max_bytes: MAX_UPLOAD_BYTES,
    };
    Ok((StatusCode::CREATED, Json(view)))
}

/// An import's status and counts.
#[utoipa::path(get, path = "/v1/imports/{id}", tag = "imports",
    params(("id" = String, Path, description = "Import id")),
    responses((status = 200, body = ImportJobView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn get_import(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<ImportJobView>, Problem> {
    let id: ImportJobId = path_id(&id, "import")?;
    Ok(Json(imports::get(state.store.as_ref(), &caller, id).await?.into()))
}

/// The rows that did not become leads, as CSV: `row,reason` (row 1 is the header of the file).
#[utoipa::path(get, path = "/v1/imports/{id}/errors", tag = "imports",
    params(("id" = String, Path, description = "Import id")),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn import_errors(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, Problem> {
    let id: ImportJobId = path_id(&id, "import")?;
    let csv = imports::errors_csv(state.store.as_ref(), &caller, id).await?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv))
}
