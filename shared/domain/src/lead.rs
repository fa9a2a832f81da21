//! Leads: one prospect in one campaign.

use crate::email::EmailAddress;
use crate::enrich::{self, EmailFlags};
use crate::error::DomainError;
use crate::ids::{CampaignId, ImportJobId, LeadId, OrganizationId, TenantId};
use crate::input::{self, Patch, Problems};
use crate::scoring::{self, ScoreTier};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeadStatus {
    New,
    Contacted,
    Replied,
    Interested,
    NotInterested,
    Bounced,
    Unsubscribed,
    Completed,
}

impl LeadStatus {
    pub const ALL: [LeadStatus; 8] = [
        LeadStatus::New,
        LeadStatus::Contacted,
        LeadStatus::Replied,
        LeadStatus::Interested,
        LeadStatus::NotInterested,
        LeadStatus::Bounced,
        LeadStatus::Unsubscribed,
        LeadStatus::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LeadStatus::New => "new",
            LeadStatus::Contacted => "contacted",
            LeadStatus::Replied => "replied",
            LeadStatus::Interested => "interested",
            LeadStatus::NotInterested => "not_interested",
            LeadStatus::Bounced => "bounced",
            LeadStatus::Unsubscribed => "unsubscribed",
            LeadStatus::Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// A bounced or unsubscribed address must never be mailed again, so
    /// nothing may move a lead out of these.
    pub fn is_final(self) -> bool {
        matches!(self, LeadStatus::Bounced | LeadStatus::Unsubscribed)
    }
}

impl fmt::Display for LeadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an imported lead came from. A retried batch recognises the leads it
/// already stored by it (lead ids depend on the address, not the row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LeadOrigin {
    pub import_id: ImportJobId,
    /// The row number in the file (1 is the header row).
    pub row: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Lead {
    pub id: LeadId,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant_id: TenantId,
    pub campaign_id: CampaignId,
    pub organization_id: Option<OrganizationId>,
    /// `null` for a lead reached only by phone: such a lead is never mailed.
    #[schema(required = true)]
    pub email: Option<EmailAddress>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company_name: Option<String>,
    pub job_title: Option<String>,
    /// E.164, e.g. `+4915112345678`.
    pub phone: Option<String>,
    pub website: Option<String>,
    pub linkedin_url: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    /// IANA time zone name, e.g. `Europe/Berlin`.
    pub timezone: Option<String>,
    pub industry: Option<String>,
    /// Where the lead came from (e.g. "csv", "api", "webinar-2026").
    pub source: Option<String>,
    pub notes: Option<String>,
    pub status: LeadStatus,
    /// 0–100: computed from the lead (see `score_reasons`) unless a client set it.
    pub score: Option<u8>,
    #[serde(default)]
    pub score_tier: Option<ScoreTier>,
    /// Why the score is what it is, e.g. "+30 executive title".
    // Texts that never change are shared by every lead, not copied into each.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub score_reasons: Vec<Cow<'static, str>>,
    /// What kind of address `email` is.
    #[serde(default)]
    pub email_flags: EmailFlags,
    // `default`: stored items leave empty maps out; responses always have them.
    #[schema(value_type = Object, required = true)]
    #[serde(default)]
    pub custom_fields: Map<String, Value>,
    /// AI-written lines keyed by name, used as template variables.
    #[schema(required = true)]
    #[serde(default)]
    pub personalization: BTreeMap<String, String>,
    /// The import row the lead was made from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<LeadOrigin>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// One lead of `POST /v1/campaigns/{id}/leads`: an `email`, or a `phone`
/// for a lead that is only called (it is never mailed), or both.
// Also what an import row maps to (`csv_import`), and how it travels on the
// lead-batch queue: written as the JSON object a client would send, with
// absent fields and empty maps left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkedin_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<OrganizationId>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[schema(value_type = Object)]
    pub custom_fields: Map<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub personalization: BTreeMap<String, String>,
}

/// `PATCH /v1/leads/{id}` body: absent leaves a field, `null` clears it;
/// `custom_fields` and `personalization` are merged (RFC 7396).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub first_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub last_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub company_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub job_title: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub website: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub linkedin_url: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub city: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub country: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timezone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub industry: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub source: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub notes: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<u8>)]
    pub score: Patch<u8>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub organization_id: Patch<OrganizationId>,
    pub status: Option<LeadStatus>,
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    pub personalization: Option<Map<String, Value>>,
}

