//! The functions wired to a provisioned local stack exactly as their
//! `main.rs` wires them on Lambda, with each function's environment read from
//! template.yaml. The devstack binary and the integration tests both use it.

use crate::iam::{FunctionPolicy, PolicyCheck};
use crate::{DevstackError, LocalStack, Template};
use api::AppState;
use aws_config::SdkConfig;
use cc_domain::api_key::OperatorKey;
use cc_domain::clock::Clock;
use cc_domain::operations::sending::Delays;
use cc_domain::reply_address::ReplyAddresses;
use cc_domain::unsubscribe::LinkSigner;
use cc_domain::unsubscribe::SignedLinks;
use cc_store::{DynamoStore, S3Files, SesIdentities, SesMailer, SqsQueue};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One SQS event source mapping: the queue and the function it triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTrigger {
    pub logical_id: String,
    pub url: String,
    pub arn: String,
    /// At most this many records per invocation, as the template's `BatchSize` says.
    pub batch_size: i32,
}

impl QueueTrigger {
    /// The trigger of `function` on `queue`, as template.yaml declares it.
    fn of(template: &Template, stack: &LocalStack, function: &str, queue: &str) -> Result<QueueTrigger, DevstackError> {
        let batch_size = template
            .function_queues(function)
            .into_iter()
            .find(|(logical_id, _)| logical_id == queue)
            .map(|(_, batch_size)| batch_size)
            .ok_or_else(|| DevstackError::Template(format!("{function} has no SQS event source on {queue}")))?;
        let missing = || DevstackError::Template(format!("queue {queue} was not provisioned"));
        Ok(QueueTrigger {
            url: stack.queue_url(queue).ok_or_else(missing)?.to_string(),
            arn: stack.queue_arn(queue).ok_or_else(missing)?.to_string(),
            logical_id: queue.to_string(),
            batch_size,
        })
    }
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
    pub sender: sender::Sender,
    /// The send queue, which triggers the sender.
    pub send_trigger: QueueTrigger,
    pub ses_events: ses_events::SesEvents,
    /// The queue the SES events topic feeds, which triggers ses-events.
    pub ses_events_trigger: QueueTrigger,
    /// The inbound function's handler, wired as in Lambda, and its queue.
    pub inbound: inbound::handler::Inbound,
    pub inbound_trigger: QueueTrigger,
    /// What SES receiving does for the reply domain (S3 + the inbound topic).
    pub receiving: crate::inbound_mail::LocalReceiving,
    pub clock: Arc<dyn Clock>,
    /// The sender's mail service locally: the emulator's SES plus the events SES would publish.
    pub ses_simulator: Arc<crate::ses_simulator::SimulatedSes>,
}

fn variable(environment: &BTreeMap<String, String>, function: &str, name: &str) -> Result<String, DevstackError> {
    environment
        .get(name)
        .cloned()
        .ok_or_else(|| DevstackError::Template(format!("{function} has no {name} that resolves locally")))
}

/// What the local functions are wired with besides the stack itself.
#[derive(Clone)]
pub struct Wiring {
    pub operator_key: String,
    /// The unsubscribe-link signing key (on Lambda: LinkSigningKeySecret).
    pub link_key: String,
    /// Where the API answers: the base of the unsubscribe links in sent mail.
    pub public_url: String,
    /// The functions' time: settable, so the devstack can fast-forward and tests can fix it.
    pub clock: Arc<dyn Clock>,
}

/// One function's SDK clients: each refuses, as IAM would, a call the
/// function's policies in template.yaml do not allow (see `iam`).
struct FunctionClients {
    dynamodb: aws_sdk_dynamodb::Client,
    sqs: aws_sdk_sqs::Client,
    s3: aws_sdk_s3::Client,
    ses: aws_sdk_ses::config::Builder,
}

