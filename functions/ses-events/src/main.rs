//! Lambda entry point of the ses-events function.

use cc_domain::clock::SystemClock;
use cc_store::{DynamoStore, SqsQueue};
use lambda_runtime::{LambdaEvent, service_fn};
use ses_events::SesEvents;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cc_runtime::init_tracing();
    let config = cc_runtime::aws_config().await;
    let table = cc_runtime::required_env("TABLE_NAME")?;
    let handler = SesEvents {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table)),
        clock: Arc::new(SystemClock),
        dead_letters: cc_runtime::required_env("SES_EVENTS_DLQ_URL")
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
