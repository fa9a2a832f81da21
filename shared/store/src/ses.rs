//! Sender identities in Amazon SES (API v1): asking SES to verify an address
//! (it mails the owner a link) and reading what it says about addresses.
//!
//! Both calls are SES control-plane calls, throttled at about one per second
//! per account; status reads ask about up to 100 identities per call.

use async_trait::async_trait;
use aws_sdk_ses::Client;
use aws_sdk_ses::config::http::HttpResponse;
use aws_sdk_ses::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ses::operation::send_raw_email::SendRawEmailError;
use aws_sdk_ses::primitives::Blob;
use aws_sdk_ses::types::VerificationStatus;
use aws_sdk_ses::types::{EventDestination, EventType, MessageTag, RawMessage, SnsDestination};
use cc_domain::StoreError;
use cc_domain::email::EmailAddress;
use cc_domain::mailbox::IdentityVerification;
use cc_domain::ports::{MailSender, RawSend, SendError, SenderIdentities};
use cc_domain::tracking::TrackingSet;
use std::collections::HashMap;

/// The most identities GetIdentityVerificationAttributes takes per call.
const IDENTITIES_PER_CALL: usize = 100;

#[derive(Clone)]
pub struct SesIdentities {
    client: Client,
    /// `cc-<stage>-`: tenants' configuration sets are this plus the tenant id
    /// (and a suffix per tracking choice, `tracking::TrackingSet`).
    configuration_set_prefix: Option<String>,
    /// The SNS topic every configuration set publishes its events to.
    events_topic: Option<String>,
}

impl SesIdentities {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            configuration_set_prefix: None,
            events_topic: None,
        }
    }

    /// Each tenant's configuration set publishes its events to this topic.
    pub fn with_events_topic(mut self, topic_arn: Option<String>) -> Self {
        self.events_topic = topic_arn.filter(|t| !t.is_empty());
        self
    }

    /// Also creates each tenant's configuration sets, named with this prefix.
    pub fn with_configuration_sets(mut self, prefix: Option<String>) -> Self {
        self.configuration_set_prefix = prefix.filter(|p| !p.is_empty());
        self
    }
}

/// An SES failure as it may be logged: the operation and SES's error code
/// (e.g. `Throttling`), never SES's message, which can quote the address.
#[derive(Debug, thiserror::Error)]
#[error("{kind} ({})", .code.as_deref().unwrap_or("no error code"))]
struct SesFailure {
    kind: &'static str,
    code: Option<String>,
}

fn failure<E: ProvideErrorMetadata, R>(operation: &'static str) -> impl FnOnce(SdkError<E, R>) -> StoreError {
    move |err| {
        let kind = match &err {
            SdkError::ServiceError(_) => "SES refused the call",
            SdkError::TimeoutError(_) => "SES timed out",
            SdkError::DispatchFailure(_) => "SES could not be reached",
            _ => "SES failed",
        };
        let code = err.code().map(str::to_string);
        StoreError::backend(operation, SesFailure { kind, code })
    }
}

fn verification(status: &VerificationStatus) -> IdentityVerification {
    match status {
        VerificationStatus::Success => IdentityVerification::Verified,
        VerificationStatus::Failed => IdentityVerification::Failed,
        VerificationStatus::NotStarted => IdentityVerification::NotStarted,
        // Pending, TemporaryFailure (SES keeps trying) and values newer than this SDK.
        _ => IdentityVerification::Pending,
    }
}

#[async_trait]
impl SenderIdentities for SesIdentities {
    async fn request_verification(&self, email: &EmailAddress) -> Result<(), StoreError> {
        self.client
            .verify_email_identity()
            .email_address(email.as_str())
            .send()
            .await
            .map_err(failure("SES VerifyEmailIdentity"))?;
        Ok(())
    }

    async fn verification_status(
        &self,
        emails: &[EmailAddress],
    ) -> Result<HashMap<EmailAddress, IdentityVerification>, StoreError> {
        let mut found = HashMap::with_capacity(emails.len());
        for chunk in emails.chunks(IDENTITIES_PER_CALL) {
            let out = self
                .client
                .get_identity_verification_attributes()
                .set_identities(Some(chunk.iter().map(|e| e.as_str().to_string()).collect()))
                .send()
                .await
                .map_err(failure("SES GetIdentityVerificationAttributes"))?;
            // SES answers with the identities as asked; compare without case to be safe.
            let asked: HashMap<String, &EmailAddress> = chunk.iter().map(|e| (e.dedup_key(), e)).collect();
            for (identity, attributes) in out.verification_attributes() {
                if let Some(email) = asked.get(&identity.to_lowercase()) {
                    found.insert((*email).clone(), verification(attributes.verification_status()));
                }
            }
        }
        Ok(found)
    }

    async fn ensure_configuration_set(&self, tenant: cc_domain::ids::TenantId) -> Result<(), StoreError> {
        let Some(prefix) = &self.configuration_set_prefix else {
            return Ok(());
        };
        for set in TrackingSet::ALL {
            self.ensure_set(prefix, tenant, set).await?;
        }
        Ok(())
    }
}

