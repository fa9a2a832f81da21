//! The `inbound` function's handler, triggered by the queue that the reply
//! domain's SNS topic feeds: each record is SES's notification that it stored
//! a received message in S3. The rules live in
//! `cc_domain::operations::replies`; this decodes, receives and reports failed
//! records in `batchItemFailures`. A record that is not such a notification
//! goes to the dead-letter queue at once, with the reason.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use cc_domain::clock::Clock;
use cc_domain::inbound::ReplyClassifier;
use cc_domain::operations::replies::{self, InboundContext, InboundOutcome};
use cc_domain::ports::{MailFiles, Store};
use cc_domain::reply_address::ReplyAddresses;
use cc_domain::ses_receipt::decode_sqs_body;
use cc_store::{SqsQueue, park_undecodable};
use std::sync::Arc;
use tracing::Instrument;

#[derive(Clone)]
pub struct Inbound {
    pub store: Arc<dyn Store>,
    pub files: Arc<dyn MailFiles>,
    /// The bucket the receipt rule stores messages in: notifications naming another are refused.
    pub bucket: String,
    pub addresses: Arc<ReplyAddresses>,
    pub classifier: Arc<dyn ReplyClassifier>,
    pub clock: Arc<dyn Clock>,
    pub dead_letters: Option<SqsQueue>,
}

impl Inbound {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        cc_runtime::each_sqs_record(event, |record| self.handle_record(record)).await
    }

    async fn handle_record(&self, record: SqsMessage) -> Result<(), ()> {
        let message_id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let mail = match decode_sqs_body(body) {
            Ok(mail) if mail.bucket == self.bucket => mail,
            Ok(_) => {
                let reason = "the message is stored in a bucket this function does not read";
                return self.park(&message_id, body, reason).await;
            }
            Err(err) => return self.park(&message_id, body, &err.to_string()).await,
        };
        let span = tracing::info_span!(
            "inbound",
            ses_message_id = %mail.ses_message_id,
            message_id = %message_id
        );
        let ctx = InboundContext {
            store: self.store.as_ref(),
            files: self.files.as_ref(),
            addresses: &self.addresses,
            classifier: self.classifier.as_ref(),
        };
        async {
            match replies::receive(&ctx, &mail, self.clock.now()).await {
                Ok(InboundOutcome::Unrouted) => {
                    tracing::warn!("a message for no tenant we can tell: kept as unrouted");
                    Ok(())
                }
                Ok(outcome) => {
                    tracing::info!(outcome = ?outcome, "inbound message handled");
                    Ok(())
                }
                Err(err) => {
                    tracing::error!(error = %err, cause = ?std::error::Error::source(&err), "inbound message failed; SQS retries it");
                    Err(())
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn park(&self, message_id: &str, body: &str, reason: &str) -> Result<(), ()> {
        if park_undecodable(self.dead_letters.as_ref(), message_id, body, reason).await {
            Ok(())
        } else {
            Err(())
        }
    }
}
