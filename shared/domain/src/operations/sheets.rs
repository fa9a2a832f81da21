//! Polling Google Sheets: every tick the scheduler takes the sheet sources
//! that are due, fetches each one's CSV export, and imports the rows added
//! since the last poll.

use crate::csv_import;
use crate::error::DomainError;
use crate::import::RowLead;
use crate::lead_source::{LeadSource, PollOutcome};
use crate::ports::{LeadBatchQueue, SheetFetcher, Store};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// Polls every due sheet; one failing sheet is recorded on its source and
/// does not stop the others. Returns the sources polled.
pub async fn poll_due(
    store: &dyn Store,
    queue: &dyn LeadBatchQueue,
    fetcher: &dyn SheetFetcher,
    now: DateTime<Utc>,
) -> Result<Vec<LeadSource>, DomainError> {
    let mut polled = Vec::new();
    for source in store.due_sheet_sources(now).await? {
        polled.push(poll_one(store, queue, fetcher, source, now).await?);
    }
    Ok(polled)
}

/// A digest of the first `count` data rows, to notice edits above the cursor.
fn digest(rows: &[serde_json::Value]) -> String {
    let mut hasher = Sha256::new();
    for row in rows {
        hasher.update(row.to_string().as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().iter().take(16).map(|b| format!("{b:02x}")).collect()
}

async fn poll_one(
    store: &dyn Store,
    queue: &dyn LeadBatchQueue,
    fetcher: &dyn SheetFetcher,
    mut source: LeadSource,
    now: DateTime<Utc>,
) -> Result<LeadSource, DomainError> {
    let interval = Duration::seconds(i64::from(source.poll_interval_seconds.unwrap_or(300)));
    source.next_poll_at = Some(now + interval);
    let outcome = match take_new_rows(store, queue, fetcher, &mut source, now).await {
        Ok((new_rows, import_id)) => PollOutcome {
            at: now,
            status: "ok".into(),
            new_rows,
            import_id,
            error: None,
        },
        // Storage failures are the platform's: let the tick fail and retry.
        Err(DomainError::Store(err)) => return Err(DomainError::Store(err)),
        Err(err) => PollOutcome {
            at: now,
            status: "error".into(),
            new_rows: 0,
            import_id: None,
            error: Some(err.to_string()),
        },
    };
    source.last_poll = Some(outcome);
    store.save_lead_source(&source).await?;
    Ok(source)
}

async fn take_new_rows(
    store: &dyn Store,
    queue: &dyn LeadBatchQueue,
    fetcher: &dyn SheetFetcher,
    source: &mut LeadSource,
    now: DateTime<Utc>,
) -> Result<(u32, Option<crate::ids::ImportJobId>), DomainError> {
    let url = source
        .url
        .clone()
        .ok_or_else(|| DomainError::BadFile("the source has no URL".into()))?;
    let bytes = fetcher
        .fetch(&url)
        .await
        .map_err(|e| DomainError::BadFile(format!("could not fetch the sheet: {e}")))?;
    let parsed = csv_import::parse(&bytes, &source.mapping).map_err(|e| DomainError::BadFile(e.to_string()))?;
    // The digest is of each row as a JSON object (or its error), as rows were mapped before they were typed.
    let as_values: Vec<serde_json::Value> = parsed
        .rows
        .iter()
        .map(|r| match &r.lead {
            Ok(lead) => serde_json::to_value(lead).unwrap_or_default(),
            Err(reason) => serde_json::Value::String(reason.clone()),
        })
        .collect();
    let seen = (source.rows_seen as usize).min(as_values.len());
    // Rows above the cursor changed (inserted, edited, removed): take the whole
    // sheet again; leads already in the campaign come back as duplicates.
    let start = if source.seen_digest.as_deref() == Some(&digest(&as_values[..seen])) {
        seen
    } else {
        0
    };
    let new_rows: super::imports::MappedRows = parsed
        .rows
        .into_iter()
        .skip(start)
        .map(|r| (r.row as u32, r.lead.map(RowLead::Input)))
        .collect();
    source.rows_seen = as_values.len() as u32;
    source.seen_digest = Some(digest(&as_values));
    if new_rows.is_empty() {
        return Ok((0, None));
    }
    let campaign = store
        .get_campaign(source.tenant_id, source.campaign_id)
        .await?
        .ok_or(DomainError::NotFound { entity: "campaign" })?;
    let count = new_rows.len() as u32;
    let job = super::imports::queue_rows(store, queue, &campaign, new_rows, "google_sheet", now).await?;
    Ok((count, Some(job.id)))
}
