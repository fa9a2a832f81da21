//! Delivering SQS messages to a function's handler as Lambda's event source
//! mapping would, since the emulator does not trigger functions: receive up to
//! the trigger's batch size, hand them over as one `SqsEvent`, delete those the handler did
//! not report in `batchItemFailures`, and leave the failed ones for a retry.

use crate::functions::QueueTrigger;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use std::collections::HashSet;
use std::future::Future;

/// What one delivery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    pub received: usize,
    pub failed: usize,
}

/// One receive-and-handle round. Failed messages become visible again after
/// `retry_after_seconds` (Lambda waits for the visibility timeout; tests and
/// the devstack need not).
pub async fn deliver_once<F, Fut>(
    sqs: &Client,
    trigger: &QueueTrigger,
    wait_seconds: i32,
    retry_after_seconds: i32,
    handle: F,
) -> Result<Delivery, aws_sdk_sqs::Error>
where
    F: FnOnce(SqsEvent) -> Fut,
    Fut: Future<Output = SqsBatchResponse>,
{
    let received = sqs
        .receive_message()
        .queue_url(&trigger.url)
        .max_number_of_messages(trigger.batch_size.clamp(1, 10))
        .wait_time_seconds(wait_seconds)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .send()
        .await?;
    let messages = received.messages.unwrap_or_default();
    if messages.is_empty() {
        return Ok(Delivery::default());
    }
    let mut event = SqsEvent::default();
    for message in &messages {
        let mut record = SqsMessage::default();
        record.message_id = message.message_id.clone();
        record.receipt_handle = message.receipt_handle.clone();
        record.body = message.body.clone();
        record.md5_of_body = message.md5_of_body.clone();
        record.event_source = Some("aws:sqs".into());
        record.event_source_arn = Some(trigger.arn.clone());
        record.aws_region = Some("us-east-1".into());
        record.attributes = message
            .attributes
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(name, value)| (name.as_str().to_string(), value))
            .collect();
        event.records.push(record);
    }
    let response = handle(event).await;
    let failed: HashSet<String> = response
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect();
    for message in &messages {
        let (Some(id), Some(receipt)) = (&message.message_id, &message.receipt_handle) else {
            continue;
        };
        if failed.contains(id) {
            sqs.change_message_visibility()
                .queue_url(&trigger.url)
                .receipt_handle(receipt)
                .visibility_timeout(retry_after_seconds)
                .send()
                .await?;
        } else {
            sqs.delete_message()
                .queue_url(&trigger.url)
                .receipt_handle(receipt)
                .send()
                .await?;
        }
    }
    Ok(Delivery {
        received: messages.len(),
        failed: failed.len(),
    })
}
