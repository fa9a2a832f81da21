//! Email addresses, validated once at the edge.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A syntactically valid email address: trimmed, with its domain in lower
/// case. The local part keeps its case (RFC 5321 lets servers treat it as
/// case-sensitive), but [`EmailAddress::dedup_key`] compares whole addresses
/// case-insensitively, as every mainstream mail provider does.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, format = Email)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email is empty")]
    Empty,
    #[error("email is longer than 254 characters")]
    TooLong,
    #[error("email must look like name@example.com")]
    Malformed,
    #[error("email domain must contain a dot, e.g. example.com")]
    DomainWithoutDot,
}

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if trimmed.len() > 254 && trimmed.chars().count() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = trimmed.rsplit_once('@').ok_or(EmailError::Malformed)?;
        // Quoted local parts and IP-literal domains are legal but never seen in
        // prospect lists; rejecting them keeps the rest of the system simple.
        if local.is_empty()
            || local.len() > 64
            || local.contains('"')
            || local.contains(char::is_whitespace)
            || domain.starts_with('[')
        {
            return Err(EmailError::Malformed);
        }
        if !domain.contains('.') || domain.ends_with('.') || domain.starts_with('.') {
            return Err(EmailError::DomainWithoutDot);
        }
        // The address is built once, its domain lower-cased in place.
        let mut candidate = String::with_capacity(trimmed.len());
        candidate.push_str(local);
        candidate.push('@');
        let domain_at = candidate.len();
        candidate.push_str(domain);
        candidate[domain_at..].make_ascii_lowercase();
        if !email_address::EmailAddress::is_valid(&candidate) {
            return Err(EmailError::Malformed);
        }
        Ok(Self(candidate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    /// The form two addresses are compared in: the whole address in lower case.
    pub fn dedup_key(&self) -> String {
        self.dedup_form().into_owned()
    }

    /// [`EmailAddress::dedup_key`], borrowed when the address is in that form already.
    pub fn dedup_form(&self) -> std::borrow::Cow<'_, str> {
        if self.0.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
            std::borrow::Cow::Borrowed(&self.0)
        } else {
            std::borrow::Cow::Owned(self.0.to_lowercase())
        }
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Addresses are personal data: keep them out of debug output and logs.
impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress(<redacted>@{})", self.domain())
    }
}

/// An email domain as organisations are keyed by: lower case, no leading `@`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, example = "acme.com")]
pub struct EmailDomain(String);

impl EmailDomain {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let domain = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        if domain.is_empty() {
            return Err(EmailError::Empty);
        }
        if domain.len() > 253 {
            return Err(EmailError::TooLong);
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(EmailError::DomainWithoutDot);
        }
        // Reuse the address validator for the domain grammar.
        if !email_address::EmailAddress::is_valid(&format!("x@{domain}")) {
            return Err(EmailError::Malformed);
        }
        Ok(Self(domain))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailDomain {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailDomain> for String {
    fn from(value: EmailDomain) -> Self {
        value.0
    }
}

impl fmt::Display for EmailDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailDomain({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trims_and_lowercases_the_domain_only() {
        let email = EmailAddress::parse("  Jane.Doe@ACME.Com ").unwrap();
        assert_eq!(email.as_str(), "Jane.Doe@acme.com");
        assert_eq!(email.domain(), "acme.com");
        assert_eq!(email.dedup_key(), "jane.doe@acme.com");
    }

    #[test]
    fn rejects_what_is_not_an_address() {
        for bad in [
            "",
            "   ",
            "jane",
            "jane@",
            "@acme.com",
            "jane@acme",
            "ja ne@acme.com",
            "jane@@acme.com",
            "jane@acme..com",
            "\"j\"@acme.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn debug_output_hides_the_local_part() {
        let email = EmailAddress::parse("secret.person@acme.com").unwrap();
        assert!(!format!("{email:?}").contains("secret"));
    }

    #[test]
    fn domains_are_normalised() {
        assert_eq!(EmailDomain::parse(" @Acme.COM ").unwrap().as_str(), "acme.com");
        assert!(EmailDomain::parse("localhost").is_err());
        assert!(EmailDomain::parse("@").is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_is_idempotent(raw in "\\PC{0,80}") {
            if let Ok(email) = EmailAddress::parse(&raw) {
                let again = EmailAddress::parse(email.as_str()).unwrap();
                prop_assert_eq!(again, email);
            }
        }

        #[test]
        fn case_variants_share_a_dedup_key(local in "[a-zA-Z0-9._%+-]{1,20}", domain in "[a-z]{1,10}\\.[a-z]{2,5}") {
            prop_assume!(!local.starts_with('.') && !local.ends_with('.') && !local.contains(".."));
            let lower = EmailAddress::parse(&format!("{local}@{domain}")).unwrap();
            let upper = EmailAddress::parse(&format!("{}@{}", local.to_uppercase(), domain.to_uppercase())).unwrap();
            prop_assert_eq!(lower.dedup_key(), upper.dedup_key());
        }
    }
}
