//! KPIs and the live feed: reads only, each a fixed number of storage reads
//! whatever the campaign's size (counters, not scans of leads or emails).

use crate::activity::{Activity, FEED_SETTLE, feed_position};
use crate::api_key::{Capability, Principal};
use crate::error::DomainError;
use crate::ids::CampaignId;
use crate::ports::Store;
use crate::stats::{CampaignStats, DailyStats, Overview, Scope};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use serde::Serialize;

/// The longest range `stats/daily` answers.
pub const MAX_DAILY_RANGE_DAYS: i64 = 366;
/// Days in the overview's trend.
pub const OVERVIEW_DAYS: i64 = 30;
pub const DEFAULT_FEED_LIMIT: usize = 100;
pub const MAX_FEED_LIMIT: usize = 500;

/// `GET /v1/campaigns/{id}/stats`: two reads (the campaign, its totals).
pub async fn campaign_stats(
    store: &dyn Store,
    caller: &Principal,
    id: CampaignId,
) -> Result<CampaignStats, DomainError> {
    caller.require(Capability::Read)?;
    store
        .get_campaign(caller.tenant_id, id)
        .await?
        .ok_or(DomainError::NotFound { entity: "campaign" })?;
    let tally = store.stats_totals(caller.tenant_id, Scope::Campaign(id)).await?;
    Ok(CampaignStats::from_tally(id, &tally))
}

/// The checked range of a daily query: both ends or the last 30 days.
pub fn daily_range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), DomainError> {
    let to = to.unwrap_or(today);
    let from = from.unwrap_or(to - TimeDelta::days(OVERVIEW_DAYS - 1));
    if from > to {
        return Err(DomainError::invalid("from", "from must be on or before to"));
    }
    if (to - from).num_days() >= MAX_DAILY_RANGE_DAYS {
        return Err(DomainError::invalid(
            "to",
            format!("at most {MAX_DAILY_RANGE_DAYS} days per request"),
        ));
    }
    Ok((from, to))
}

/// `GET /v1/campaigns/{id}/stats/daily`: two reads.
pub async fn campaign_daily(
    store: &dyn Store,
    caller: &Principal,
    id: CampaignId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<DailyStats, DomainError> {
    caller.require(Capability::Read)?;
    store
        .get_campaign(caller.tenant_id, id)
        .await?
        .ok_or(DomainError::NotFound { entity: "campaign" })?;
    let days = store
        .stats_days(caller.tenant_id, Scope::Campaign(id), from, to)
        .await?;
    Ok(DailyStats::from_days(from, to, &days))
}

/// `GET /v1/stats/overview`: two reads (the tenant's totals, its last 30 days).
pub async fn overview(store: &dyn Store, caller: &Principal, today: NaiveDate) -> Result<Overview, DomainError> {
    caller.require(Capability::Read)?;
    let from = today - TimeDelta::days(OVERVIEW_DAYS - 1);
    let totals = store.stats_totals(caller.tenant_id, Scope::Tenant).await?.whole();
    let days = store.stats_days(caller.tenant_id, Scope::Tenant, from, today).await?;
    Ok(Overview::new(&totals, from, today, &days))
}

/// One poll of the live feed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Feed {
    /// Oldest first.
    pub items: Vec<Activity>,
    /// Pass as `since` on the next poll to get only what is newer.
    pub cursor: String,
}

/// Checks a `since` cursor (`<13-digit milliseconds>.<uuid>`: URL-safe as it is).
pub fn parse_feed_cursor(since: &str) -> Result<String, DomainError> {
    let bad = || DomainError::invalid("since", "not a cursor this feed returned");
    let (millis, id) = since.split_once('.').ok_or_else(bad)?;
    if millis.len() != 13 || !millis.bytes().all(|b| b.is_ascii_digit()) || uuid::Uuid::parse_str(id).is_err() {
        return Err(bad());
    }
    Ok(since.to_string())
}

/// `GET /v1/activity?since=`: what was recorded after the cursor (or the
/// latest, without one), up to a moment ago: entries settle for
/// `FEED_SETTLE` first, so a poller never skips one that was still landing.
pub async fn feed(
    store: &dyn Store,
    caller: &Principal,
    since: Option<String>,
    limit: Option<usize>,
    now: DateTime<Utc>,
) -> Result<Feed, DomainError> {
    caller.require(Capability::Read)?;
    let limit = limit.unwrap_or(DEFAULT_FEED_LIMIT);
    if limit == 0 || limit > MAX_FEED_LIMIT {
        return Err(DomainError::invalid(
            "limit",
            format!("limit must be between 1 and {MAX_FEED_LIMIT}"),
        ));
    }
    let since = since
        .filter(|s| !s.is_empty())
        .map(|s| parse_feed_cursor(&s))
        .transpose()?;
    let until = now - FEED_SETTLE;
    let items = store
        .activity_feed(caller.tenant_id, since.as_deref(), until, limit)
        .await?;
    let cursor = match items.last() {
        Some(last) => last.feed_position(),
        // Nothing new: the same cursor, or (first poll of an empty feed) now.
        None => since.unwrap_or_else(|| feed_position(until, uuid::Uuid::max())),
    };
    Ok(Feed { items, cursor })
}
