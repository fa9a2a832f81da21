//! The functions wired to a provisioned local stack exactly as their
//! `main.rs` wires them on Lambda, with each function's environment read from
//! template.yaml. The devstack binary and the integration tests both use it.

use crate::{DevstackError, LocalStack, Template};
use api::AppState;
use aws_config::SdkConfig;
use cc_domain::api_key::OperatorKey;
use cc_domain::unsubscribe::LinkSigner;
use cc_store::{DynamoStore, S3Files, SesIdentities, SqsQueue};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One SQS event source mapping: the queue and the function it triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTrigger {
    pub logical_id: String,
    pub url: String,
    pub arn: String,
}

/// Every function of the backend, ready to be called.
#[derive(Clone)]
pub struct LocalFunctions {
    pub store: Arc<DynamoStore>,
    pub sqs: aws_sdk_sqs::Client,
    pub api: AppState,
    pub ingest: ingest::Ingest,
    pub scheduler: scheduler::Scheduler,
    /// The queues that trigger the ingest function.
    pub ingest_triggers: Vec<QueueTrigger>,
}

fn variable(environment: &BTreeMap<String, String>, function: &str, name: &str) -> Result<String, DevstackError> {
    environment
        .get(name)
        .cloned()
        .ok_or_else(|| DevstackError::Template(format!("{function} has no {name} that resolves locally")))
}

impl LocalFunctions {
    pub fn wire(
        config: &SdkConfig,
        template: &Template,
        stack: &LocalStack,
        operator_key: &str,
        link_key: &[u8],
    ) -> Result<Self, DevstackError> {
        Self::wire_with(
            config,
            aws_sdk_dynamodb::Client::new(config),
            template,
            stack,
            operator_key,
            link_key,
        )
    }

    /// `wire` with a given DynamoDB client (e.g. one that counts requests).
    pub fn wire_with(
        config: &SdkConfig,
        dynamodb: aws_sdk_dynamodb::Client,
        template: &Template,
        stack: &LocalStack,
        operator_key: &str,
        link_key: &[u8],
    ) -> Result<Self, DevstackError> {
        // On Lambda the key comes from Secrets Manager (LinkSigningKeySecret); locally the caller keeps one.
        let link_signer =
            LinkSigner::new(link_key).map_err(|e| DevstackError::Template(format!("the link signing key: {e}")))?;
        let sqs = aws_sdk_sqs::Client::new(config);
        let s3 = S3Files::client(config);
        let queue = |url: String| Arc::new(SqsQueue::new(sqs.clone(), url));

        let (environment, _) = stack.function_environment(template, "ApiFunction")?;
        let store = Arc::new(DynamoStore::new(
            dynamodb,
            variable(&environment, "ApiFunction", "TABLE_NAME")?,
        ));
        let api = AppState::new(
            store.clone(),
            OperatorKey::new(operator_key),
            queue(variable(&environment, "ApiFunction", "LEAD_BATCH_QUEUE_URL")?),
            Arc::new(S3Files::new(
                s3.clone(),
                variable(&environment, "ApiFunction", "IMPORT_BUCKET")?,
            )),
            // The emulator's SES identity API (verification succeeds at once there).
            Arc::new(SesIdentities::new(aws_sdk_ses::Client::new(config))),
            link_signer,
        );

        let (environment, _) = stack.function_environment(template, "IngestFunction")?;
        let ingest = ingest::Ingest {
            store: store.clone(),
            dead_letters: environment
                .get("LEAD_BATCH_DLQ_URL")
                .map(|url| SqsQueue::new(sqs.clone(), url)),
            uploads: Some(ingest::Uploads {
                files: Arc::new(S3Files::new(
                    s3,
                    variable(&environment, "IngestFunction", "IMPORT_BUCKET")?,
                )),
                lead_batches: queue(variable(&environment, "IngestFunction", "LEAD_BATCH_QUEUE_URL")?),
            }),
        };
        let ingest_triggers = template
            .function_queues("IngestFunction")
            .into_iter()
            .map(|logical_id| {
                let missing = || DevstackError::Template(format!("queue {logical_id} was not provisioned"));
                Ok(QueueTrigger {
                    url: stack.queue_url(&logical_id).ok_or_else(missing)?.to_string(),
                    arn: stack.queue_arn(&logical_id).ok_or_else(missing)?.to_string(),
                    logical_id,
                })
            })
            .collect::<Result<_, DevstackError>>()?;

        let (environment, _) = stack.function_environment(template, "SchedulerFunction")?;
        let scheduler = scheduler::Scheduler {
            store: store.clone(),
            lead_batches: queue(variable(&environment, "SchedulerFunction", "LEAD_BATCH_QUEUE_URL")?),
            fetcher: Arc::new(scheduler::HttpSheetFetcher::new()),
        };
        Ok(Self {
            store,
            sqs,
            api,
            ingest,
            scheduler,
            ingest_triggers,
        })
    }

    pub fn ingest_trigger(&self, queue_logical_id: &str) -> Option<&QueueTrigger> {
        self.ingest_triggers.iter().find(|t| t.logical_id == queue_logical_id)
    }

    /// One delivery round of a queue to the ingest function (see `sqs_driver`).
    pub async fn deliver_to_ingest(
        &self,
        trigger: &QueueTrigger,
        wait_seconds: i32,
        retry_after_seconds: i32,
    ) -> Result<crate::sqs_driver::Delivery, aws_sdk_sqs::Error> {
        let ingest = self.ingest.clone();
        crate::sqs_driver::deliver_once(
            &self.sqs,
            &trigger.url,
            &trigger.arn,
            wait_seconds,
            retry_after_seconds,
            |event| async move { ingest.handle(event).await },
        )
        .await
    }
}
