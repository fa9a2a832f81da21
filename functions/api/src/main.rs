//! Lambda entry point: build clients and configuration once per cold start, then serve.

use api::AppState;
use cc_domain::api_key::OperatorKey;
use cc_domain::reply_address::ReplyAddresses;
use cc_domain::unsubscribe::LinkSigner;
use cc_store::{DynamoStore, S3Files, SesIdentities, SqsQueue};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    cc_runtime::init_tracing();
    let config = cc_runtime::aws_config().await;
    let table = cc_runtime::required_env("TABLE_NAME")?;
    let operator_key = OperatorKey::new(&cc_runtime::operator_key(&config).await?);
    let lead_batches = SqsQueue::new(
        aws_sdk_sqs::Client::new(&config),
        cc_runtime::required_env("LEAD_BATCH_QUEUE_URL")?,
    );
    let import_files = S3Files::new(S3Files::client(&config), cc_runtime::required_env("IMPORT_BUCKET")?);
    let link_key = cc_runtime::secret(&config, "LINK_SIGNING_KEY", "LINK_SIGNING_KEY_SECRET_ARN").await?;
    let link_signer = LinkSigner::new(link_key.as_bytes())?;
    let reply_domain = std::env::var("REPLY_DOMAIN").ok().filter(|d| !d.is_empty());
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table);
    let mut state = AppState::new(
        Arc::new(store),
        operator_key,
        Arc::new(lead_batches),
        Arc::new(import_files),
        Arc::new(
            SesIdentities::new(aws_sdk_ses::Client::new(&config))
                .with_configuration_sets(std::env::var("SES_CONFIGURATION_SET_PREFIX").ok())
                .with_events_topic(std::env::var("SES_EVENTS_TOPIC_ARN").ok()),
        ),
        link_signer,
    );
    if let Some(domain) = reply_domain {
        state = state.with_reply_addresses(ReplyAddresses::new(link_key.as_bytes(), &domain)?);
    }
    lambda_http::run(api::router(state)).await
}
