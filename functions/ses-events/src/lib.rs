//! The `ses-events` function, triggered by the queue that the SES events
//! topic feeds: each record is one SES event (in its SNS envelope). The rules
//! live in `cc_domain::operations::ses_events`; this handler decodes, applies
//! and reports failed records in `batchItemFailures`. A record that cannot be
//! decoded goes to the dead-letter queue at once, with the reason.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use cc_domain::clock::Clock;
use cc_domain::operations::ses_events::{self, EventOutcome};
use cc_domain::ports::Store;
use cc_domain::ses_event::decode_sqs_body;
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
        cc_runtime::each_sqs_record(event, |record| self.handle_record(record)).await
    }

    async fn handle_record(&self, record: SqsMessage) -> Result<(), ()> {
        let message_id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let decoded = match decode_sqs_body(body) {
            Ok(decoded) => decoded,
            Err(err) => {
                let reason = format!("not an SES event: {err}");
                let parked = park_undecodable(self.dead_letters.as_ref(), &message_id, body, &reason).await;
                return if parked { Ok(()) } else { Err(()) };
            }
        };
        let span = tracing::info_span!(
            "ses_event",
            tenant_id = decoded.event.tag("tenant_id").unwrap_or(""),
            email_id = decoded.event.tag("email_id").unwrap_or(""),
            event_type = decoded.event.event_type.as_str(),
            message_id = %message_id
        );
        async {
            match ses_events::apply(self.store.as_ref(), &decoded, self.clock.now()).await {
                Ok(EventOutcome::Unmatched(why)) => {
                    tracing::warn!(reason = why, "an SES event about no email of ours");
                    Ok(())
                }
                Ok(outcome) => {
                    tracing::info!(outcome = ?outcome, "SES event handled");
                    Ok(())
                }
                Err(err) => {
                    tracing::error!(error = %err, cause = ?std::error::Error::source(&err), "SES event failed; SQS retries it");
                    Err(())
                }
            }
        }
        .instrument(span)
        .await
    }
}
