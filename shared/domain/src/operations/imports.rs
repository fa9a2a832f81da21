//! CSV imports: split a file into batches for the ingest function, ingest a
//! batch exactly once in effect, and report on the job.

use crate::api_key::{Capability, Principal};
use crate::campaign::Campaign;
use crate::csv_import::{self, CsvError};
use crate::error::DomainError;
use crate::ids::{CampaignId, ImportJobId};
use crate::import::{
    BatchOutcome, BatchRow, ImportJob, ImportStatus, LeadBatch, MAX_UPLOAD_BYTES, RowError, RowLead, split_into_batches,
};
use crate::lead::{Lead, LeadOrigin};
use crate::page::{Cursor, PageRequest};
use crate::ports::{FileError, ImportFiles, LeadBatchQueue, LeadInsert, Store, UploadUrl};
use chrono::{DateTime, Utc};
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

/// Rows of a file or sheet: row number, and the lead or why there is none.
pub type MappedRows = Vec<(u32, Result<RowLead, String>)>;

fn parse_file(file: &[u8], mapping: &BTreeMap<String, String>) -> Result<MappedRows, DomainError> {
    let parsed = csv_import::parse(file, mapping).map_err(|e| match e {
        CsvError::UnknownMappedHeader { .. } | CsvError::UnknownMappingTarget { .. } => {
            DomainError::invalid("mapping", e)
        }
        other => DomainError::BadFile(other.to_string()),
    })?;
    Ok(parsed
        .rows
        .into_iter()
        .map(|r| (r.row as u32, r.lead.map(RowLead::Input)))
        .collect())
}

/// Starts an import job of mapped rows (row number, lead or why not):
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
///
/// The rows of one company (business email domain) are moved up to its first
/// row, so that they share a batch as far as the batch size allows: each
/// organisation is then looked up and created by one batch, named after its
/// first row, rather than by every batch that holds one of its people (batches
/// run side by side, and the last to write would name it). Other rows keep
/// their place in the file.
fn settle_rows(
    job: &mut ImportJob,
    campaign: &Campaign,
    rows: MappedRows,
    now: DateTime<Utc>,
) -> (Vec<RowError>, Vec<LeadBatch>) {
    job.total_rows = rows.len() as u64;
    let mut errors = Vec::new();
    let mut first_row_with_identity: HashMap<String, u32> = HashMap::new();
    let mut first_position_of_company: HashMap<String, usize> = HashMap::new();
    let mut accepted: Vec<(usize, BatchRow)> = Vec::new();
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
        if let Some(key) = lead.identity(campaign.default_country()) {
            if let Some(first) = first_row_with_identity.get(&key) {
                job.duplicates += 1;
                errors.push(RowError {
                    row,
                    reason: duplicate_reason(format!("row {first}"), &key),
                });
                continue;
            }
            let position = accepted.len();
            let place = match company_domain(&key) {
                Some(domain) => *first_position_of_company.entry(domain.to_string()).or_insert(position),
                None => position,
            };
            first_row_with_identity.insert(key, row);
            accepted.push((place, BatchRow { row, lead }));
        } else {
            accepted.push((accepted.len(), BatchRow { row, lead }));
        }
    }
    // Stable: a company's rows keep their file order.
    accepted.sort_by_key(|(place, _)| *place);
    let batches = split_into_batches(accepted.into_iter().map(|(_, row)| row).collect());
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