impl FunctionClients {
    fn of(
        config: &SdkConfig,
        dynamodb: &aws_sdk_dynamodb::Client,
        template: &Template,
        function: &str,
    ) -> Result<Self, DevstackError> {
        let check = PolicyCheck::new(FunctionPolicy::of(template, function)?);
        Ok(Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                dynamodb.config().to_builder().interceptor(check.clone()).build(),
            ),
            sqs: aws_sdk_sqs::Client::from_conf(
                aws_sdk_sqs::config::Builder::from(config)
                    .interceptor(check.clone())
                    .build(),
            ),
            s3: aws_sdk_s3::Client::from_conf(
                S3Files::client(config)
                    .config()
                    .to_builder()
                    .interceptor(check.clone())
                    .build(),
            ),
            ses: aws_sdk_ses::config::Builder::from(config).interceptor(check),
        })
    }

    fn store(&self, table: String) -> Arc<DynamoStore> {
        Arc::new(DynamoStore::new(self.dynamodb.clone(), table))
    }

    fn queue(&self, url: String) -> Arc<SqsQueue> {
        Arc::new(SqsQueue::new(self.sqs.clone(), url))
    }
}

impl LocalFunctions {
    pub fn wire(
        config: &SdkConfig,
        template: &Template,
        stack: &LocalStack,
        wiring: &Wiring,
    ) -> Result<Self, DevstackError> {
        Self::wire_with(config, aws_sdk_dynamodb::Client::new(config), template, stack, wiring)
    }

