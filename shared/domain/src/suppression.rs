//! The suppression list: addresses and whole email domains a tenant must
//! never mail again. An entry is keyed by its target, so adding the same
//! target twice leaves one entry. Addresses compare case-insensitively
//! ([`EmailAddress::dedup_key`]); a domain entry covers every address at
//! exactly that domain (not its subdomains).

use crate::email::{EmailAddress, EmailDomain, EmailError};
use crate::error::DomainError;
use crate::ids::TenantId;
use crate::input::{self, Problems};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

pub const MAX_NOTE: usize = 500;

/// What an entry blocks: one address, or every address at a domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SuppressionTarget {
    Address(EmailAddress),
    Domain(EmailDomain),
}

impl SuppressionTarget {
    /// Reads a target as clients write it: text with an `@` is an address,
    /// anything else a domain.
    pub fn parse(value: &str) -> Result<Self, EmailError> {
        if value.contains('@') && !value.trim().starts_with('@') {
            EmailAddress::parse(value).map(Self::Address)
        } else {
            EmailDomain::parse(value).map(Self::Domain)
        }
    }

    /// The form entries are compared and stored in: a lower-case address or the domain.
    pub fn key(&self) -> String {
        match self {
            Self::Address(address) => address.dedup_key(),
            Self::Domain(domain) => domain.as_str().to_string(),
        }
    }