/// The domain of an identity that is a business address: one that makes an
/// organisation (not free-mail, not disposable, not a phone).
fn company_domain(identity: &str) -> Option<&str> {
    let (_, domain) = identity.rsplit_once('@')?;
    if identity.starts_with(crate::lead::PHONE_IDENTITY_PREFIX) {
        return None;
    }
    let flags = crate::enrich::classify_key(identity);
    (!flags.free_mail && !flags.disposable).then_some(domain)
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
    let mut base = String::new();
    for BatchRow { row, lead } in batch.rows {
        base.clear();
        base.push_str("/row/");
        base.push_str(itoa::Buffer::new().format(row));
        let built = lead.into_input(&base).map_err(|e| vec![e]).and_then(|new_lead| {
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

#[cfg(test)]
mod typed_rows_tests {
    use super::*;
    use crate::csv_import::{Column, LeadField, map_columns, sniff_delimiter};
    use crate::ids::TenantId;
    use serde_json::{Map, Value, json};

    /// How rows were mapped before they were typed: the same header mapping,
    /// each row built into a JSON object (kept here as the reference).
    fn json_rows(bytes: &[u8], explicit: &BTreeMap<String, String>) -> Vec<(u32, Result<Value, String>)> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()).unwrap_or(bytes);
        let text = std::str::from_utf8(bytes).unwrap();
        let delimiter = sniff_delimiter(text.trim_start_matches(['\r', '\n']));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(text.as_bytes());
        let headers: Vec<String> = reader.headers().unwrap().iter().map(|h| h.trim().to_string()).collect();
        let columns = map_columns(&headers, explicit).unwrap();
        let mut rows = Vec::new();
        let mut record = csv::StringRecord::new();
        let mut row = 1;
        loop {
            let read = reader.read_record(&mut record);
            row += 1;
            match read {
                Ok(false) => break,
                Ok(true) if record.iter().all(|cell| cell.trim().is_empty()) => {}
                Ok(true) => {
                    let lead = if record.len() > columns.len()
                        && record.iter().skip(columns.len()).any(|cell| !cell.trim().is_empty())
                    {
                        Err(format!(
                            "the row has {} cells but the header has {}",
                            record.len(),
                            columns.len()
                        ))
                    } else {
                        json_lead(columns.iter().zip(record.iter()))
                    };
                    rows.push((row, lead));
                }
                Err(err) => {
                    rows.push((row, Err(format!("not readable as CSV: {err}"))));
                    break;
                }
            }
        }
        rows
    }

    fn json_lead<'a>(cells: impl Iterator<Item = (&'a Column, &'a str)>) -> Result<Value, String> {
        let mut lead = Map::new();
        let mut custom = Map::new();
        let mut full_name = None;
        for (column, cell) in cells {
            let cell = cell.trim();
            if cell.is_empty() {
                continue;
            }
            match column {
                Column::Field(LeadField::FullName) => full_name = Some(cell.to_string()),
                Column::Field(field) => {
                    lead.entry(field.key().to_string())
                        .or_insert_with(|| Value::String(cell.to_string()));
                }
                Column::Custom(name) => {
                    custom.insert(name.clone(), Value::String(cell.to_string()));
                }
                Column::Ignore => {}
            }
        }
        if let Some(name) = full_name {
            let mut parts = name.splitn(2, char::is_whitespace);
            let first = parts.next().unwrap_or_default().to_string();
            let last = parts.next().map(str::trim).unwrap_or_default().to_string();
            lead.entry("first_name").or_insert(Value::String(first));
            if !last.is_empty() {
                lead.entry("last_name").or_insert(Value::String(last));
            }
        }
        if !lead.contains_key("email") && !lead.contains_key("phone") {
            return Err("the email is missing (a lead needs an email or a phone)".into());
        }
        if !custom.is_empty() {
            lead.insert("custom_fields".into(), Value::Object(custom));
        }
        Ok(Value::Object(lead))
    }

    fn batch(rows: Vec<BatchRow>) -> LeadBatch {
        LeadBatch {
            tenant_id: TenantId::generate(),
            campaign_id: CampaignId::generate(),
            job_id: ImportJobId::generate(),
            batch: 0,
            default_country: Some("DE".into()),
            source: Some("csv".into()),
            rows,
        }
    }

    /// The leads and refusals of a batch, made on the same ids and clock.
    fn outcome(template: &LeadBatch, rows: Vec<BatchRow>) -> (Vec<(u32, Lead)>, Vec<RowError>) {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .to_utc();
        leads_of_batch(
            LeadBatch {
                rows,
                ..template.clone()
            },
            now,
        )
    }

    const FILE: &str = "\u{feff}E-Mail;Full Name;First Name;Company Name;Title;Mobile Phone;Country;Web;LinkedIn;Time Zone;Employees;Plan;Email;Junk;Contact\r\n\
        ann@acme.com;Ann Marie Lee;;Acme;CEO & Founder;030 901820;DE;https://acme.com;linkedin.com/in/ann;Europe/Berlin;51-200;pro;second@acme.com;x;old@acme.com\r\n\
        BOB@Example.ORG;Bob;Robert;;Head of Growth;+1 415 555 2671;;example.org;;;1,200;;;;\r\n\
        ;Cat Phone;;;;+49 151 1234 5678;;;;;;;;;\r\n\
        ;Dan Phone;;;;0664 1234567;AT;;;;;;;;\r\n\
        not-an-address;Eve;;;;;;;;;;;;;\r\n\
        ;Fay;;;;12;;;;;;;;;\r\n\
        ;;;;;;;;;;;;;;\r\n\
        gus@gmail.com;Gus;;;VP Sales;(030) 901-820;de;web site;;Mars time;500+;;;;\r\n\
        info@mailinator.com;;;;;;;;;;;;;;\r\n\
        ;Hal;;;;;;;;;;;;;\r\n\
        ivy@acme.com;Ivy;;;;030 901820;;;;;;;;;;extra\r\n\
        \"jo@acme.com\";\"Jo \"\"JJ\"\" Smith\";;\"Acme; Inc\";;\"+49 30\r\n901820\";;;;;;;;;\r\n";

    /// The typed rows make exactly the leads and refusals the JSON objects
    /// made, travel as the same JSON, and read back from it (and from
    /// messages written before) to the same leads.
    #[test]
    fn typed_rows_make_the_leads_json_rows_made() {
        let mapping = BTreeMap::from([
            ("Junk".to_string(), "ignore".to_string()),
            ("Contact".to_string(), "custom_fields.previous_email".to_string()),
        ]);
        let typed = csv_import::parse(FILE.as_bytes(), &mapping).unwrap();
        let json = json_rows(FILE.as_bytes(), &mapping);
        assert_eq!(typed.rows.len(), json.len());
        assert_eq!(typed.rows.len(), 11, "row 8 is blank");
        let template = batch(Vec::new());
        let (mut typed_rows, mut json_batch_rows) = (Vec::new(), Vec::new());
        for (typed, (row, json)) in typed.rows.iter().zip(&json) {
            assert_eq!(typed.row as u32, *row);
            match (&typed.lead, json) {
                (Ok(lead), Ok(value)) => {
                    assert_eq!(&serde_json::to_value(lead).unwrap(), value, "row {row}");
                    typed_rows.push(BatchRow {
                        row: *row,
                        lead: RowLead::Input(lead.clone()),
                    });
                    json_batch_rows.push(BatchRow {
                        row: *row,
                        lead: RowLead::Json(value.clone()),
                    });
                }
                (Err(typed), Err(json)) => assert_eq!(typed, json, "row {row}"),
                (typed, json) => panic!("row {row}: {typed:?} / {json:?}"),
            }
        }
        let from_typed = outcome(&template, typed_rows.clone());
        let from_json = outcome(&template, json_batch_rows.clone());
        assert_eq!(from_typed, from_json);
        // Something of everything: leads by email and by phone, and refusals.
        let (leads, refused) = &from_typed;
        assert!(leads.iter().any(|(_, l)| l.email.is_none()) && leads.iter().any(|(_, l)| l.email.is_some()));
        let reasons: Vec<_> = refused.iter().map(|e| (e.row, e.reason.as_str())).collect();
        assert!(
            reasons.contains(&(6, "email: email must look like name@example.com")),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&(7, "phone: not a valid phone number for its country")),
            "{reasons:?}"
        );
        assert!(reasons.contains(&(13, "phone: not a phone number")), "{reasons:?}");
        assert!(
            reasons
                .iter()
                .any(|(row, r)| *row == 9 && r.contains("website") && r.contains("timezone"))
        );
        // On the queue: the typed batch is the JSON batch's text, and both read back typed.
        let typed_message = serde_json::to_string(&LeadBatch {
            rows: typed_rows,
            ..template.clone()
        })
        .unwrap();
        let json_message = serde_json::to_string(&LeadBatch {
            rows: json_batch_rows,
            ..template.clone()
        })
        .unwrap();
        let typed_back: LeadBatch = serde_json::from_str(&typed_message).unwrap();
        let json_back: LeadBatch = serde_json::from_str(&json_message).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&typed_message).unwrap(),
            serde_json::from_str::<Value>(&json_message).unwrap()
        );
        assert!(json_back.rows.iter().all(|r| matches!(r.lead, RowLead::Input(_))));
        assert_eq!(typed_back, json_back);
        assert_eq!(outcome(&template, typed_back.rows), from_json);
    }

    /// A webhook object that is not a lead input (a number in `personalization`)
    /// travels as JSON and is refused at ingest as it was.
    #[test]
    fn objects_that_are_not_lead_inputs_are_refused_as_before() {
        let object = json!({"email": "ann@acme.com", "personalization": {"line": 5}});
        let row = RowLead::from_value(object.clone());
        assert_eq!(row, RowLead::Json(object.clone()));
        let template = batch(Vec::new());
        let message = serde_json::to_string(&LeadBatch {
            rows: vec![BatchRow { row: 1, lead: row }],
            ..template.clone()
        })
        .unwrap();
        let back: LeadBatch = serde_json::from_str(&message).unwrap();
        assert_eq!(back.rows[0].lead, RowLead::Json(object));
        let (leads, refused) = outcome(&template, back.rows);
        assert!(leads.is_empty());
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].row, 1);
        assert_eq!(
            refused[0].reason,
            "personalization/line: invalid type: integer `5`, expected a string"
        );
    }
}