    /// `wire` with a given DynamoDB client (e.g. one that counts requests).
    pub fn wire_with(
        config: &SdkConfig,
        dynamodb: aws_sdk_dynamodb::Client,
        template: &Template,
        stack: &LocalStack,
        wiring: &Wiring,
    ) -> Result<Self, DevstackError> {
        let link_signer = LinkSigner::new(wiring.link_key.as_bytes())
            .map_err(|e| DevstackError::Template(format!("the link signing key: {e}")))?;
        // The devstack's own calls (queue delivery, as Lambda's event source
        // mappings; the harness's reads) are not a function's: unchecked clients.
        let sqs = aws_sdk_sqs::Client::new(config);
        let clients = |function: &str| FunctionClients::of(config, &dynamodb, template, function);

        let (environment, _) = stack.function_environment(template, "ApiFunction")?;
        let table = variable(&environment, "ApiFunction", "TABLE_NAME")?;
        let store = Arc::new(DynamoStore::new(dynamodb.clone(), table.clone()));
        let own = clients("ApiFunction")?;
        let api = AppState::new(
            own.store(table.clone()),
            OperatorKey::new(&wiring.operator_key),
            own.queue(variable(&environment, "ApiFunction", "LEAD_BATCH_QUEUE_URL")?),
            Arc::new(S3Files::new(
                own.s3.clone(),
                variable(&environment, "ApiFunction", "IMPORT_BUCKET")?,
            )),
            // The emulator's SES identity API (verification succeeds at once there).
            Arc::new(
                SesIdentities::new(aws_sdk_ses::Client::from_conf(own.ses.build()))
                    .with_configuration_sets(environment.get("SES_CONFIGURATION_SET_PREFIX").cloned())
                    .with_events_topic(environment.get("SES_EVENTS_TOPIC_ARN").cloned()),
            ),
            link_signer.clone(),
        )
        .with_clock(wiring.clock.clone());

        let (environment, _) = stack.function_environment(template, "IngestFunction")?;
        let own = clients("IngestFunction")?;
        let ingest = ingest::Ingest {
            store: own.store(variable(&environment, "IngestFunction", "TABLE_NAME")?),
            dead_letters: environment
                .get("LEAD_BATCH_DLQ_URL")
                .map(|url| SqsQueue::new(own.sqs.clone(), url)),
            uploads: Some(ingest::Uploads {
                files: Arc::new(S3Files::new(
                    own.s3.clone(),
                    variable(&environment, "IngestFunction", "IMPORT_BUCKET")?,
                )),
                lead_batches: own.queue(variable(&environment, "IngestFunction", "LEAD_BATCH_QUEUE_URL")?),
            }),
        };
        let ingest_triggers = template
            .function_queues("IngestFunction")
            .into_iter()
            .map(|(queue, _)| QueueTrigger::of(template, stack, "IngestFunction", &queue))
            .collect::<Result<_, DevstackError>>()?;

        let (environment, _) = stack.function_environment(template, "SchedulerFunction")?;
        let own = clients("SchedulerFunction")?;
        let scheduler = scheduler::Scheduler {
            store: own.store(variable(&environment, "SchedulerFunction", "TABLE_NAME")?),
            lead_batches: own.queue(variable(&environment, "SchedulerFunction", "LEAD_BATCH_QUEUE_URL")?),
            fetcher: Arc::new(scheduler::HttpSheetFetcher::new()),
            send_queue: own.queue(variable(&environment, "SchedulerFunction", "SEND_QUEUE_URL")?),
            delays: Delays::UntilSlot,
        };

        let (environment, _) = stack.function_environment(template, "SenderFunction")?;
        let own = clients("SenderFunction")?;
        // The emulator's SES publishes no events: the local SES simulator does, through the
        // tenant's configuration set (whose event destination is the template's topic).
        let ses_simulator = Arc::new(crate::ses_simulator::SimulatedSes::new(
            Arc::new(SesMailer::from_conf(own.ses.clone())),
            config,
            wiring.clock.clone(),
        ));
        // Replies come back to the template's reply domain, or locally to `reply.localhost`.
        let reply_domain = environment
            .get("REPLY_DOMAIN")
            .filter(|d| !d.is_empty())
            .cloned()
            .unwrap_or_else(|| crate::inbound_mail::LOCAL_REPLY_DOMAIN.to_string());
        let reply_addresses = ReplyAddresses::new(wiring.link_key.as_bytes(), &reply_domain)
            .map_err(|e| DevstackError::Template(format!("the link signing key: {e}")))?;
        let api = api.with_reply_addresses(reply_addresses.clone());
        let sender = sender::Sender {
            store: own.store(variable(&environment, "SenderFunction", "TABLE_NAME")?),
            mailer: ses_simulator.clone(),
            replies: Some(reply_addresses.clone()),
            links: Arc::new(SignedLinks::new(link_signer, &wiring.public_url)),
            configuration_set_prefix: environment
                .get("SES_CONFIGURATION_SET_PREFIX")
                .cloned()
                .filter(|s| !s.is_empty()),
            clock: wiring.clock.clone(),
            templates: Default::default(),
            dead_letters: environment
                .get("SEND_DLQ_URL")
                .map(|url| SqsQueue::new(own.sqs.clone(), url)),
        };
        let send_trigger = QueueTrigger::of(template, stack, "SenderFunction", "SendQueue")?;
        let (environment, _) = stack.function_environment(template, "SesEventsFunction")?;
        let own = clients("SesEventsFunction")?;
        let ses_events = ses_events::SesEvents {
            store: own.store(variable(&environment, "SesEventsFunction", "TABLE_NAME")?),
            clock: wiring.clock.clone(),
            dead_letters: environment
                .get("SES_EVENTS_DLQ_URL")
                .map(|url| SqsQueue::new(own.sqs.clone(), url)),
        };
        let ses_events_trigger = QueueTrigger::of(template, stack, "SesEventsFunction", "SesEventsQueue")?;
        let (environment, _) = stack.function_environment(template, "InboundFunction")?;
        let inbound_bucket = variable(&environment, "InboundFunction", "INBOUND_MAIL_BUCKET")?;
        let own = clients("InboundFunction")?;
        let inbound = inbound::handler::Inbound {
            store: own.store(variable(&environment, "InboundFunction", "TABLE_NAME")?),
            files: Arc::new(S3Files::new(own.s3.clone(), inbound_bucket.clone())),
            bucket: inbound_bucket.clone(),
            addresses: Arc::new(reply_addresses),
            classifier: Arc::new(cc_domain::inbound::RulesClassifier),
            clock: wiring.clock.clone(),
            dead_letters: environment
                .get("INBOUND_DLQ_URL")
                .map(|url| SqsQueue::new(own.sqs.clone(), url)),
        };
        let inbound_trigger = QueueTrigger::of(template, stack, "InboundFunction", "InboundQueue")?;
        let receiving = crate::inbound_mail::LocalReceiving::new(
            config,
            inbound_bucket,
            stack
                .topic_arn("InboundTopic")
                .ok_or_else(|| DevstackError::Template("InboundTopic was not provisioned".into()))?
                .to_string(),
            &reply_domain,
        );
        ses_simulator.receive_replies_with(receiving.clone());
        Ok(Self {
            store,
            sqs,
            api,
            inbound,
            inbound_trigger,
            receiving,
            ingest,
            scheduler,
            sender,
            ingest_triggers,
            send_trigger,
            ses_events,
            ses_events_trigger,
            clock: wiring.clock.clone(),
            ses_simulator,
        })
    }

