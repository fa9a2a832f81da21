//! Import jobs: a file of leads split into batches on the lead-batch queue,
//! each batch turned into leads by the `ingest` function, and counted once.

use crate::error::FieldError;
use crate::ids::{CampaignId, ImportJobId, TenantId};
use crate::input;
use crate::lead::NewLead;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The largest file accepted at an upload URL.
pub const MAX_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;
/// How long an upload URL stays valid.
pub const UPLOAD_URL_TTL: chrono::Duration = chrono::Duration::minutes(15);
const UPLOAD_PREFIX: &str = "uploads/";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Waiting for its file at the presigned upload URL.
    AwaitingUpload,
    Queued,
    Running,
    Completed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportJob {
    pub id: ImportJobId,
    pub tenant_id: TenantId,
    pub campaign_id: CampaignId,
    pub status: ImportStatus,
    /// Where the rows came from: `csv`, `upload`, `webhook`, `google_sheet`.
    pub source: String,
    /// Data rows in the file (blank rows aside).
    pub total_rows: u64,
    pub created: u64,
    pub duplicates: u64,
    pub invalid: u64,
    pub batches_total: u32,
    pub batches_done: u32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The column mapping of an uploaded file, kept until the file arrives.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mapping: BTreeMap<String, String>,
    /// Why a failed job failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ImportJob {
    /// Where the job's file is uploaded: the object key names tenant and job,
    /// so the upload's notification finds the job without any other lookup.
    pub fn upload_key(&self) -> String {
        format!("{UPLOAD_PREFIX}{}/{}.csv", self.tenant_id, self.id)
    }

    /// The tenant and job an uploaded object belongs to, if its key is one of ours.
    pub fn parse_upload_key(key: &str) -> Option<(TenantId, ImportJobId)> {
        let rest = key.strip_prefix(UPLOAD_PREFIX)?.strip_suffix(".csv")?;
        let (tenant, job) = rest.split_once('/')?;
        Some((tenant.parse().ok()?, job.parse().ok()?))
    }

    /// Rows accounted for, in percent.
    pub fn progress(&self) -> u8 {
        if self.total_rows == 0 {
            return 100;
        }
        let done = self.created + self.duplicates + self.invalid;
        ((done.min(self.total_rows) * 100) / self.total_rows) as u8
    }
}