    /// Whether this entry blocks mail to `address`.
    pub fn matches(&self, address: &EmailAddress) -> bool {
        match self {
            Self::Address(own) => own.dedup_key() == address.dedup_key(),
            Self::Domain(domain) => address.domain() == domain.as_str(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// The recipient unsubscribed.
    Unsubscribed,
    /// Mail to the address bounced for good.
    Bounced,
    /// The recipient marked a message as spam.
    Complained,
    /// Added by hand (the default for API calls).
    Manual,
    /// Legal or customer request: never contact.
    DoNotContact,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionSource {
    /// The recipient's unsubscribe link (RFC 8058 one-click or the page).
    OneClick,
    /// A client of the API.
    Api,
    /// A bounce or complaint reported by SES.
    SesEvent,
    /// A reply that asked to stop.
    Inbound,
}

/// One entry of a tenant's suppression list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "SuppressionJson", try_from = "SuppressionJson")]
pub struct Suppression {
    pub tenant_id: TenantId,
    pub target: SuppressionTarget,
    pub reason: SuppressionReason,
    pub source: SuppressionSource,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// An entry of the suppression list. Exactly one of `email` and `domain` is
/// set; `value` repeats it (an address in lower case), and is what
/// `DELETE /v1/suppressions/{value}` takes. (Also the stored item's shape.)
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = Suppression)]
struct SuppressionJson {
    #[serde(skip_serializing)]
    #[schema(ignore)]
    tenant_id: TenantId,
    /// The suppressed address, or null for a domain entry.
    #[schema(value_type = Option<String>, format = Email)]
    email: Option<EmailAddress>,
    /// The suppressed domain, or null for an address entry.
    #[schema(value_type = Option<String>, example = "acme.com")]
    domain: Option<EmailDomain>,
    /// The address (lower case) or the domain: what `DELETE /v1/suppressions/{value}` takes.
    value: String,
    reason: SuppressionReason,
    source: SuppressionSource,
    note: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<Suppression> for SuppressionJson {
    fn from(entry: Suppression) -> Self {
        let value = entry.target.key();
        let (email, domain) = match entry.target {
            SuppressionTarget::Address(address) => (Some(address), None),
            SuppressionTarget::Domain(domain) => (None, Some(domain)),
        };
        Self {
            tenant_id: entry.tenant_id,
            email,
            domain,
            value,
            reason: entry.reason,
            source: entry.source,
            note: entry.note,
            created_at: entry.created_at,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a suppression holds exactly one of email and domain")]
pub struct NoTarget;

impl TryFrom<SuppressionJson> for Suppression {
    type Error = NoTarget;

    fn try_from(json: SuppressionJson) -> Result<Self, Self::Error> {
        let target = match (json.email, json.domain) {
            (Some(address), None) => SuppressionTarget::Address(address),
            (None, Some(domain)) => SuppressionTarget::Domain(domain),
            _ => return Err(NoTarget),
        };
        Ok(Self {
            tenant_id: json.tenant_id,
            target,
            reason: json.reason,
            source: json.source,
            note: json.note,
            created_at: json.created_at,
        })
    }
}

// The API documents an entry by its JSON shape.
impl utoipa::PartialSchema for Suppression {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <SuppressionJson as utoipa::PartialSchema>::schema()
    }
}

impl utoipa::ToSchema for Suppression {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Suppression")
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        <SuppressionJson as utoipa::ToSchema>::schemas(schemas);
    }
}

/// `POST /v1/suppressions` body: exactly one of `email` and `domain`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSuppression {
    /// An address to suppress.
    #[schema(format = Email)]
    pub email: Option<String>,
    /// A domain to suppress: every address at it.
    #[schema(example = "acme.com")]
    pub domain: Option<String>,
    /// Default `manual`.
    pub reason: Option<SuppressionReason>,
    /// At most 500 characters.
    pub note: Option<String>,
}

impl Suppression {
    /// An entry from a client's input, with every field problem at once.
    pub fn create(
        tenant_id: TenantId,
        input: NewSuppression,
        source: SuppressionSource,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        let mut p = Problems::at("");
        let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        let target = match (blank(input.email), blank(input.domain)) {
            (Some(_), Some(_)) => {
                p.add("domain", "give either email or domain, not both");
                None
            }
            (None, None) => {
                p.add("email", "give an email or a domain to suppress");
                None
            }
            (Some(email), None) => p.check("email", EmailAddress::parse(&email).map(SuppressionTarget::Address)),
            (None, Some(domain)) => p.check("domain", EmailDomain::parse(&domain).map(SuppressionTarget::Domain)),
        };
        let note = p.check("note", input::optional_text(input.note, MAX_NOTE)).flatten();
        p.into_result().map_err(DomainError::Validation)?;
        Ok(Self {
            tenant_id,
            target: target.expect("checked above"),
            reason: input.reason.unwrap_or(SuppressionReason::Manual),
            source,
            note,
            created_at: now,
        })
    }

    /// The entry a recipient's unsubscribe makes.
    pub fn unsubscribed(tenant_id: TenantId, address: EmailAddress, now: DateTime<Utc>) -> Self {
        Self {
            tenant_id,
            target: SuppressionTarget::Address(address),
            reason: SuppressionReason::Unsubscribed,
            source: SuppressionSource::OneClick,
            note: None,
            created_at: now,
        }
    }
}

/// The first entry of `entries` that blocks mail to `address`, if any.
pub fn matching<'a>(entries: &'a [Suppression], address: &EmailAddress) -> Option<&'a Suppression> {
    entries.iter().find(|e| e.target.matches(address))
}

/// Whether any of `entries` blocks mail to `address`.
pub fn is_suppressed(entries: &[Suppression], address: &EmailAddress) -> bool {
    matching(entries, address).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap()
    }

    fn create(value: serde_json::Value) -> Result<Suppression, Vec<crate::FieldError>> {
        let input: NewSuppression = input::decode(value, "").map_err(|e| vec![e])?;
        Suppression::create(TenantId::generate(), input, SuppressionSource::Api, now()).map_err(|e| match e {
            DomainError::Validation(errors) => errors,
            other => panic!("{other}"),
        })
    }

    fn fields(errors: Vec<crate::FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn an_entry_is_an_address_or_a_domain_never_both() {
        let entry = create(json!({"email": "Ann@Acme.com", "note": " asked by phone "})).unwrap();
        assert_eq!(entry.reason, SuppressionReason::Manual);
        assert_eq!(entry.note.as_deref(), Some("asked by phone"));
        assert_eq!(entry.target.key(), "ann@acme.com");
        let entry = create(json!({"domain": "@Acme.COM", "reason": "do_not_contact"})).unwrap();
        assert_eq!(
            entry.target,
            SuppressionTarget::Domain(EmailDomain::parse("acme.com").unwrap())
        );
        assert_eq!(entry.reason, SuppressionReason::DoNotContact);

        assert_eq!(
            fields(create(json!({"email": "a@b.co", "domain": "b.co"})).unwrap_err()),
            ["/domain"]
        );
        assert_eq!(fields(create(json!({})).unwrap_err()), ["/email"]);
        assert_eq!(
            fields(create(json!({"email": "nope", "note": "x".repeat(501)})).unwrap_err()),
            ["/email", "/note"]
        );
        assert_eq!(fields(create(json!({"domain": "a@b.co"})).unwrap_err()), ["/domain"]);
        assert_eq!(
            fields(create(json!({"email": "a@b.co", "reason": "spam"})).unwrap_err()),
            ["/reason"]
        );
    }

    #[test]
    fn json_names_the_target_once_and_reads_back() {
        let entry = create(json!({"email": "Ann@acme.com"})).unwrap();
        let value = serde_json::to_value(&entry).unwrap();
        assert_eq!(value["email"], "Ann@acme.com");
        assert_eq!(value["domain"], serde_json::Value::Null);
        assert_eq!(value["value"], "ann@acme.com");
        assert_eq!(value["source"], "api");
        assert!(value.get("tenant_id").is_none());
        let mut stored = value.clone();
        stored["tenant_id"] = json!(entry.tenant_id.to_string());
        assert_eq!(serde_json::from_value::<Suppression>(stored).unwrap(), entry);
    }

    #[test]
    fn addresses_match_case_insensitively_and_domains_exactly() {
        let tenant = TenantId::generate();
        let entry = |value: &str| Suppression {
            tenant_id: tenant,
            target: SuppressionTarget::parse(value).unwrap(),
            reason: SuppressionReason::Manual,
            source: SuppressionSource::Api,
            note: None,
            created_at: now(),
        };
        let list = [entry("ANN@acme.com"), entry("globex.com")];
        let address = |a: &str| EmailAddress::parse(a).unwrap();
        assert!(is_suppressed(&list, &address("ann@ACME.com")));
        assert!(!is_suppressed(&list, &address("bob@acme.com")));
        assert!(is_suppressed(&list, &address("bob@Globex.com")));
        assert!(!is_suppressed(&list, &address("bob@mail.globex.com")));
        assert_eq!(
            matching(&list, &address("x@globex.com")).map(|e| e.target.key()),
            Some("globex.com".into())
        );
    }
}
