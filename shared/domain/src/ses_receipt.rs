//! SES's notification that it received a message for the reply domain and
//! stored it in S3 (receipt rule S3 action with a topic): the SNS message
//! the `inbound` function's queue delivers. Own types; unknown fields ignored.

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptNotification {
    pub notification_type: String,
    pub mail: ReceivedMail,
    pub receipt: Receipt,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedMail {
    pub timestamp: DateTime<Utc>,
    pub message_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    #[serde(default)]
    pub recipients: Vec<String>,
    pub action: ReceiptAction,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptAction {
    #[serde(rename = "type")]
    pub kind: String,
    pub bucket_name: Option<String>,
    pub object_key: Option<String>,
}

/// A notification that is not what the receiving path expects.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("not JSON of an SNS notification or an SES receipt: {0}")]
    Json(#[from] serde_json::Error),
    #[error("a {0} notification, not a received message")]
    NotReceived(String),
    #[error("the receipt action stored no S3 object (action {0})")]
    NoObject(String),
}

/// What the function needs: SES's id of the message, where it is stored, when
/// it arrived and to which of our addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMail {
    pub ses_message_id: String,
    pub bucket: String,
    pub object_key: String,
    pub received_at: DateTime<Utc>,
    pub recipients: Vec<String>,
}

/// Decodes an SQS body: an SNS envelope (`Message` holds the notification) or
/// the notification itself (raw delivery).
pub fn decode_sqs_body(body: &str) -> Result<StoredMail, ReceiptError> {
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "Message")]
        message: String,
    }
    let notification: ReceiptNotification = match serde_json::from_str::<Envelope>(body) {
        Ok(envelope) => serde_json::from_str(&envelope.message)?,
        Err(_) => serde_json::from_str(body)?,
    };
    if notification.notification_type != "Received" {
        return Err(ReceiptError::NotReceived(notification.notification_type));
    }
    let action = notification.receipt.action;
    let (Some(bucket), Some(object_key)) = (action.bucket_name, action.object_key) else {
        return Err(ReceiptError::NoObject(action.kind));
    };
    Ok(StoredMail {
        ses_message_id: notification.mail.message_id,
        bucket,
        object_key,
        received_at: notification.mail.timestamp,
        recipients: notification.receipt.recipients,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn notification() -> serde_json::Value {
        json!({
            "notificationType": "Received",
            "mail": {"timestamp": "2026-03-02T10:00:00.000Z", "source": "ann@prospect.io",
                     "messageId": "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1", "destination": ["r1@reply.example.com"],
                     "headersTruncated": false, "headers": [], "commonHeaders": {}},
            "receipt": {"timestamp": "2026-03-02T10:00:00.000Z", "processingTimeMillis": 222,
                        "recipients": ["r1@reply.example.com"], "spamVerdict": {"status": "PASS"},
                        "virusVerdict": {"status": "PASS"}, "spfVerdict": {"status": "PASS"},
                        "dkimVerdict": {"status": "PASS"}, "dmarcVerdict": {"status": "PASS"},
                        "action": {"type": "S3", "topicArn": "arn:aws:sns:us-east-1:123456789012:inbound",
                                   "bucketName": "cc-inbound", "objectKeyPrefix": "inbound/",
                                   "objectKey": "inbound/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1"}}
        })
    }

    #[test]
    fn a_received_notification_decodes_wrapped_or_raw() {
        let raw = notification().to_string();
        let wrapped = json!({"Type": "Notification", "MessageId": "m", "Message": raw}).to_string();
        for body in [raw, wrapped] {
            let mail = decode_sqs_body(&body).unwrap();
            assert_eq!(mail.ses_message_id, "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1");
            assert_eq!(mail.bucket, "cc-inbound");
            assert_eq!(mail.object_key, "inbound/o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1");
            assert_eq!(mail.recipients, ["r1@reply.example.com"]);
        }
    }

    #[test]
    fn other_notifications_and_junk_are_refused() {
        let mut other = notification();
        other["notificationType"] = json!("AmazonSnsSubscriptionSucceeded");
        assert!(matches!(
            decode_sqs_body(&other.to_string()),
            Err(ReceiptError::NotReceived(_))
        ));
        let mut lambda = notification();
        lambda["receipt"]["action"] = json!({"type": "Lambda"});
        assert!(matches!(
            decode_sqs_body(&lambda.to_string()),
            Err(ReceiptError::NoObject(_))
        ));
        assert!(decode_sqs_body("not json").is_err());
    }
}
