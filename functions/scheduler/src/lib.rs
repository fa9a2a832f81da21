//! The `scheduler` function, run by EventBridge Scheduler every minute: it
//! hands the emails that fall due in the coming minute to the send queue
//! (each delayed to its slot), and polls the Google Sheet lead sources that are due.

use async_trait::async_trait;
use cc_domain::DomainError;
use cc_domain::operations::sending::{self, Delays};
use cc_domain::operations::sheets;
use cc_domain::ports::{LeadBatchQueue, SendQueue, SheetFetcher, Store};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;

/// Sheets larger than this are refused rather than read into memory.
const MAX_SHEET_BYTES: usize = 20 * 1024 * 1024;

#[derive(Clone)]
pub struct Scheduler {
    pub store: Arc<dyn Store>,
    pub lead_batches: Arc<dyn LeadBatchQueue>,
    pub fetcher: Arc<dyn SheetFetcher>,
    pub send_queue: Arc<dyn SendQueue>,
    /// Whether send jobs wait for their slot (always on Lambda).
    pub delays: Delays,
}

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub sends_enqueued: usize,
    pub sheets_polled: usize,
    pub sheets_failed: usize,
}

impl Scheduler {
    /// One tick at `now`. Storage failures fail the tick (Lambda retries it);
    /// a sheet that cannot be read is recorded on its source.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, DomainError> {
        let dispatched = sending::dispatch_due(self.store.as_ref(), self.send_queue.as_ref(), now, self.delays).await?;
        if dispatched.enqueued > 0 {
            tracing::info!(
                enqueued = dispatched.enqueued,
                skipped = dispatched.skipped,
                "due sends queued"
            );
        }
        let polled = sheets::poll_due(
            self.store.as_ref(),
            self.lead_batches.as_ref(),
            self.fetcher.as_ref(),
            now,
        )
        .await?;
        let failed = polled
            .iter()
            .filter(|s| s.last_poll.as_ref().is_some_and(|p| p.status != "ok"))
            .count();
        for source in &polled {
            if let Some(poll) = &source.last_poll {
                tracing::info!(
                    tenant_id = %source.tenant_id,
                    source_id = %source.id,
                    status = %poll.status,
                    new_rows = poll.new_rows,
                    error = poll.error.as_deref().unwrap_or(""),
                    "sheet polled"
                );
            }
        }
        Ok(TickReport {
            sends_enqueued: dispatched.enqueued,
            sheets_polled: polled.len(),
            sheets_failed: failed,
        })
    }
}

/// Fetches sheet exports over HTTP(S).
pub struct HttpSheetFetcher {
    client: reqwest::Client,
}

impl HttpSheetFetcher {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .user_agent("customer-center-sheet-poller")
            .build()
            .expect("a TLS client can be built");
        Self { client }
    }
}

impl Default for HttpSheetFetcher {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl SheetFetcher for HttpSheetFetcher {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let response = self.client.get(url).send().await.map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("the sheet answered HTTP {}", response.status()));
        }
        if response
            .content_length()
            .is_some_and(|len| len as usize > MAX_SHEET_BYTES)
        {
            return Err(format!("the sheet is larger than {MAX_SHEET_BYTES} bytes"));
        }
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        if bytes.len() > MAX_SHEET_BYTES {
            return Err(format!("the sheet is larger than {MAX_SHEET_BYTES} bytes"));
        }
        Ok(bytes.to_vec())
    }
}
