//! Local stand-in for SES receiving: what SES's receipt rule does for the
//! reply domain (store the raw message in the inbound bucket, then publish
//! its "Received" notification to the inbound topic), so `POST /dev/inbound`
//! and the SES simulator's auto-replies go down the deployed path
//! (S3 + SNS → SQS → the inbound function).

use chrono::{DateTime, Utc};
use mail_parser::{Address, MessageParser};
use serde_json::json;

/// The reply domain of local stacks (the template's `ReplyDomain` is empty by default).
pub const LOCAL_REPLY_DOMAIN: &str = "reply.localhost";

#[derive(Clone)]
pub struct LocalReceiving {
    s3: aws_sdk_s3::Client,
    sns: aws_sdk_sns::Client,
    bucket: String,
    topic_arn: String,
    domain: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("storing the message in the inbound bucket: {0}")]
    Store(String),
    #[error("publishing the receipt notification: {0}")]
    Publish(String),
}

impl LocalReceiving {
    pub fn new(config: &aws_config::SdkConfig, bucket: String, topic_arn: String, domain: &str) -> Self {
        Self {
            s3: aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build()),
            sns: aws_sdk_sns::Client::new(config),
            bucket,
            topic_arn,
            domain: domain.to_ascii_lowercase(),
        }
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Receives one raw message as SES would; returns SES's message id.
    pub async fn receive(&self, raw: Vec<u8>, now: DateTime<Utc>) -> Result<String, ReceiveError> {
        let message_id = uuid::Uuid::new_v4().simple().to_string();
        let key = format!("inbound/{message_id}");
        let recipients = self.recipients(&raw);
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(raw.into())
            .send()
            .await
            .map_err(|e| ReceiveError::Store(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
        let timestamp = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let notification = json!({
            "notificationType": "Received",
            "mail": {"timestamp": timestamp, "messageId": message_id, "source": "", "destination": recipients},
            "receipt": {
                "timestamp": timestamp,
                "recipients": recipients,
                "spamVerdict": {"status": "PASS"},
                "virusVerdict": {"status": "PASS"},
                "action": {"type": "S3", "topicArn": self.topic_arn, "bucketName": self.bucket,
                           "objectKeyPrefix": "inbound/", "objectKey": key}
            }
        });
        self.sns
            .publish()
            .topic_arn(&self.topic_arn)
            .message(notification.to_string())
            .send()
            .await
            .map_err(|e| ReceiveError::Publish(aws_sdk_sns::error::DisplayErrorContext(e).to_string()))?;
        Ok(message_id)
    }

    /// The envelope recipients SES would report: the message's addresses on the reply domain.
    fn recipients(&self, raw: &[u8]) -> Vec<String> {
        let Some(message) = MessageParser::default().parse_headers(raw) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for address in [message.to(), message.cc()].into_iter().flatten() {
            let list: Vec<_> = match address {
                Address::List(list) => list.iter().collect(),
                Address::Group(groups) => groups.iter().flat_map(|g| g.addresses.iter()).collect(),
            };
            for addr in list {
                if let Some(email) = addr.address() {
                    let email = email.to_ascii_lowercase();
                    if email.ends_with(&format!("@{}", self.domain)) {
                        found.push(email);
                    }
                }
            }
        }
        found
    }
}