#[cfg(test)]
mod batch_order_tests {
    use super::*;
    use crate::campaign::NewCampaign;
    use crate::ids::TenantId;
    use serde_json::json;

    fn rows_of(emails: &[String]) -> MappedRows {
        emails
            .iter()
            .enumerate()
            .map(|(n, email)| (n as u32 + 2, Ok(RowLead::from_value(json!({"email": email})))))
            .collect()
    }

    fn campaign() -> Campaign {
        let input = NewCampaign {
            name: "Order".into(),
            description: None,
            settings: Default::default(),
        };
        Campaign::create(TenantId::generate(), input, super::super::test_support::now()).unwrap()
    }

    #[test]
    fn a_companys_rows_share_a_batch_and_other_rows_keep_their_place() {
        // 2,400 rows: every 100th is at acme.com, the rest alternate between
        // gmail (free-mail) and one company each.
        let emails: Vec<String> = (0..2400)
            .map(|n| match n {
                n if n % 100 == 50 => format!("person{n}@acme.com"),
                n if n % 2 == 0 => format!("someone{n}@gmail.com"),
                n => format!("person{n}@company{n}.com"),
            })
            .collect();
        let campaign = campaign();
        let mut job = new_job(
            &campaign,
            ImportJobId::generate(),
            "csv",
            super::super::test_support::now(),
        );
        let (errors, batches) = settle_rows(&mut job, &campaign, rows_of(&emails), super::super::test_support::now());
        assert!(errors.is_empty());
        let rows: Vec<Vec<u32>> = batches.iter().map(|b| b.rows.iter().map(|r| r.row).collect()).collect();
        assert_eq!(
            rows.iter().map(Vec::len).sum::<usize>(),
            2400,
            "every row is queued once"
        );

        // acme.com's 24 rows: all in the first batch, in file order, placed at its first row (row 52).
        let acme_rows: Vec<u32> = (0..2400u32).filter(|n| n % 100 == 50).map(|n| n + 2).collect();
        let first = &rows[0];
        let at = first.iter().position(|&r| r == 52).unwrap();
        assert_eq!(first[at..at + 24], acme_rows[..]);
        assert_eq!(at, 50, "rows before acme's first keep their place");

        // Every other row keeps its file order.
        let others: Vec<u32> = rows.concat().into_iter().filter(|r| !acme_rows.contains(r)).collect();
        let mut sorted = others.clone();
        sorted.sort_unstable();
        assert_eq!(others, sorted);
    }
}
