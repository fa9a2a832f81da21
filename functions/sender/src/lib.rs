//! The `sender` function, triggered by the send queue: each record is one
//! send job (`SendJob`). The rules live in `cc_domain::operations::sending`;
//! this handler decodes, calls `send_email`, and reports failed records in
//! `batchItemFailures` so SQS retries only those. A record that cannot be
//! decoded goes to the dead-letter queue at once.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use cc_domain::clock::Clock;
use cc_domain::operations::sending::{self, SendContext, SendOutcome};
use cc_domain::outbound::SendJob;
use cc_domain::ports::{MailSender, Store, UnsubscribeLinks};
use cc_domain::reply_address::ReplyAddresses;
use cc_domain::template::TemplateCache;
use cc_store::SqsQueue;
use cc_store::park_undecodable;
use rand::SeedableRng;
use std::sync::Arc;
use tracing::Instrument;

#[derive(Clone)]
pub struct Sender {
    pub store: Arc<dyn Store>,
    pub mailer: Arc<dyn MailSender>,
    pub links: Arc<dyn UnsubscribeLinks>,
    /// `cc-<stage>-`: a tenant's configuration set is this plus its id.
    pub configuration_set_prefix: Option<String>,
    pub clock: Arc<dyn Clock>,
    pub dead_letters: Option<SqsQueue>,
    /// Compiled templates, kept across the invocations of a warm instance.
    pub templates: Arc<TemplateCache>,
    /// Signed reply addresses on the reply domain (`REPLY_DOMAIN`), when set up.
    pub replies: Option<ReplyAddresses>,
}

impl Sender {
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        cc_runtime::each_sqs_record(event, |record| self.handle_record(record)).await
    }

    async fn handle_record(&self, record: SqsMessage) -> Result<(), ()> {
        let message_id = record.message_id.clone().unwrap_or_default();
        let body = record.body.as_deref().unwrap_or_default();
        let job: SendJob = match serde_json::from_str(body) {
            Ok(job) => job,
            Err(err) => {
                let reason = format!("not a send job: {err}");
                let parked = park_undecodable(self.dead_letters.as_ref(), &message_id, body, &reason).await;
                return if parked { Ok(()) } else { Err(()) };
            }
        };
        let span = tracing::info_span!(
            "send",
            tenant_id = %job.tenant_id,
            email_id = %job.email_id,
            message_id = %message_id
        );
        self.send(&job).instrument(span).await.map(drop)
    }

    /// Sends one job; `Err` when SQS should deliver it again.
    pub async fn send(&self, job: &SendJob) -> Result<SendOutcome, ()> {
        let ctx = SendContext {
            store: self.store.as_ref(),
            mailer: self.mailer.as_ref(),
            links: self.links.as_ref(),
            configuration_set_prefix: self.configuration_set_prefix.as_deref(),
            templates: &self.templates,
            replies: self.replies.as_ref(),
        };
        let mut rng = rand::rngs::StdRng::from_os_rng();
        match sending::send_email(&ctx, job, self.clock.now(), &mut rng).await {
            Ok(outcome) => {
                match &outcome {
                    SendOutcome::Sent { .. } => tracing::info!("email sent"),
                    SendOutcome::Failed(reason) => tracing::warn!(reason = %reason, "email failed"),
                    other => tracing::info!(outcome = ?other, "send job handled"),
                }
                Ok(outcome)
            }
            Err(err) => {
                tracing::error!(error = %err, cause = ?std::error::Error::source(&err), "send job failed; SQS retries it");
                Err(())
            }
        }
    }
}