/// What clients see of a job.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportJobView {
    pub id: ImportJobId,
    pub campaign_id: CampaignId,
    pub status: ImportStatus,
    pub source: String,
    pub total_rows: u64,
    pub created: u64,
    pub duplicates: u64,
    pub invalid: u64,
    /// 0–100: rows accounted for.
    pub progress: u8,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Why the job failed (only when `status` is `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<ImportJob> for ImportJobView {
    fn from(job: ImportJob) -> Self {
        Self {
            progress: job.progress(),
            id: job.id,
            campaign_id: job.campaign_id,
            status: job.status,
            source: job.source,
            total_rows: job.total_rows,
            created: job.created,
            duplicates: job.duplicates,
            invalid: job.invalid,
            created_at: job.created_at,
            started_at: job.started_at,
            finished_at: job.finished_at,
            error: job.error,
        }
    }
}

/// A row that did not become a lead, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub row: u32,
    pub reason: String,
}

/// One message of the lead-batch queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadBatch {
    pub tenant_id: TenantId,
    pub campaign_id: CampaignId,
    pub job_id: ImportJobId,
    pub batch: u32,
    /// The campaign's default country for phone numbers, when it has one.
    #[serde(default)]
    pub default_country: Option<String>,
    /// Where the rows came from (`csv`, `webhook`...), recorded on leads without a source.
    #[serde(default)]
    pub source: Option<String>,
    pub rows: Vec<BatchRow>,
}

/// One row of a batch: its number in the file and the lead it maps to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchRow {
    pub row: u32,
    pub lead: RowLead,
}

/// A row's lead, on the queue a JSON object either way (messages written
/// before rows were typed read back the same). A mapped row is a typed
/// [`NewLead`]; an object that does not decode into one (a webhook's
/// `personalization` holding a number, say) stays JSON, so the ingest function
/// refuses it with the errors the decoding names, as it always did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
// Nearly every row is `Input`: boxing it would be one more allocation per imported row.
#[allow(clippy::large_enum_variant)]
pub enum RowLead {
    Input(NewLead),
    Json(Value),
}

impl RowLead {
    /// The typed input when `value` decodes into one, else the object as it is.
    pub fn from_value(value: Value) -> Self {
        match NewLead::deserialize(&value) {
            Ok(lead) => RowLead::Input(lead),
            Err(_) => RowLead::Json(value),
        }
    }

    /// The identity the row's lead will have, if its email or, without one,
    /// its phone is valid (see [`crate::lead::identity_of_input`]).
    pub fn identity(&self, default_country: Option<&str>) -> Option<String> {
        match self {
            RowLead::Input(lead) => lead.identity(default_country),
            RowLead::Json(value) => crate::lead::identity_of_input(value, default_country),
        }
    }

    /// The lead input, or the decoding error named below `base` (e.g. `/row/7`).
    pub fn into_input(self, base: &str) -> Result<NewLead, FieldError> {
        match self {
            RowLead::Input(lead) => Ok(lead),
            RowLead::Json(value) => input::decode(value, base),
        }
    }
}

impl From<NewLead> for RowLead {
    fn from(lead: NewLead) -> Self {
        RowLead::Input(lead)
    }
}

/// Read straight into a [`NewLead`] from the message text (the ingest
/// function's path, with no JSON tree in between); only an object that is not
/// one is read again as JSON. Needs serde_json's own deserializer (a
/// `serde_json::from_str`/`from_slice` of the message), as `RawValue` does.
impl<'de> Deserialize<'de> for RowLead {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        match serde_json::from_str::<NewLead>(raw.get()) {
            Ok(lead) => Ok(RowLead::Input(lead)),
            Err(_) => serde_json::from_str(raw.get())
                .map(RowLead::Json)
                .map_err(serde::de::Error::custom),
        }
    }
}

/// What one batch did; recorded on the job exactly once per batch number.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    pub batch: u32,
    pub created: u64,
    pub duplicates: u64,
    pub invalid: u64,
    pub errors: Vec<RowError>,
}

/// Rows per batch, and the batch body size kept under SQS's 256 KB. Each
/// batch costs a queue round trip, a job update and counter updates, so
/// batches are as large as a message allows (1,000 rows take about a second
/// to store, far inside the function's timeout).
pub const MAX_ROWS_PER_BATCH: usize = 1000;
pub const MAX_BATCH_BYTES: usize = 200 * 1024;

/// Cuts rows into batches that respect both limits.
pub fn split_into_batches(rows: Vec<BatchRow>) -> Vec<Vec<BatchRow>> {
    let mut batches = Vec::new();
    let mut current = Vec::new();
    let mut bytes = 0;
    for row in rows {
        let size = serde_json::to_vec(&row.lead).map(|v| v.len()).unwrap_or(0) + 16;
        if !current.is_empty() && (current.len() == MAX_ROWS_PER_BATCH || bytes + size > MAX_BATCH_BYTES) {
            batches.push(std::mem::take(&mut current));
            bytes = 0;
        }
        bytes += size;
        current.push(row);
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn batches_respect_row_and_size_limits() {
        let rows: Vec<BatchRow> = (0..2500)
            .map(|n| BatchRow {
                row: n + 2,
                lead: RowLead::from_value(json!({"email": format!("l{n}@x.io")})),
            })
            .collect();
        let batches = split_into_batches(rows);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), [1000, 1000, 500]);
        let big: Vec<BatchRow> = (0..10)
            .map(|n| BatchRow {
                row: n,
                lead: RowLead::from_value(json!({"notes": "x".repeat(60_000)})),
            })
            .collect();
        let batches = split_into_batches(big);
        assert!(batches.iter().all(|b| b.len() <= 3));
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 10);
    }
}

#[cfg(test)]
mod upload_key_tests {
    use super::*;

    #[test]
    fn an_upload_key_names_its_tenant_and_job() {
        let (tenant, job) = (TenantId::generate(), ImportJobId::generate());
        let key = format!("uploads/{tenant}/{job}.csv");
        assert_eq!(ImportJob::parse_upload_key(&key), Some((tenant, job)));
        assert_eq!(ImportJob::parse_upload_key("uploads/x/y.csv"), None);
        assert_eq!(ImportJob::parse_upload_key(&format!("other/{tenant}/{job}.csv")), None);
    }
}
