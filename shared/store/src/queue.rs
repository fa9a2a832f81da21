//! SQS adapters: the lead-batch queue, and parking undecodable messages on a
//! dead-letter queue.

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use cc_domain::StoreError;
use cc_domain::import::LeadBatch;
use cc_domain::outbound::SendJob;
use cc_domain::ports::{LeadBatchQueue, SendQueue};

/// SendMessageBatch takes 10 messages and 256 KB in all.
const MESSAGES_PER_CALL: usize = 10;
const BYTES_PER_CALL: usize = 250 * 1024;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends bodies in as few SendMessageBatch calls as the limits allow;
    /// entries SQS refuses are sent again once, then reported.
    pub async fn send_all(&self, bodies: Vec<String>) -> Result<(), StoreError> {
        self.send_delayed(bodies.into_iter().map(|b| (b, 0)).collect()).await
    }

    /// `send_all` with a delay (seconds, 0–900) per message.
    pub async fn send_delayed(&self, bodies: Vec<(String, u32)>) -> Result<(), StoreError> {
        let mut start = 0;
        while start < bodies.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < bodies.len()
                && end - start < MESSAGES_PER_CALL
                && (end == start || bytes + bodies[end].0.len() <= BYTES_PER_CALL)
            {
                bytes += bodies[end].0.len();
                end += 1;
            }
            let mut pending: Vec<(String, &(String, u32))> =
                (start..end).map(|i| (i.to_string(), &bodies[i])).collect();
            for attempt in 0..2 {
                let entries = pending
                    .iter()
                    .map(|(id, (body, delay))| {
                        SendMessageBatchRequestEntry::builder()
                            .id(id)
                            .message_body(body.as_str())
                            .delay_seconds((*delay).min(900) as i32)
                            .build()
                            .map_err(|e| StoreError::backend("building SendMessageBatch", e))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let out = self
                    .client
                    .send_message_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| StoreError::backend("SendMessageBatch", e))?;
                let failed: Vec<String> = out.failed().iter().map(|f| f.id().to_string()).collect();
                if failed.is_empty() {
                    break;
                }
                if attempt == 1 {
                    return Err(StoreError::backend("SendMessageBatch", Refused(failed.len())));
                }
                pending.retain(|(id, _)| failed.contains(id));
            }
            start = end;
        }
        Ok(())
    }

    /// Puts a message that cannot be processed on this (dead-letter) queue,
    /// with the reason as a message attribute.
    pub async fn park(&self, body: &str, reason: &str) -> Result<(), StoreError> {
        let reason = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(reason)
            .build()
            .map_err(|e| StoreError::backend("building a message attribute", e))?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .message_attributes("reason", reason)
            .send()
            .await
            .map_err(|e| StoreError::backend("SendMessage", e))?;
        Ok(())
    }
}

/// What an SQS-triggered function does with a record it cannot decode:
/// retrying cannot help, so it goes to the dead-letter queue at once, with
/// the reason. `false` when that failed (or there is no such queue): the
/// caller reports the record failed and the queue's redrive policy moves it.
pub async fn park_undecodable(dead_letters: Option<&SqsQueue>, message_id: &str, body: &str, reason: &str) -> bool {
    tracing::error!(message_id = %message_id, reason = %reason, "parking an undecodable record");
    let Some(queue) = dead_letters else {
        return false;
    };
    match queue.park(body, reason).await {
        Ok(()) => true,
        Err(err) => {
            tracing::error!(message_id = %message_id, error = %err, "could not park the record");
            false
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("SQS refused {0} messages twice")]
struct Refused(usize);

#[async_trait]
impl LeadBatchQueue for SqsQueue {
    async fn enqueue(&self, batches: &[LeadBatch]) -> Result<(), StoreError> {
        let bodies = batches
            .iter()
            .map(|b| serde_json::to_string(b).map_err(|e| StoreError::corrupt("encoding a lead batch", e)))
            .collect::<Result<Vec<_>, _>>()?;
        self.send_all(bodies).await
    }
}

#[async_trait]
impl SendQueue for SqsQueue {
    async fn enqueue_sends(&self, jobs: &[(SendJob, u32)]) -> Result<(), StoreError> {
        let bodies = jobs
            .iter()
            .map(|(job, delay)| {
                serde_json::to_string(job)
                    .map(|body| (body, *delay))
                    .map_err(|e| StoreError::corrupt("encoding a send job", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.send_delayed(bodies).await
    }
}
