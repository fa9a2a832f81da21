//! The `ses-events` function, triggered by the queue that the SES events
//! topic feeds: each record is one SES event (in its SNS envelope). The rules
//! live in `cc_domain::operations::ses_events`; this handler decodes the
//! batch, applies it as one (one read and one write per tenant, counters
//! included) and reports failed records in `batchItemFailures`. A record that
//! cannot be decoded goes to the dead-letter queue at once, with the reason.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use cc_domain::clock::Clock;
use cc_domain::operations::ses_events::{self, EventOutcome};
use cc_domain::ports::Store;
use cc_domain::ses_event::{SesEventRecord, decode_sqs_body};
use cc_store::{SqsQueue, park_undecodable};
use std::sync::Arc;
use tracing::Instrument;

#[derive(Clone)]
pub struct SesEvents {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub dead_letters: Option<SqsQueue>,
}

impl SesEvents {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let mut failed = Vec::new();
        let mut message_ids: Vec<String> = Vec::new();
        let mut records: Vec<SesEventRecord> = Vec::new();
        for record in event.records {
            let message_id = record.message_id.clone().unwrap_or_default();
            let body = record.body.as_deref().unwrap_or_default();
            match decode_sqs_body(body) {
                Ok(event) => {
                    message_ids.push(message_id);
                    records.push(event);
                }
                Err(err) => {
                    let reason = format!("not an SES event: {err}");
                    if !park_undecodable(self.dead_letters.as_ref(), &message_id, body, &reason).await {
                        failed.push(message_id);
                    }
                }
            }
        }
        let outcomes = ses_events::apply_batch(self.store.as_ref(), &records, self.clock.now())
            .instrument(tracing::info_span!("ses_events", events = records.len()))
            .await;
        for ((message_id, record), outcome) in message_ids.into_iter().zip(&records).zip(outcomes) {
            let span = tracing::info_span!(
                "ses_event",
                tenant_id = record.event.tag("tenant_id").unwrap_or(""),
                email_id = record.event.tag("email_id").unwrap_or(""),
                event_type = record.event.event_type.as_str(),
                message_id = %message_id
            );
            let _entered = span.enter();
            match outcome {
                Ok(EventOutcome::Unmatched(why)) => tracing::warn!(reason = why, "an SES event about no email of ours"),
                Ok(outcome) => tracing::info!(outcome = ?outcome, "SES event handled"),
                Err(err) => {
                    tracing::error!(error = %err, cause = ?std::error::Error::source(err.as_ref()), "SES event failed; SQS retries it");
                    failed.push(message_id);
                }
            }
        }
        cc_runtime::batch_failures(failed)
    }
}
