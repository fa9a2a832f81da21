//! Sender identities in Amazon SES (API v1): asking SES to verify an address
//! (it mails the owner a link) and reading what it says about addresses.
//!
//! Both calls are SES control-plane calls, throttled at about one per second
//! per account; status reads ask about up to 100 identities per call.

use async_trait::async_trait;
use aws_sdk_ses::Client;
use aws_sdk_ses::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ses::types::VerificationStatus;
use cc_domain::StoreError;
use cc_domain::email::EmailAddress;
use cc_domain::mailbox::IdentityVerification;
use cc_domain::ports::SenderIdentities;
use std::collections::HashMap;

/// The most identities GetIdentityVerificationAttributes takes per call.
const IDENTITIES_PER_CALL: usize = 100;

#[derive(Clone)]
pub struct SesIdentities {
    client: Client,
}

impl SesIdentities {
    pub fn new(client: Client) -> Self {
        Self { client }
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
