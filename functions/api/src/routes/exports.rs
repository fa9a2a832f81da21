//! Downloads: a campaign's leads as CSV.

use crate::AppState;
use crate::auth::Caller;
use crate::problem::Problem;
use crate::routes::campaign_id;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cc_domain::operations::exports;
use futures::StreamExt;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/campaigns/{id}/export.csv", get(export_campaign_csv))
}

/// The campaign's leads as CSV, one row per lead: `lead_id, email, first_name,
/// last_name, company, status, score, score_band, last_email_status,
/// last_email_step, last_email_sent_at, opened, clicked, replied,
/// reply_classification`. The body is streamed a page of leads at a time;
/// opened and clicked count people, not machines.
#[utoipa::path(get, path = "/v1/campaigns/{id}/export.csv", tag = "campaigns",
    params(("id" = String, Path, description = "Campaign id")),
    responses(
        (status = 200, description = "The CSV file (RFC 4180, a header row first), as an attachment",
            content_type = "text/csv", body = String,
            headers(("Content-Disposition" = String, description = "attachment; filename=\"campaign-<id>.csv\""))),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn export_campaign_csv(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let store = state.store.clone();
    let mut export = exports::campaign_export(store.as_ref(), &caller, campaign_id(&id)?).await?;
    // The first page is read before answering, so a failure there is still a problem+json.
    let first = export.next_chunk(store.as_ref()).await?.unwrap_or_default();
    let disposition = format!("attachment; filename=\"{}\"", export.file_name());
    let rest = futures::stream::unfold((store, export), |(store, mut export)| async move {
        match export.next_chunk(store.as_ref()).await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), (store, export))),
            Ok(None) => None,
            // The status is sent: the client sees the body end early (the export stops after an error).
            Err(err) => {
                tracing::error!(error = %err, cause = ?std::error::Error::source(&err), "the export stopped");
                Some((Err(std::io::Error::other("the export stopped")), (store, export)))
            }
        }
    });
    let body = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(first))]).chain(rest);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(body),
    )
        .into_response())
}
