//! The local SES simulator: the emulator's SES accepts mail but publishes no
//! events, so locally the sender's mail service is wrapped by this one,
//! which, after each accepted message, publishes the events real SES would to
//! the template's SES events topic (SNS → SQS → the ses-events function):
//! `Send`, then what the SES mailbox simulator addresses produce.
//!
//! - `bounce@simulator.amazonses.com`: a permanent bounce (5.1.1);
//! - `complaint@simulator.amazonses.com`: delivery, then a complaint;
//! - `suppressionlist@simulator.amazonses.com`: a permanent bounce (on the suppression list);
//! - any other address (`success@…` included): delivery.

use async_trait::async_trait;
use cc_domain::clock::Clock;
use cc_domain::ports::{MailSender, RawSend, SendError};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use std::sync::Arc;

pub struct SimulatedSes {
    pub inner: Arc<dyn MailSender>,
    pub sns: aws_sdk_sns::Client,
    pub topic_arn: String,
    pub clock: Arc<dyn Clock>,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The events real SES publishes for a message to `to`, in order.
pub fn simulated_events(
    ses_message_id: &str,
    from: &str,
    to: &str,
    tags: &[(&'static str, String)],
    sent_at: DateTime<Utc>,
) -> Vec<Value> {
    let tags: serde_json::Map<String, Value> = tags
        .iter()
        .map(|(name, value)| (name.to_string(), json!([value])))
        .collect();
    let mail = json!({
        "timestamp": stamp(sent_at),
        "source": from,
        "sendingAccountId": "123456789012",
        "messageId": ses_message_id,
        "destination": [to],
        "headersTruncated": false,
        "tags": tags,
    });
    let event = |kind: &str, key: &str, detail: Value| {
        let mut event = json!({"eventType": kind, "mail": mail.clone()});
        event[key] = detail;
        event
    };
    let later = |seconds| stamp(sent_at + TimeDelta::seconds(seconds));
    let mut events = vec![event("Send", "send", json!({}))];
    let bounce = |sub_type: &str, status: &str, diagnostic: &str| {
        event(
            "Bounce",
            "bounce",
            json!({"bounceType": "Permanent", "bounceSubType": sub_type, "timestamp": later(1),
                   "feedbackId": format!("{ses_message_id}-bounce"),
                   "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": status,
                                          "diagnosticCode": diagnostic}]}),
        )
    };
    let delivery = event(
        "Delivery",
        "delivery",
        json!({"timestamp": later(1), "processingTimeMillis": 1000, "recipients": [to],
               "smtpResponse": "250 2.6.0 Message received"}),
    );
    match to.to_ascii_lowercase().as_str() {
        "bounce@simulator.amazonses.com" => events.push(bounce("General", "5.1.1", "smtp; 550 5.1.1 user unknown")),
        "suppressionlist@simulator.amazonses.com" => events.push(bounce(
            "OnAccountSuppressionList",
            "5.1.1",
            "Amazon SES did not send the message to this address because it is on the suppression list",
        )),
        "complaint@simulator.amazonses.com" => {
            events.push(delivery);
            events.push(event(
                "Complaint",
                "complaint",
                json!({"timestamp": later(60), "complaintFeedbackType": "abuse", "userAgent": "Amazon SES Mailbox Simulator",
                       "feedbackId": format!("{ses_message_id}-complaint"),
                       "complainedRecipients": [{"emailAddress": to}]}),
            ));
        }
        _ => events.push(delivery),
    }
    events
}

#[async_trait]
impl MailSender for SimulatedSes {
    async fn send_raw(&self, message: RawSend<'_>) -> Result<String, SendError> {
        let from = message.from.as_str().to_string();
        let to = message.to.as_str().to_string();
        let tags = message.tags.to_vec();
        let id = self.inner.send_raw(message).await?;
        for event in simulated_events(&id, &from, &to, &tags, self.clock.now()) {
            // The message was sent: a lost event is logged, not turned into a failed send.
            if let Err(err) = self
                .sns
                .publish()
                .topic_arn(&self.topic_arn)
                .message(event.to_string())
                .send()
                .await
            {
                tracing::warn!(error = %err, "the SES simulator could not publish an event");
            }
        }
        Ok(id)
    }
}
