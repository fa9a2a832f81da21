use super::campaigns::campaign_id;
use crate::AppState;
use crate::auth::Caller;
use crate::extract::QueryParams;
use crate::problem::Problem;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use cc_domain::operations::stats::{self, Feed};
use cc_domain::stats::{CampaignStats, DailyStats, Overview};
use chrono::NaiveDate;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/campaigns/{id}/stats", get(campaign_stats))
        .route("/v1/campaigns/{id}/stats/daily", get(campaign_daily_stats))
        .route("/v1/stats/overview", get(stats_overview))
        .route("/v1/activity", get(activity_feed))
}

/// A campaign's KPIs: counts, rates, and the same per step and per variant.
///
/// From counters the events keep up to date: two reads whatever the
/// campaign's size. Opens and clicks are people's (unique per email);
/// scanners' and privacy proxies' are in `machine_opens` and `machine_clicks`.
#[utoipa::path(get, path = "/v1/campaigns/{id}/stats", tag = "stats",
    params(("id" = String, Path, description = "Campaign id")),
    responses((status = 200, body = CampaignStats), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub async fn campaign_stats(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignStats>, Problem> {
    let stats = stats::campaign_stats(state.store.as_ref(), &caller, campaign_id(&id)?).await?;
    Ok(Json(stats))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DailyParams {
    /// First day (UTC), `YYYY-MM-DD`; default 29 days before `to`.
    pub from: Option<NaiveDate>,
    /// Last day (UTC), included; default today. At most 366 days in all.
    pub to: Option<NaiveDate>,
}

/// A campaign's counts per day (UTC), every day of the range: a trend chart.
#[utoipa::path(get, path = "/v1/campaigns/{id}/stats/daily", tag = "stats",
    params(("id" = String, Path, description = "Campaign id"), DailyParams),
    responses((status = 200, body = DailyStats), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn campaign_daily_stats(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    QueryParams(params): QueryParams<DailyParams>,
) -> Result<Json<DailyStats>, Problem> {
    let id = campaign_id(&id)?;
    let today = state.clock.now().date_naive();
    let (from, to) = stats::daily_range(params.from, params.to, today)?;
    Ok(Json(
        stats::campaign_daily(state.store.as_ref(), &caller, id, from, to).await?,
    ))
}

/// The tenant's dashboard: total and active leads, conversion and response
/// rates, all-time counts and the last 30 days.
#[utoipa::path(get, path = "/v1/stats/overview", tag = "stats",
    responses((status = 200, body = Overview), (status = 401, body = Problem)))]
pub async fn stats_overview(State(state): State<AppState>, Caller(caller): Caller) -> Result<Json<Overview>, Problem> {
    let today = state.clock.now().date_naive();
    Ok(Json(stats::overview(state.store.as_ref(), &caller, today).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// The `cursor` of the previous poll; without it, the latest entries.
    pub since: Option<String>,
    /// 1–500, default 100.
    pub limit: Option<usize>,
}

/// The tenant's live feed: new leads, sends, deliveries, opens, clicks,
/// bounces, complaints, replies and auto-pauses, oldest first.
///
/// Poll every few seconds with the `cursor` of the previous answer as
/// `since`: each answer holds only what was recorded after it. Entries show
/// after a two-second settling delay, so none is skipped; an entry recorded
/// again (a redelivered event) may show twice with the same `id`.
#[utoipa::path(get, path = "/v1/activity", tag = "stats", params(FeedParams),
    responses((status = 200, body = Feed), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn activity_feed(
    State(state): State<AppState>,
    Caller(caller): Caller,
    QueryParams(params): QueryParams<FeedParams>,
) -> Result<Json<Feed>, Problem> {
    let feed = stats::feed(
        state.store.as_ref(),
        &caller,
        params.since,
        params.limit,
        state.clock.now(),
    )
    .await?;
    Ok(Json(feed))
}
