//! The `ingest` function. It is triggered by two queues:
//! - the lead-batch queue: each record is one lead batch of an import;
//! - the import-upload queue: each record is an S3 notification that a file
//!   arrived at a presigned upload URL, which starts that file's import job.
//!
//! Records are handled one by one; a failed record is reported in
//! `batchItemFailures` (so SQS retries only it, and after `maxReceiveCount`
//! moves it to the dead-letter queue), never swallowed. A record that cannot
//! be decoded is parked on the dead-letter queue at once: retrying it cannot help.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use cc_domain::import::LeadBatch;
use cc_domain::operations::imports;
use cc_domain::ports::{ImportFiles, LeadBatchQueue, Store};
use cc_store::SqsQueue;
use cc_store::park_undecodable;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// What the handler needs; built once per cold start.
#[derive(Clone)]
pub struct Ingest {
    pub store: Arc<dyn Store>,
    /// Where undecodable records go.
    pub dead_letters: Option<SqsQueue>,
    /// Where uploaded files are read from and their batches sent.
    pub uploads: Option<Uploads>,
}

/// What starting an uploaded import needs.
#[derive(Clone)]
pub struct Uploads {
    pub files: Arc<dyn ImportFiles>,
    pub lead_batches: Arc<dyn LeadBatchQueue>,
}

/// What one SQS record carries.
enum Record {
    Batch(Box<LeadBatch>),
    /// Object keys of uploaded files (already URL-decoded).
    Uploaded(Vec<String>),
    /// S3's test message when a notification is configured: nothing to do.
    S3Test,
}

fn decode(body: &str) -> Result<Record, String> {
    // Lead batches are the bulk of the traffic: decoded straight into their type.
    let batch_error = match serde_json::from_str::<LeadBatch>(body) {
        Ok(batch) => return Ok(Record::Batch(Box::new(batch))),
        Err(err) => err,
    };
    let value: Value =
        serde_json::from_str(body).map_err(|e| format!("not a lead batch or an upload notification: {e}"))?;
    if value.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Record::S3Test);
    }
    if value.get("Records").is_none() {
        return Err(format!("not a lead batch: {batch_error}"));
    }
    let event: S3Notification = serde_json::from_value(value).map_err(|e| format!("not an S3 notification: {e}"))?;
    let keys = event
        .records
        .into_iter()
        .map(|record| object_key(&record.s3.object.key))
        .collect::<Result<_, _>>()?;
    Ok(Record::Uploaded(keys))
}

/// The part of an S3 event notification the function reads (other fields are ignored).
#[derive(Deserialize)]
struct S3Notification {
    #[serde(rename = "Records")]
    records: Vec<S3Record>,
}

#[derive(Deserialize)]
struct S3Record {
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Object {
    key: String,
}

/// S3 notifications carry keys URL-encoded, with `+` for spaces.
fn object_key(encoded: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(&encoded.replace('+', " "))
        .decode_utf8()
        .map(|key| key.into_owned())
        .map_err(|e| format!("object key is not UTF-8: {e}"))
}

impl Ingest {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        cc_runtime::each_sqs_record(event, |record| self.handle_record(record)).await
    }

    async fn handle_record(&self, record: SqsMessage) -> Result<(), ()> {
        let message_id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        match decode(body) {
            Ok(Record::Batch(batch)) => self.ingest_batch(*batch, &message_id).await,
            Ok(Record::Uploaded(keys)) => self.start_uploads(keys, &message_id).await,
            Ok(Record::S3Test) => Ok(()),
            Err(reason) => {
                let parked = park_undecodable(self.dead_letters.as_ref(), &message_id, body, &reason).await;
                if parked { Ok(()) } else { Err(()) }
            }
        }
    }

    async fn ingest_batch(&self, batch: LeadBatch, message_id: &str) -> Result<(), ()> {
        use tracing::Instrument;
        // `instrument`, not `enter`: a span entered across an await leaks into other tasks.
        let span = tracing::info_span!(
            "lead_batch",
            message_id = %message_id,
            tenant_id = %batch.tenant_id,
            import_id = %batch.job_id,
            batch = batch.batch,
        );
        let ingested = imports::ingest_batch(self.store.as_ref(), batch, chrono::Utc::now())
            .instrument(span.clone())
            .await;
        let _entered = span.enter();
        match ingested {
            Ok(job) => {
                tracing::info!(
                    created = job.created,
                    duplicates = job.duplicates,
                    invalid = job.invalid,
                    status = ?job.status,
                    "lead batch ingested"
                );
                Ok(())
            }
            Err(err) => {
                tracing::error!(error = %cc_runtime::ErrorChain(&err), "lead batch failed; SQS will retry it");
                Err(())
            }
        }
    }

    async fn start_uploads(&self, keys: Vec<String>, message_id: &str) -> Result<(), ()> {
        let Some(uploads) = &self.uploads else {
            tracing::error!(message_id = %message_id, "an upload notification arrived but uploads are not configured");
            return Err(());
        };
        for key in keys {
            let started = imports::start_uploaded_import(
                self.store.as_ref(),
                uploads.lead_batches.as_ref(),
                uploads.files.as_ref(),
                &key,
                chrono::Utc::now(),
            )
            .await;
            match started {
                Ok(Some(job)) => tracing::info!(
                    message_id = %message_id,
                    tenant_id = %job.tenant_id,
                    import_id = %job.id,
                    status = ?job.status,
                    rows = job.total_rows,
                    batches = job.batches_total,
                    "uploaded import started"
                ),
                // Not one of ours (or its job is gone): nothing to do, and retrying cannot help.
                Ok(None) => tracing::warn!(message_id = %message_id, "an uploaded object matches no import job"),
                Err(err) => {
                    tracing::error!(
                        message_id = %message_id,
                        error = %cc_runtime::ErrorChain(&err),
                        "starting an uploaded import failed; SQS will retry it"
                    );
                    return Err(());
                }
            }
        }
        Ok(())
    }
}
