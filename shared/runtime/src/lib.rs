//! Lambda glue shared by the functions: configuration from the environment,
//! AWS clients, and structured JSON logs. Built once per cold start.

use aws_config::{BehaviorVersion, SdkConfig};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("could not read the operator key from Secrets Manager")]
    OperatorSecret(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the operator key secret is empty")]
    EmptyOperatorSecret,
    #[error("could not read the secret named by {0} from Secrets Manager")]
    Secret(&'static str, #[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the secret named by {0} is empty")]
    EmptySecret(&'static str),
}

pub fn required_env(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// JSON log lines (one object per event, current span fields included), as
/// CloudWatch Logs Insights reads them. `RUST_LOG` filters; default `info`.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(true)
        .with_ansi(false)
        .without_time() // Lambda stamps every line already.
        .try_init();
}

/// Human-readable logs for the local devstack.
pub fn init_dev_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,aws=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// The AWS configuration of the running function (region, credentials, and
/// `AWS_ENDPOINT_URL` when pointed at an emulator).
pub async fn aws_config() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
}

/// The operator's bearer key: `OPERATOR_API_KEY` when set (local stacks),
/// otherwise the Secrets Manager secret named by `OPERATOR_KEY_SECRET_ARN`.
pub async fn operator_key(config: &SdkConfig) -> Result<String, ConfigError> {
    if let Ok(key) = required_env("OPERATOR_API_KEY") {
        return Ok(key);
    }
    let arn = required_env("OPERATOR_KEY_SECRET_ARN")?;
    let client = aws_sdk_secretsmanager::Client::new(config);
    let secret = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| ConfigError::OperatorSecret(Box::new(e)))?;
    secret
        .secret_string()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or(ConfigError::EmptyOperatorSecret)
}

/// A secret string: the environment variable `local` when set (local stacks),
/// otherwise the Secrets Manager secret whose ARN is in `arn_variable`.
/// Read once per cold start, so the secret never sits in the function's configuration.
pub async fn secret(
    config: &SdkConfig,
    local: &'static str,
    arn_variable: &'static str,
) -> Result<String, ConfigError> {
    if let Ok(value) = required_env(local) {
        return Ok(value);
    }
    let arn = required_env(arn_variable)?;
    let secret = aws_sdk_secretsmanager::Client::new(config)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| ConfigError::Secret(arn_variable, Box::new(e)))?;
    secret
        .secret_string()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or(ConfigError::EmptySecret(arn_variable))
}

/// Formats an error with all its causes (`outer: cause: root`), for logs.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Runs `handle` on each record of an SQS event in turn and reports every
/// record it did not finish (`Err`) in `batchItemFailures`, so SQS retries
/// only those: an SQS-triggered function never acknowledges a failed record.
pub async fn each_sqs_record<F, Fut>(
    event: aws_lambda_events::sqs::SqsEvent,
    mut handle: F,
) -> aws_lambda_events::sqs::SqsBatchResponse
where
    F: FnMut(aws_lambda_events::sqs::SqsMessage) -> Fut,
    Fut: std::future::Future<Output = Result<(), ()>>,
{
    let mut failed = Vec::new();
    for record in event.records {
        let message_id = record.message_id.clone().unwrap_or_default();
        if handle(record).await.is_err() {
            failed.push(message_id);
        }
    }
    batch_failures(failed)
}

/// The response that has SQS retry exactly these records (by message id).
pub fn batch_failures(message_ids: impl IntoIterator<Item = String>) -> aws_lambda_events::sqs::SqsBatchResponse {
    let mut response = aws_lambda_events::sqs::SqsBatchResponse::default();
    for message_id in message_ids {
        let mut failure = aws_lambda_events::sqs::BatchItemFailure::default();
        failure.item_identifier = message_id;
        response.batch_item_failures.push(failure);
    }
    response
}