const SHORT: usize = 200;
const MAX_NOTES: usize = 4000;
const MAX_PERSONALIZATION_VALUE: usize = 2000;

/// The country a phone number without `+` is dialled in: the lead's own if it
/// is a 2-letter code, else the campaign's default.
fn dialling_country<'a>(lead_country: Option<&'a str>, default_country: Option<&'a str>) -> Option<&'a str> {
    lead_country.filter(|c| c.trim().len() == 2).or(default_country)
}

/// What a lead is known by in its campaign when it has no email: its phone in E.164.
pub const PHONE_IDENTITY_PREFIX: &str = "tel:";

const NO_CONTACT: &str = "a lead needs an email or a phone";

/// A lead's identity from its normalised contact fields: the whole address
/// in lower case, else `tel:` and the E.164 phone. `None` when it has neither.
pub fn identity_of(email: Option<&EmailAddress>, phone: Option<&str>) -> Option<String> {
    match (email, phone) {
        (Some(email), _) => Some(email.dedup_key()),
        (None, Some(phone)) => Some(format!("{PHONE_IDENTITY_PREFIX}{phone}")),
        (None, None) => None,
    }
}

/// The identity an input lead object (API item, mapped CSV row) will have, if
/// its email or, without one, its phone is valid: how a file's repeats are
/// found before its rows are built into leads.
pub fn identity_of_input(lead: &Value, default_country: Option<&str>) -> Option<String> {
    let text = |field: &str| lead.get(field).and_then(Value::as_str);
    identity_of_texts(text("email"), text("phone"), text("country"), default_country)
}

impl NewLead {
    /// [`identity_of_input`] for a typed input (a mapped import row).
    pub fn identity(&self, default_country: Option<&str>) -> Option<String> {
        identity_of_texts(
            self.email.as_deref(),
            self.phone.as_deref(),
            self.country.as_deref(),
            default_country,
        )
    }
}

fn identity_of_texts(
    email: Option<&str>,
    phone: Option<&str>,
    country: Option<&str>,
    default_country: Option<&str>,
) -> Option<String> {
    fn text(value: Option<&str>) -> Option<&str> {
        value.filter(|v| !v.trim().is_empty())
    }
    if let Some(email) = text(email) {
        return EmailAddress::parse(email).ok().map(|e| e.dedup_key());
    }
    let phone = enrich::normalise_phone(text(phone)?, dialling_country(text(country), default_country)).ok()?;
    identity_of(None, Some(&phone))
}

fn score(value: u8) -> Result<u8, String> {
    if value > 100 {
        Err("must be between 0 and 100".into())
    } else {
        Ok(value)
    }
}

fn timezone(value: Option<String>) -> Result<Option<String>, String> {
    let value = input::optional_text(value, 64)?;
    if let Some(tz) = &value {
        // Full IANA validation comes with the scheduler; reject what is plainly not a zone name.
        let plausible =
            tz == "UTC" || (tz.contains('/') && tz.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c)));
        if !plausible {
            return Err("must be an IANA time zone such as Europe/Berlin".into());
        }
    }
    Ok(value)
}

fn personalization(map: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    if map.len() > 50 {
        return Err("at most 50 personalization lines".into());
    }
    for (key, value) in &map {
        if key.trim().is_empty() || key.len() > 64 {
            return Err("keys must be 1–64 characters".into());
        }
        if value.chars().count() > MAX_PERSONALIZATION_VALUE {
            return Err(format!(
                "`{key}` must be at most {MAX_PERSONALIZATION_VALUE} characters"
            ));
        }
    }
    Ok(map)
}