impl SesIdentities {
    /// Creates one of the tenant's sets and its event destination (the
    /// stack's topic, with the set's event types); each step accepts "already
    /// exists", so a set made before its destination is completed.
    async fn ensure_set(
        &self,
        prefix: &str,
        tenant: cc_domain::ids::TenantId,
        set: TrackingSet,
    ) -> Result<(), StoreError> {
        let name = set.name(prefix, tenant);
        let config = aws_sdk_ses::types::ConfigurationSet::builder()
            .name(&name)
            .build()
            .map_err(|e| StoreError::backend("building a configuration set", e))?;
        match self
            .client
            .create_configuration_set()
            .configuration_set(config)
            .send()
            .await
        {
            Ok(_) => {}
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_configuration_set_already_exists_exception()) => {}
            Err(err) => return Err(failure("SES CreateConfigurationSet")(err)),
        }
        let Some(topic) = &self.events_topic else {
            return Ok(());
        };
        let destination = EventDestination::builder()
            .name(set.destination_name(tenant))
            .enabled(true)
            .set_matching_event_types(Some(set.event_types().into_iter().map(EventType::from).collect()))
            .sns_destination(
                SnsDestination::builder()
                    .topic_arn(topic)
                    .build()
                    .map_err(|e| StoreError::backend("building an SNS event destination", e))?,
            )
            .build()
            .map_err(|e| StoreError::backend("building an event destination", e))?;
        match self
            .client
            .create_configuration_set_event_destination()
            .configuration_set_name(&name)
            .event_destination(destination)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_event_destination_already_exists_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(failure("SES CreateConfigurationSetEventDestination")(err)),
        }
    }
}

/// Sends raw messages with SES `SendRawEmail`.
///
/// The client never retries on its own: a retried send after a timeout could
/// deliver the email twice, and a cold email goes at most once. Throttling
/// comes back as [`SendError::Transient`] and the sender reschedules it with
/// backoff; a timeout or a lost response is [`SendError::Unknown`].
#[derive(Clone)]
pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self::from_conf(aws_sdk_ses::config::Builder::from(config))
    }

    /// From a client configuration of the caller's (e.g. with interceptors);
    /// retries are switched off all the same.
    pub fn from_conf(config: aws_sdk_ses::config::Builder) -> Self {
        let config = config.retry_config(aws_config::retry::RetryConfig::disabled()).build();
        Self {
            client: Client::from_conf(config),
        }
    }
}

/// SES error codes after which nothing was sent and a later try may work.
const RETRYABLE_CODES: [&str; 4] = [
    "Throttling",
    "ThrottlingException",
    "AccountSendingPausedException",
    "ConfigurationSetSendingPausedException",
];

fn send_error(err: SdkError<SendRawEmailError, HttpResponse>) -> SendError {
    let code = err.code().unwrap_or("no error code").to_string();
    match &err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            if RETRYABLE_CODES.contains(&code.as_str()) || err.message().is_some_and(|m| m.contains("rate exceeded")) {
                SendError::Transient(code)
            } else if status >= 500 {
                // SES may have taken the message before failing.
                SendError::Unknown(format!("SES answered {status} ({code})"))
            } else {
                SendError::Rejected(code)
            }
        }
        SdkError::ConstructionFailure(_) => SendError::Rejected("the request could not be built".into()),
        SdkError::TimeoutError(_) => SendError::Unknown("SES timed out".into()),
        _ => SendError::Unknown(format!("no answer from SES ({code})")),
    }
}

#[async_trait]
impl MailSender for SesMailer {
    async fn send_raw(&self, message: RawSend<'_>) -> Result<String, SendError> {
        let tags = message
            .tags
            .iter()
            .map(|(name, value)| {
                MessageTag::builder()
                    .name(*name)
                    .value(value)
                    .build()
                    .map_err(|_| SendError::Rejected(format!("message tag {name} is not valid")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let raw = RawMessage::builder()
            .data(Blob::new(message.raw))
            .build()
            .map_err(|_| SendError::Rejected("the raw message could not be built".into()))?;
        let out = self
            .client
            .send_raw_email()
            .source(message.from.as_str())
            .destinations(message.to.as_str())
            .raw_message(raw)
            .set_tags(Some(tags))
            .set_configuration_set_name(message.configuration_set)
            .send()
            .await
            .map_err(send_error)?;
        Ok(out.message_id().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ses_statuses_map_to_the_domain() {
        assert_eq!(
            verification(&VerificationStatus::Success),
            IdentityVerification::Verified
        );
        assert_eq!(verification(&VerificationStatus::Failed), IdentityVerification::Failed);
        assert_eq!(
            verification(&VerificationStatus::Pending),
            IdentityVerification::Pending
        );
        assert_eq!(
            verification(&VerificationStatus::TemporaryFailure),
            IdentityVerification::Pending
        );
        assert_eq!(
            verification(&VerificationStatus::NotStarted),
            IdentityVerification::NotStarted
        );
    }
}
