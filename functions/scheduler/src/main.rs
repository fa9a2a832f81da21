//! Lambda entry point of the scheduler function.

use cc_domain::operations::sending::Delays;
use cc_store::{DynamoStore, SqsQueue};
use lambda_runtime::{LambdaEvent, service_fn};
use scheduler::{HttpSheetFetcher, Scheduler};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cc_runtime::init_tracing();
    let config = cc_runtime::aws_config().await;
    let scheduler = Scheduler {
        store: Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&config),
            cc_runtime::required_env("TABLE_NAME")?,
        )),
        lead_batches: Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(&config),
            cc_runtime::required_env("LEAD_BATCH_QUEUE_URL")?,
        )),
        fetcher: Arc::new(HttpSheetFetcher::new()),
        send_queue: Arc::new(SqsQueue::new(
            aws_sdk_sqs::Client::new(&config),
            cc_runtime::required_env("SEND_QUEUE_URL")?,
        )),
        delays: Delays::UntilSlot,
    };
    lambda_runtime::run(service_fn(move |_tick: LambdaEvent<serde_json::Value>| {
        let scheduler = scheduler.clone();
        async move {
            let report = scheduler.tick(chrono::Utc::now()).await?;
            Ok::<_, lambda_runtime::Error>(serde_json::json!({
                "sends_enqueued": report.sends_enqueued,
                "sheets_polled": report.sheets_polled,
                "sheets_failed": report.sheets_failed,
            }))
        }
    }))
    .await
}
