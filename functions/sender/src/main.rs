//! Lambda entry point of the sender function.

use cc_domain::clock::SystemClock;
use cc_domain::reply_address::ReplyAddresses;
use cc_domain::unsubscribe::{LinkSigner, SignedLinks};
use cc_store::{DynamoStore, SesMailer, SqsQueue};
use lambda_runtime::{LambdaEvent, service_fn};
use sender::Sender;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cc_runtime::init_tracing();
    let config = cc_runtime::aws_config().await;
    let table = cc_runtime::required_env("TABLE_NAME")?;
    let key = cc_runtime::secret(&config, "LINK_SIGNING_KEY", "LINK_SIGNING_KEY_SECRET_ARN").await?;
    let replies = match std::env::var("REPLY_DOMAIN").ok().filter(|d| !d.is_empty()) {
        Some(domain) => Some(ReplyAddresses::new(key.as_bytes(), &domain)?),
        None => None,
    };
    let links = SignedLinks::new(
        LinkSigner::new(key.as_bytes())?,
        &cc_runtime::required_env("PUBLIC_API_URL")?,
    );
    let sender = Sender {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table)),
        mailer: Arc::new(SesMailer::new(&config)),
        links: Arc::new(links),
        configuration_set_prefix: std::env::var("SES_CONFIGURATION_SET_PREFIX")
            .ok()
            .filter(|s| !s.is_empty()),
        clock: Arc::new(SystemClock),
        dead_letters: cc_runtime::required_env("SEND_DLQ_URL")
            .ok()
            .map(|url| SqsQueue::new(aws_sdk_sqs::Client::new(&config), url)),
        templates: Default::default(),
        replies,
    };
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| {
            let sender = sender.clone();
            async move { Ok::<_, lambda_runtime::Error>(sender.handle(event.payload).await) }
        },
    ))
    .await
}