impl Lead {
    /// Validates one lead; field errors are reported below `base` (e.g.
    /// `/leads/3`). A phone without `+` is read in the lead's country (a
    /// 2-letter code), else in `default_country` (the campaign's).
    pub fn create(
        tenant_id: TenantId,
        campaign_id: CampaignId,
        input: NewLead,
        base: &str,
        now: DateTime<Utc>,
        default_country: Option<&str>,
    ) -> Result<Self, Vec<crate::FieldError>> {
        let mut p = Problems::at(base);
        // A blank email is no email: the lead may still be reached by phone.
        let email = input
            .email
            .filter(|raw| !raw.trim().is_empty())
            .and_then(|raw| p.check("email", EmailAddress::parse(&raw)));
        let text = |p: &mut Problems, field: &str, value: Option<String>, max: usize| {
            p.check(field, input::optional_text(value, max)).flatten()
        };
        let first_name = text(&mut p, "first_name", input.first_name, SHORT);
        let last_name = text(&mut p, "last_name", input.last_name, SHORT);
        let company_name = text(&mut p, "company_name", input.company_name, SHORT);
        let job_title = text(&mut p, "job_title", input.job_title, SHORT);
        let city = text(&mut p, "city", input.city, SHORT);
        let country = text(&mut p, "country", input.country, 100);
        let phone = text(&mut p, "phone", input.phone, 50).and_then(|raw| {
            p.check(
                "phone",
                enrich::normalise_phone(&raw, dialling_country(country.as_deref(), default_country)),
            )
        });
        let industry = text(&mut p, "industry", input.industry, SHORT);
        let source = text(&mut p, "source", input.source, SHORT);
        let notes = text(&mut p, "notes", input.notes, MAX_NOTES);
        let website = p.check("website", input::optional_url(input.website)).flatten();
        let linkedin_url = p
            .check("linkedin_url", input::optional_url(input.linkedin_url))
            .flatten();
        let timezone = p.check("timezone", timezone(input.timezone)).flatten();
        let score = input.score.and_then(|s| p.check("score", score(s)));
        let custom_fields = p.check("custom_fields", input::bounded_object(input.custom_fields));
        let personalization = p.check("personalization", personalization(input.personalization));
        // Without an email the phone is the identity; a phone refused above already says what is wrong.
        if email.is_none() && phone.is_none() && !p.has("email") && !p.has("phone") {
            p.add("email", NO_CONTACT);
        }
        p.into_result()?;
        // Borrowed when the address is already in its compared form (no copy per imported row).
        let identity = match (&email, &phone) {
            (Some(email), _) => email.dedup_form(),
            (None, Some(phone)) => Cow::Owned(format!("{PHONE_IDENTITY_PREFIX}{phone}")),
            (None, None) => return Err(vec![crate::FieldError::new(format!("{base}/email"), NO_CONTACT)]),
        };
        let id = LeadId::for_identity(campaign_id, &identity, 0);
        let email_flags = email
            .as_ref()
            .map(|_| enrich::classify_key(&identity))
            .unwrap_or_default();
        drop(identity);
        let mut lead = Self {
            id,
            tenant_id,
            campaign_id,
            organization_id: input.organization_id,
            email_flags,
            email,
            first_name,
            last_name,
            company_name,
            job_title,
            phone,
            website,
            linkedin_url,
            city,
            country,
            timezone,
            industry,
            source,
            notes,
            status: LeadStatus::New,
            score: None,
            score_tier: None,
            score_reasons: Vec::new(),
            custom_fields: custom_fields.unwrap_or_default(),
            personalization: personalization.unwrap_or_default(),
            origin: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        match score {
            Some(given) => lead.set_score(given, "score given by the client"),
            None => lead.rescore(),
        }
        Ok(lead)
    }

    /// What makes a lead unique in its campaign: its whole address, compared
    /// case-insensitively, or for a lead without one its E.164 phone
    /// (`tel:+4915112345678`). Every constructor ensures one of the two; a
    /// stored lead with neither (never written) would be known by its own id,
    /// a duplicate of nothing.
    pub fn identity(&self) -> String {
        identity_of(self.email.as_ref(), self.phone.as_deref()).unwrap_or_else(|| format!("id:{}", self.id))
    }

    /// The address to mail, if the lead has one.
    pub fn mail_address(&self) -> Option<&EmailAddress> {
        self.email.as_ref()
    }

    /// The id the lead gets at position `probe` of its identity's id chain.
    pub fn id_for_probe(&self, probe: u8) -> LeadId {
        LeadId::for_identity(self.campaign_id, &self.identity(), probe)
    }

    /// Recomputes the score from the lead's fields.
    pub fn rescore(&mut self) {
        let scored = scoring::score(self);
        self.score = Some(scored.score);
        self.score_tier = Some(scored.tier);
        self.score_reasons = scored.reasons;
    }

    fn set_score(&mut self, score: u8, why: &'static str) {
        self.score = Some(score);
        self.score_tier = Some(ScoreTier::of(score));
        self.score_reasons = vec![Cow::Borrowed(why)];
    }

    /// Applies a PATCH. Returns every field error at once and leaves the lead
    /// untouched when there is any.
    pub fn apply(&mut self, patch: LeadPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        let mut next = self.clone();
        let mut p = Problems::at("");
        let clears_email = matches!(patch.email, input::Patch::Null);
        let clears_phone = matches!(patch.phone, input::Patch::Null);
        p.check(
            "email",
            patch.email.apply_optional(&mut next.email, |raw| {
                if raw.trim().is_empty() {
                    Ok(None)
                } else {
                    EmailAddress::parse(&raw).map(Some)
                }
            }),
        );
        for (field, target, value, max) in [
            ("first_name", &mut next.first_name, patch.first_name, SHORT),
            ("last_name", &mut next.last_name, patch.last_name, SHORT),
            ("company_name", &mut next.company_name, patch.company_name, SHORT),
            ("job_title", &mut next.job_title, patch.job_title, SHORT),
            ("city", &mut next.city, patch.city, SHORT),
            ("country", &mut next.country, patch.country, 100),
            ("industry", &mut next.industry, patch.industry, SHORT),
            ("source", &mut next.source, patch.source, SHORT),
            ("notes", &mut next.notes, patch.notes, MAX_NOTES),
        ] {
            p.check(field, input::patch_text(target, value, max));
        }
        p.check("website", input::patch_url(&mut next.website, patch.website));
        p.check(
            "linkedin_url",
            input::patch_url(&mut next.linkedin_url, patch.linkedin_url),
        );
        p.check(
            "timezone",
            patch.timezone.apply_optional(&mut next.timezone, |v| timezone(Some(v))),
        );
        let country = next.country.clone();
        p.check(
            "phone",
            patch.phone.apply_optional(&mut next.phone, |raw| {
                input::optional_text(Some(raw), 50)?
                    .map(|raw| enrich::normalise_phone(&raw, dialling_country(country.as_deref(), None)))
                    .transpose()
            }),
        );
        let score_patch = patch.score;
        patch.organization_id.apply_plain(&mut next.organization_id);
        p.check(
            "custom_fields",
            input::patch_object(&mut next.custom_fields, patch.custom_fields),
        );
        if let Some(lines) = patch.personalization {
            for (key, value) in lines {
                match value {
                    Value::Null => {
                        next.personalization.remove(&key);
                    }
                    Value::String(text) => {
                        next.personalization.insert(key, text);
                    }
                    _ => p.add(&format!("personalization/{key}"), "must be a string or null"),
                }
            }
            if let Some(lines) = p.check("personalization", personalization(next.personalization.clone())) {
                next.personalization = lines;
            }
        }
        if next.email.is_none() && next.phone.is_none() && p.is_empty() {
            p.add(
                if clears_phone && !clears_email {
                    "phone"
                } else {
                    "email"
                },
                NO_CONTACT,
            );
        }
        next.email_flags = next.email.as_ref().map(enrich::classify).unwrap_or_default();
        match score_patch {
            input::Patch::Value(given) => {
                if let Some(given) = p.check("score", score(given)) {
                    next.set_score(given, "score set by hand");
                }
            }
            input::Patch::Null => next.rescore(),
            // A hand-set score stays; a computed one follows the changed fields.
            input::Patch::Absent if next.score_reasons.first().is_some_and(|r| r.starts_with("score ")) => {}
            input::Patch::Absent => next.rescore(),
        }
        p.into_result().map_err(DomainError::Validation)?;
        if let Some(status) = patch.status {
            next.change_status(status)?;
        }
        next.updated_at = now;
        next.version += 1;
        *self = next;
        Ok(())
    }

    pub fn change_status(&mut self, status: LeadStatus) -> Result<(), DomainError> {
        if self.status.is_final() && status != self.status {
            return Err(DomainError::Conflict {
                message: format!("a {} lead cannot become {}", self.status, status),
                existing_id: None,
            });
        }
        self.status = status;
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn lead(value: Value) -> Result<Lead, Vec<crate::FieldError>> {
        let input: NewLead = input::decode(value, "/leads/0").map_err(|e| vec![e])?;
        Lead::create(
            TenantId::generate(),
            CampaignId::generate(),
            input,
            "/leads/0",
            Utc::now(),
            None,
        )
    }

    #[test]
    fn a_valid_lead_is_normalised() {
        let l = lead(json!({"email": " Ann@ACME.io ", "first_name": " Ann ", "personalization": {"icebreaker": "Loved your talk"}})).unwrap();
        assert_eq!(l.email.as_ref().map(|e| e.as_str()), Some("Ann@acme.io"));
        assert_eq!(l.first_name.as_deref(), Some("Ann"));
        assert_eq!(l.status, LeadStatus::New);
    }

    #[test]
    fn errors_name_the_item_and_field() {
        let errors = lead(json!({"email": "nope", "score": 101, "timezone": "Mars time"})).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/leads/0/email", "/leads/0/timezone", "/leads/0/score"]);
        let errors = lead(json!({"email": "a@b.co", "favourite_colour": "red"})).unwrap_err();
        assert_eq!(errors[0].field, "/leads/0/favourite_colour");
        let errors = lead(json!({"email": "a@b.co", "personalization": {"x": 3}})).unwrap_err();
        assert_eq!(errors[0].field, "/leads/0/personalization/x");
    }

    #[test]
    fn leads_are_scored_and_classified() {
        let hot = lead(json!({"email": "ann@acme.com", "first_name": "Ann", "last_name": "Lee", "job_title": "CEO & Founder",
            "company_name": "Acme", "phone": "+1 415 555 2671", "source": "Webinar 2026", "custom_fields": {"Employees": "51-200"}}))
        .unwrap();
        assert_eq!(hot.phone.as_deref(), Some("+14155552671"));
        assert_eq!(hot.score_tier, Some(ScoreTier::Hot), "{:?}", hot.score_reasons);
        assert!(hot.score_reasons.iter().any(|r| r.contains("executive")));
        let cold = lead(json!({"email": "info@mailinator.com"})).unwrap();
        assert!(cold.email_flags.role && cold.email_flags.disposable);
        assert_eq!((cold.score, cold.score_tier), (Some(0), Some(ScoreTier::Cold)));
        let given = lead(json!({"email": "bob@acme.com", "score": 64})).unwrap();
        assert_eq!((given.score, given.score_tier), (Some(64), Some(ScoreTier::Warm)));
        let errors = lead(json!({"email": "bob@acme.com", "phone": "030 901820"})).unwrap_err();
        assert_eq!(errors[0].field, "/leads/0/phone");
        let german = lead(json!({"email": "bob@acme.com", "phone": "030 901820", "country": "DE"})).unwrap();
        assert_eq!(german.phone.as_deref(), Some("+4930901820"));
    }

    #[test]
    fn bounced_and_unsubscribed_are_final() {
        let mut l = lead(json!({"email": "a@b.co"})).unwrap();
        l.change_status(LeadStatus::Unsubscribed).unwrap();
        assert!(l.change_status(LeadStatus::New).is_err());
        assert_eq!(l.status, LeadStatus::Unsubscribed);
    }

    #[test]
    fn a_lead_without_email_is_known_by_its_e164_phone() {
        let tenant = TenantId::generate();
        let campaign = CampaignId::generate();
        let make = |value: Value| {
            let input: NewLead = input::decode(value, "/leads/0").unwrap();
            Lead::create(tenant, campaign, input, "/leads/0", Utc::now(), Some("DE"))
        };
        let international = make(json!({"phone": "+49 151 1234 5678", "first_name": "Ann"})).unwrap();
        assert_eq!(international.email, None);
        assert_eq!(international.phone.as_deref(), Some("+4915112345678"));
        assert_eq!(international.identity(), "tel:+4915112345678");
        assert_eq!(international.email_flags, EmailFlags::default());
        assert!(
            international
                .score_reasons
                .iter()
                .any(|r| r.contains("no email address"))
        );
        // The national form, read in the campaign's country, and a blank email are the same lead.
        let national = make(json!({"phone": "015112345678", "email": " "})).unwrap();
        assert_eq!(national.identity(), international.identity());
        assert_eq!(national.id, international.id);
        // Read in the lead's own country (it wins over the campaign's).
        let austrian = make(json!({"phone": "0664 1234567", "country": "AT"})).unwrap();
        assert_eq!(austrian.identity(), "tel:+436641234567");
        // Another campaign: another id for the same number.
        let input: NewLead = input::decode(json!({"phone": "+4915112345678"}), "").unwrap();
        let elsewhere = Lead::create(tenant, CampaignId::generate(), input, "", Utc::now(), None).unwrap();
        assert_ne!(elsewhere.id, international.id);
        // With an email, the email is the identity and the phone plays no part in it.
        let both = make(json!({"email": "Ann@Acme.com", "phone": "+4915112345678"})).unwrap();
        assert_eq!(both.identity(), "ann@acme.com");
        assert_eq!(both.id, LeadId::for_identity(campaign, "ann@acme.com", 0));
    }

    #[test]
    fn a_lead_needs_an_email_or_a_phone() {
        let errors = lead(json!({"first_name": "Ann"})).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "/leads/0/email");
        assert_eq!(errors[0].message, "a lead needs an email or a phone");
        let errors = lead(json!({"email": "", "phone": ""})).unwrap_err();
        assert_eq!(errors[0].field, "/leads/0/email");
        // A bad phone without an email is reported as the phone's problem alone.
        let errors = lead(json!({"phone": "12"})).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/leads/0/phone"]);
        // A bad email is refused even when the phone is good: it is not silently dropped.
        let errors = lead(json!({"email": "nope", "phone": "+4915112345678"})).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/leads/0/email"]);
        assert_eq!(errors[0].message, "email must look like name@example.com");
    }

    #[test]
    fn the_identity_of_an_input_row_matches_the_lead_it_makes() {
        for (row, identity) in [
            (
                json!({"email": "ANN@acme.com", "phone": "+4915112345678"}),
                Some("ann@acme.com"),
            ),
            (json!({"phone": "015112345678"}), Some("tel:+4915112345678")),
            (
                json!({"phone": "0664 1234567", "country": "AT"}),
                Some("tel:+436641234567"),
            ),
            (json!({"email": "broken", "phone": "+4915112345678"}), None),
            (json!({"phone": "12"}), None),
            (json!({"first_name": "Ann"}), None),
        ] {
            assert_eq!(identity_of_input(&row, Some("DE")).as_deref(), identity, "{row}");
            if let Some(identity) = identity {
                let input: NewLead = input::decode(row.clone(), "").unwrap();
                let lead = Lead::create(
                    TenantId::generate(),
                    CampaignId::generate(),
                    input,
                    "",
                    Utc::now(),
                    Some("DE"),
                );
                assert_eq!(lead.unwrap().identity(), identity);
            }
        }
    }

    #[test]
    fn patches_keep_an_email_or_a_phone() {
        let patch = |value: Value| -> LeadPatch { input::decode(value, "").unwrap() };
        let mut l = lead(json!({"email": "ann@acme.com", "phone": "+4915112345678"})).unwrap();
        l.apply(patch(json!({"email": null})), Utc::now()).unwrap();
        assert_eq!((l.email.as_ref(), l.identity().as_str()), (None, "tel:+4915112345678"));
        assert_eq!(l.email_flags, EmailFlags::default());
        let before = l.clone();
        let Err(DomainError::Validation(errors)) = l.apply(patch(json!({"phone": null})), Utc::now()) else {
            panic!("a lead with neither must be refused")
        };
        assert_eq!(errors[0].field, "/phone");
        assert_eq!(l, before);
        l.apply(patch(json!({"phone": "+1 415 555 2671"})), Utc::now()).unwrap();
        assert_eq!(l.identity(), "tel:+14155552671");
        l.apply(patch(json!({"email": "Bob@Acme.com", "phone": null})), Utc::now())
            .unwrap();
        assert_eq!((l.identity().as_str(), l.phone.as_deref()), ("bob@acme.com", None));
        let Err(DomainError::Validation(errors)) = l.apply(patch(json!({"email": null})), Utc::now()) else {
            panic!("a lead with neither must be refused")
        };
        assert_eq!(errors[0].field, "/email");
    }

    #[test]
    fn a_bad_patch_changes_nothing() {
        let mut l = lead(json!({"email": "a@b.co", "first_name": "Ann"})).unwrap();
        let before = l.clone();
        let patch: LeadPatch = input::decode(json!({"first_name": "Bea", "email": "broken"}), "").unwrap();
        assert!(l.apply(patch, Utc::now()).is_err());
        assert_eq!(l, before);
    }
}
