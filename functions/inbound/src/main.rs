//! Lambda entry point of the inbound function.

use cc_domain::clock::SystemClock;
use cc_domain::reply_address::ReplyAddresses;
use cc_store::{DynamoStore, S3Files, SqsQueue};
use inbound::handler::Inbound;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cc_runtime::init_tracing();
    cc_domain::inbound::warm_up();
    let config = cc_runtime::aws_config().await;
    let table = cc_runtime::required_env("TABLE_NAME")?;
    let bucket = cc_runtime::required_env("INBOUND_MAIL_BUCKET")?;
    let key = cc_runtime::secret(&config, "LINK_SIGNING_KEY", "LINK_SIGNING_KEY_SECRET_ARN").await?;
    // Empty when the stack receives no replies: then no message comes (no receipt rule).
    let domain = std::env::var("REPLY_DOMAIN").unwrap_or_default();
    let handler = Inbound {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table)),
        files: Arc::new(S3Files::new(aws_sdk_s3::Client::new(&config), bucket.clone())),
        bucket,
        addresses: Arc::new(ReplyAddresses::new(key.as_bytes(), &domain)?),
        classifier: Arc::new(cc_domain::inbound::RulesClassifier),
        clock: Arc::new(SystemClock),
        dead_letters: cc_runtime::required_env("INBOUND_DLQ_URL")
            .ok()
            .map(|url| SqsQueue::new(aws_sdk_sqs::Client::new(&config), url)),
    };
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| {
            let handler = handler.clone();
            async move { Ok::<_, lambda_runtime::Error>(handler.handle(event.payload).await) }
        },
    ))
    .await
}
