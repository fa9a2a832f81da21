//! Lambda entry point of the ingest function.

use cc_store::{DynamoStore, S3Files, SqsQueue};
use ingest::{Ingest, Uploads};
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
    let uploads = Uploads {
        files: Arc::new(S3Files::new(
            S3Files::client(&config),
            cc_runtime::required_env("IMPORT_BUCKET")?,
        )),
        lead_batches: Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(&config),
            cc_runtime::required_env("LEAD_BATCH_QUEUE_URL")?,
        )),
    };
    let ingest = Ingest {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table)),
        dead_letters,
        uploads: Some(uploads),
    };
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<aws_lambda_events::sqs::SqsEvent>| {
            let ingest = ingest.clone();
            async move { Ok::<_, lambda_runtime::Error>(ingest.handle(event.payload).await) }
        },
    ))
    .await
}
