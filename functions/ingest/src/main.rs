//! Lambda entry point of the ingest function.

use cc_store::{DynamoStore, SqsQueue};
use ingest::Ingest;
use lambda_runtime::{LambdaEvent, service_fn};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cc_runtime::init_tracing();
    let config = cc_runtime::aws_config().await;
    let table = cc_runtime::required_env("TABLE_NAME")?;
    let dead_letters = cc_runtime::required_env("LEAD_BATCH_DLQ_URL")
        .ok()
        .map(|url| SqsQueue::new(aws_sdk_sqs::Client::new(&config), url));
    let ingest = Ingest {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table)),
        dead_letters,
    };
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| {
            let ingest = ingest.clone();
            async move { Ok::<_, lambda_runtime::Error>(ingest.handle(event.payload).await) }
        },
    ))
    .await
}
