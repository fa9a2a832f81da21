//! The `ingest` function: each SQS record is one lead batch of an import.
//! Records are handled one by one; a failed record is reported in
//! `batchItemFailures` (so SQS retries only it, and after `maxReceiveCount`
//! moves it to the dead-letter queue), never swallowed. A record that cannot
//! be decoded is parked on the dead-letter queue at once: retrying it cannot help.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use cc_domain::import::LeadBatch;
use cc_domain::operations::imports;
use cc_domain::ports::Store;
use cc_store::SqsQueue;
use std::sync::Arc;

/// What the handler needs; built once per cold start.
#[derive(Clone)]
pub struct Ingest {
    pub store: Arc<dyn Store>,
    /// Where undecodable records go.
    pub dead_letters: Option<SqsQueue>,
}

impl Ingest {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in event.records {
            if let Err(failure) = self.handle_record(&record).await {
                response.batch_item_failures.push(failure);
            }
        }
        response
    }

    async fn handle_record(&self, record: &SqsMessage) -> Result<(), BatchItemFailure> {
        let message_id = record.message_id.clone().unwrap_or_default();
        let failure = || {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id.clone();
            failure
        };
        let body = record.body.as_deref().unwrap_or_default();
        let batch: LeadBatch = match serde_json::from_str(body) {
            Ok(batch) => batch,
            Err(err) => {
                let reason = format!("not a lead batch: {err}");
                tracing::error!(message_id = %message_id, reason = %reason, "parking an undecodable record");
                return match &self.dead_letters {
                    Some(queue) => queue.park(body, &reason).await.map_err(|e| {
                        tracing::error!(message_id = %message_id, error = %e, "could not park the record");
                        failure()
                    }),
                    // Without a dead-letter queue, SQS's redrive policy takes it there.
                    None => Err(failure()),
                };
            }
        };
        let span = tracing::info_span!(
            "lead_batch",
            message_id = %message_id,
            tenant_id = %batch.tenant_id,
            import_id = %batch.job_id,
            batch = batch.batch,
        );
        let _entered = span.enter();
        match imports::ingest_batch(self.store.as_ref(), batch, chrono::Utc::now()).await {
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
                Err(failure())
            }
        }
    }
}
