//! CSV imports: split a file into batches for the ingest function, ingest a
//! batch exactly once in effect, and report on the job.

use crate::api_key::{Capability, Principal};
use crate::campaign::Campaign;
use crate::csv_import::{self, CsvError};
use crate::error::DomainError;
use crate::ids::{CampaignId, ImportJobId};
use crate::import::{
    BatchOutcome, BatchRow, ImportJob, ImportStatus, LeadBatch, MAX_UPLOAD_BYTES, RowError, split_into_batches,
};
use crate::input;
use crate::lead::{Lead, LeadOrigin, NewLead, identity_of_input};
use crate::page::{Cursor, PageRequest};
use crate::ports::{FileError, ImportFiles, LeadBatchQueue, LeadInsert, Store, UploadUrl};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

const NOT_FOUND: DomainError = DomainError::NotFound { entity: "import" };

/// Why a row is a duplicate; `identity` is what it repeats (an address, or `tel:` and a phone).
fn duplicate_reason(holder: impl std::fmt::Display, identity: &str) -> String {
    let what = if identity.starts_with(crate::lead::PHONE_IDENTITY_PREFIX) {
        "phone"
    } else {
        "email"
    };
    format!("duplicate: {holder} already has this {what}")
}

/// Parses a CSV, refuses what cannot be a lead at once (unreadable rows, and
/// repeats of an address earlier in the same file), stores the job and puts
/// the rest on the lead-batch queue.
pub async fn start_csv_import(
    store: &dyn Store,
    queue: &dyn LeadBatchQueue,
    caller: &Principal,
    campaign_id: CampaignId,
    file: &[u8],
    mapping: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<ImportJob, DomainError> {
    caller.require(Capability::WriteData)?;
    let campaign = super::campaigns::taking_leads(store, caller.tenant_id, campaign_id).await?;
    let rows = parse_file(file, mapping)?;
    queue_rows(store, queue, &campaign, rows, "csv", now).await
}

/// Rows of a file or sheet: row number, and the lead object or why there is none.
pub type MappedRows = Vec<(u32, Result<Value, String>)>;

fn parse_file(file: &[u8], mapping: &BTreeMap<String, String>) -> Result<MappedRows, DomainError> {
    let parsed = csv_import::parse(file, mapping).map_err(|e| match e {
        CsvError::UnknownMappedHeader { .. } | CsvError::UnknownMappingTarget { .. } => {
            DomainError::invalid("mapping", e)
        }
        other => DomainError::BadFile(other.to_string()),
    })?;
    Ok(parsed.rows.into_iter().map(|r| (r.row as u32, r.lead)).collect())
}

/// Starts an import job of mapped rows (row number, lead object or why not):
/// refuses unreadable rows and in-request repeats of an address at once, stores
/// the job and puts the rest on the lead-batch queue.
pub async fn queue_rows(
    store: &dyn Store,
    queue: &dyn LeadBatchQueue,
    campaign: &Campaign,
    rows: MappedRows,
    source: &str,
    now: DateTime<Utc>,
) -> Result<ImportJob, DomainError> {
    let mut job = new_job(campaign, ImportJobId::generate(), source, now);
    let (errors, messages) = settle_rows(&mut job, campaign, rows, now);
    store.insert_import(&job, &errors).await?;
    queue.enqueue(&messages).await?;
    Ok(job)
}

fn new_job(campaign: &Campaign, id: ImportJobId, source: &str, now: DateTime<Utc>) -> ImportJob {
    ImportJob {
        id,
        tenant_id: campaign.tenant_id,
        campaign_id: campaign.id,
        status: ImportStatus::Queued,
        source: source.into(),
        total_rows: 0,
        created: 0,
        duplicates: 0,
        invalid: 0,
        batches_total: 0,
        batches_done: 0,
        created_at: now,
        started_at: None,
        finished_at: None,
        mapping: BTreeMap::new(),
        error: None,
    }
}

/// Counts a job's rows, refuses the unreadable ones and repeats of an address
/// (or, for rows without one, a phone) earlier in the file (so batches processed side by side never race for one
/// address), and cuts the rest into lead-batch messages.
fn settle_rows(
    job: &mut ImportJob,
    campaign: &Campaign,
    rows: MappedRows,
    now: DateTime<Utc>,
) -> (Vec<RowError>, Vec<LeadBatch>) {
    job.total_rows = rows.len() as u64;
    let mut errors = Vec::new();
    let mut first_row_with_identity: HashMap<String, u32> = HashMap::new();
    let mut accepted = Vec::new();
    for (row, lead) in rows {
        let lead = match lead {
            Ok(lead) => lead,
            Err(reason) => {
                job.invalid += 1;
                errors.push(RowError { row, reason });
                continue;
            }
        };
        // A row without an email is known by its phone (E.164, read in the row's or the campaign's country).
        if let Some(key) = identity_of_input(&lead, campaign.default_country()) {
            if let Some(first) = first_row_with_identity.get(&key) {
                job.duplicates += 1;
                errors.push(RowError {
                    row,
                    reason: duplicate_reason(format!("row {first}"), &key),
                });
                continue;
            }
            first_row_with_identity.insert(key, row);
        }
        accepted.push(BatchRow { row, lead });
    }
    let batches = split_into_batches(accepted);
    job.batches_total = batches.len() as u32;
    if batches.is_empty() {
        job.status = ImportStatus::Completed;
        job.finished_at = Some(now);
    } else {
        job.status = ImportStatus::Queued;
    }
    let messages = batches
        .into_iter()
        .enumerate()
        .map(|(n, rows)| LeadBatch {
            tenant_id: campaign.tenant_id,
            campaign_id: campaign.id,
            job_id: job.id,
            batch: n as u32,
            default_country: campaign.default_country().map(str::to_string),
            source: Some(job.source.clone()),
            rows,
        })
        .collect();
    (errors, messages)
}

/// Creates a job that waits for its file, and the URL to PUT the file to.
/// The file's arrival (an S3 notification to the ingest function) starts it.
pub async fn create_upload(
    store: &dyn Store,
    files: &dyn ImportFiles,
    caller: &Principal,
    campaign_id: CampaignId,
    mapping: BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(ImportJob, UploadUrl), DomainError> {
    caller.require(Capability::WriteData)?;
    let campaign = super::campaigns::taking_leads(store, caller.tenant_id, campaign_id).await?;
    // A mapping naming unknown fields is refused now, not when the file arrives.
    csv_import::check_mapping(&mapping).map_err(|e| DomainError::invalid("mapping", e))?;
    let mut job = new_job(&campaign, ImportJobId::generate(), "upload", now);
    job.status = ImportStatus::AwaitingUpload;
    job.mapping = mapping;
    let url = files.upload_url(&job.upload_key(), now).await?;
    store.insert_import(&job, &[]).await?;
    Ok((job, url))
}

/// Starts the job an uploaded file belongs to: reads and splits the file and
/// queues its batches. Safe to repeat: a job already past `queued` is left
/// alone, and queueing a job's batches twice stores and counts them once.
/// `None` when the object is not a job's upload or its job is gone.
pub async fn start_uploaded_import(
    store: &dyn Store,
    queue: &dyn LeadBatchQueue,
    files: &dyn ImportFiles,
    object_key: &str,
    now: DateTime<Utc>,
) -> Result<Option<ImportJob>, DomainError> {
    let Some((tenant, job_id)) = ImportJob::parse_upload_key(object_key) else {
        return Ok(None);
    };
    let Some(mut job) = store.get_import(tenant, job_id).await? else {
        return Ok(None);
    };
    if !matches!(job.status, ImportStatus::AwaitingUpload | ImportStatus::Queued) {
        return Ok(Some(job));
    }
    let refuse = |reason: String| async move {
        store.fail_import(tenant, job_id, &reason, now).await?;
        Ok::<_, DomainError>(store.get_import(tenant, job_id).await?)
    };
    let file = match files.read(object_key, MAX_UPLOAD_BYTES).await {
        Ok(file) => file,
        // The file goes only once its batches are queued: an earlier delivery finished.
        Err(FileError::Missing) if job.status == ImportStatus::Queued => return Ok(Some(job)),
        Err(FileError::Store(err)) => return Err(err.into()),
        Err(err) => return refuse(err.to_string()).await,
    };
    let campaign = match super::campaigns::taking_leads(store, tenant, job.campaign_id).await {
        Ok(campaign) => campaign,
        Err(DomainError::NotFound { .. }) => return refuse("the campaign no longer exists".into()).await,
        Err(DomainError::Conflict { message, .. }) => return refuse(message).await,
        Err(err) => return Err(err),
    };
    let rows = match parse_file(&file, &job.mapping) {
        Ok(rows) => rows,
        Err(DomainError::BadFile(reason)) => return refuse(reason).await,
        Err(DomainError::Validation(errors)) => {
            let reason = errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ");
            return refuse(reason).await;
        }
        Err(err) => return Err(err),
    };
    let (errors, messages) = settle_rows(&mut job, &campaign, rows, now);
    if !store.start_import(&job, &errors).await? {
        return Ok(store.get_import(tenant, job_id).await?);
    }
    queue.enqueue(&messages).await?;
    files.delete(object_key).await?;
    Ok(Some(job))
}

/// Turns one batch into leads. A lead's id comes from its address and each
/// lead records its job and row, so a redelivered batch, or the retry of one
/// that crashed half-way, finds the leads it already wrote; the job counts
/// each batch once.
pub async fn ingest_batch(store: &dyn Store, batch: LeadBatch, now: DateTime<Utc>) -> Result<ImportJob, DomainError> {
    let tenant = batch.tenant_id;
    let job = store.get_import(tenant, batch.job_id).await?.ok_or(NOT_FOUND)?;
    if job.status == ImportStatus::Queued {
        store.mark_import_running(tenant, job.id, now).await?;
    }
    let batch_number = batch.batch;
    let job_id = batch.job_id;
    let (leads, refused) = leads_of_batch(batch, now);
    let mut outcome = BatchOutcome {
        batch: batch_number,
        invalid: refused.len() as u64,
        errors: refused,
        ..Default::default()
    };
    let (rows, mut to_store): (Vec<u32>, Vec<Lead>) = leads.into_iter().unzip();
    super::organizations::link_by_domain(store, &mut to_store, now).await?;
    // Created covers leads an earlier attempt at this batch stored (same origin).
    let results = store.insert_leads(&mut to_store).await?;
    for ((row, result), lead) in rows.into_iter().zip(results).zip(&to_store) {
        match result {
            LeadInsert::Created => outcome.created += 1,
            LeadInsert::Duplicate(holder) => {
                outcome.duplicates += 1;
                outcome.errors.push(RowError {
                    row,
                    reason: duplicate_reason(format!("lead {holder}"), &lead.identity()),
                });
            }
        }
    }
    Ok(store.record_import_batch(tenant, job_id, &outcome, now).await?)
}

/// The leads a batch makes (each marked with its row) and the rows it refuses.
pub fn leads_of_batch(batch: LeadBatch, now: DateTime<Utc>) -> (Vec<(u32, Lead)>, Vec<RowError>) {
    let mut leads = Vec::with_capacity(batch.rows.len());
    let mut refused = Vec::new();
    for BatchRow { row, lead } in batch.rows {
        let base = format!("/row/{row}");
        let built = input::decode::<NewLead>(lead, &base)
            .map_err(|e| vec![e])
            .and_then(|new_lead| {
                Lead::create(
                    batch.tenant_id,
                    batch.campaign_id,
                    new_lead,
                    &base,
                    now,
                    batch.default_country.as_deref(),
                )
            });
        match built {
            Ok(mut lead) => {
                lead.origin = Some(LeadOrigin {
                    import_id: batch.job_id,
                    row,
                });
                if lead.source.is_none() {
                    lead.source = Some(batch.source.clone().unwrap_or_else(|| "import".into()));
                }
                leads.push((row, lead));
            }
            Err(field_errors) => {
                let prefix = format!("{base}/");
                let reason = field_errors
                    .iter()
                    .map(|e| format!("{}: {}", e.field.trim_start_matches(&prefix), e.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                refused.push(RowError { row, reason });
            }
        }
    }
    (leads, refused)
}

pub async fn get(store: &dyn Store, caller: &Principal, id: ImportJobId) -> Result<ImportJob, DomainError> {
    caller.require(Capability::Read)?;
    store.get_import(caller.tenant_id, id).await?.ok_or(NOT_FOUND)
}

/// The refused rows as CSV: `row,reason`, in row order.
pub async fn errors_csv(store: &dyn Store, caller: &Principal, id: ImportJobId) -> Result<String, DomainError> {
    caller.require(Capability::Read)?;
    store.get_import(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut write = |record: [&str; 2]| {
        writer
            .write_record(record)
            .map_err(|e| DomainError::BadFile(e.to_string()))
    };
    write(["row", "reason"])?;
    let mut page = PageRequest::first(crate::page::MAX_PAGE_SIZE);
    loop {
        let listed = store.list_import_errors(caller.tenant_id, id, &page).await?;
        for error in &listed.items {
            write([&error.row.to_string(), &error.reason])?;
        }
        match listed.next_cursor {
            Some(next) => page.cursor = Some(Cursor(next)),
            None => break,
        }
    }
    let bytes = writer.into_inner().map_err(|e| DomainError::BadFile(e.to_string()))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings is UTF-8"))
}