    pub fn ingest_trigger(&self, queue_logical_id: &str) -> Option<&QueueTrigger> {
        self.ingest_triggers.iter().find(|t| t.logical_id == queue_logical_id)
    }

    /// One delivery round of the send queue to the sender (see `sqs_driver`).
    pub async fn deliver_to_sender(
        &self,
        wait_seconds: i32,
        retry_after_seconds: i32,
    ) -> Result<crate::sqs_driver::Delivery, aws_sdk_sqs::Error> {
        let sender = self.sender.clone();
        crate::sqs_driver::deliver_once(
            &self.sqs,
            &self.send_trigger,
            wait_seconds,
            retry_after_seconds,
            |event| async move { sender.handle(event).await },
        )
        .await
    }

    /// One delivery round of the SES events queue to the ses-events function.
    pub async fn deliver_to_ses_events(
        &self,
        wait_seconds: i32,
        retry_after_seconds: i32,
    ) -> Result<crate::sqs_driver::Delivery, aws_sdk_sqs::Error> {
        let handler = self.ses_events.clone();
        crate::sqs_driver::deliver_once(
            &self.sqs,
            &self.ses_events_trigger,
            wait_seconds,
            retry_after_seconds,
            |event| async move { handler.handle(event).await },
        )
        .await
    }

    /// Delivers the SES events queue until it is empty; the records handled.
    pub async fn drain_ses_events(&self) -> Result<usize, DevstackError> {
        let mut handled = 0;
        loop {
            let delivery = self
                .deliver_to_ses_events(0, 0)
                .await
                .map_err(|e| DevstackError::Template(format!("the SES events queue: {e}")))?;
            if delivery.received == 0 {
                return Ok(handled);
            }
            handled += delivery.received;
        }
    }

    /// One delivery round of the inbound queue to the inbound function.
    pub async fn deliver_to_inbound(
        &self,
        wait_seconds: i32,
        retry_after_seconds: i32,
    ) -> Result<crate::sqs_driver::Delivery, aws_sdk_sqs::Error> {
        let handler = self.inbound.clone();
        crate::sqs_driver::deliver_once(
            &self.sqs,
            &self.inbound_trigger,
            wait_seconds,
            retry_after_seconds,
            |event| async move { handler.handle(event).await },
        )
        .await
    }

    /// Delivers the inbound queue until it is empty; the records handled.
    pub async fn drain_inbound(&self) -> Result<usize, DevstackError> {
        let mut handled = 0;
        loop {
            let delivery = self
                .deliver_to_inbound(0, 0)
                .await
                .map_err(|e| DevstackError::Template(format!("the inbound queue: {e}")))?;
            if delivery.received == 0 {
                return Ok(handled);
            }
            handled += delivery.received;
        }
    }

    /// One scheduler tick at the clock's time, then the send queue to the
    /// sender until it is empty: what a minute of the deployed stack does.
    pub async fn run_minute(&self) -> Result<usize, DevstackError> {
        self.run_minute_with(&self.scheduler).await
    }

    /// `run_minute` with another scheduler (e.g. one whose jobs are not delayed).
    pub async fn run_minute_with(&self, scheduler: &scheduler::Scheduler) -> Result<usize, DevstackError> {
        scheduler
            .tick(self.clock.now())
            .await
            .map_err(|e| DevstackError::Template(format!("the scheduler tick failed: {e}")))?;
        let mut handled = 0;
        loop {
            let delivery = self
                .deliver_to_sender(0, 0)
                .await
                .map_err(|e| DevstackError::Template(format!("the send queue: {e}")))?;
            if delivery.received == 0 {
                // What SES reported about those sends, as its events arrive, and what came back.
                self.drain_ses_events().await?;
                self.drain_inbound().await?;
                return Ok(handled);
            }
            handled += delivery.received;
        }
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
            trigger,
            wait_seconds,
            retry_after_seconds,
            |event| async move { ingest.handle(event).await },
        )
        .await
    }
}
