//! Organisations: the companies leads work for, one per email domain and tenant.

use crate::email::EmailDomain;
use crate::error::DomainError;
use crate::ids::{OrganizationId, TenantId};
use crate::input::{self, Patch, Problems};
use crate::schedule::Timezone;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: OrganizationId,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant_id: TenantId,
    pub name: String,
    /// Lower case, without a leading `@`; unique within the tenant.
    pub email_domain: EmailDomain,
    pub website: Option<String>,
    pub linkedin_url: Option<String>,
    pub industry: Option<String>,
    /// A size band as the source gives it, e.g. "11-50".
    pub size: Option<String>,
    pub employee_count: Option<u32>,
    pub annual_revenue: Option<u64>,
    pub country: Option<String>,
    pub city: Option<String>,
    /// IANA zone of the company's office: the sending window of its leads
    /// that have no zone of their own.
    #[serde(default)]
    pub timezone: Option<Timezone>,
    pub phone: Option<String>,
    pub description: Option<String>,
    // `default`: stored items leave empty collections out; responses always have them.
    #[schema(required = true)]
    #[serde(default)]
    pub technologies: Vec<String>,
    #[schema(value_type = Object, required = true)]
    #[serde(default)]
    pub social_profiles: Map<String, Value>,
    #[schema(value_type = Object, required = true)]
    #[serde(default)]
    pub custom_fields: Map<String, Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// `POST /v1/organizations` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganization {
    /// Defaults to the email domain.
    pub name: Option<String>,
    /// e.g. `acme.com` or `@acme.com`; stored lower case without the `@`.
    pub email_domain: String,
    pub website: Option<String>,
    pub linkedin_url: Option<String>,
    pub industry: Option<String>,
    pub size: Option<String>,
    pub employee_count: Option<u32>,
    pub annual_revenue: Option<u64>,
    pub country: Option<String>,
    pub city: Option<String>,
    /// IANA name, e.g. `Europe/Berlin`.
    pub timezone: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub technologies: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub social_profiles: Map<String, Value>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub custom_fields: Map<String, Value>,
}

/// `PATCH /v1/organizations/{id}` body: absent leaves a field, `null` clears it;
/// `social_profiles` and `custom_fields` are merged (RFC 7396).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub email_domain: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub website: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub linkedin_url: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub industry: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub size: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<u32>)]
    pub employee_count: Patch<u32>,
    #[serde(default)]
    #[schema(value_type = Option<u64>)]
    pub annual_revenue: Patch<u64>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub country: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub city: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timezone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[schema(value_type = Option<Vec<String>>)]
    pub technologies: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    pub social_profiles: Option<Map<String, Value>>,
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
}

const SHORT: usize = 200;
const LONG: usize = 4000;

fn technologies(list: Vec<String>) -> Result<Vec<String>, String> {
    if list.len() > 200 {
        return Err("at most 200 technologies".into());
    }
    let mut cleaned = Vec::with_capacity(list.len());
    for item in list {
        if let Some(item) = input::optional_text(Some(item), 100)? {
            if !cleaned.contains(&item) {
                cleaned.push(item);
            }
        }
    }
    Ok(cleaned)
}

impl Organization {
    pub fn create(tenant_id: TenantId, input: NewOrganization, now: DateTime<Utc>) -> Result<Self, DomainError> {
        let mut p = Problems::at("");
        let email_domain = p.check("email_domain", EmailDomain::parse(&input.email_domain));
        let name = p.check("name", input::optional_text(input.name, SHORT));
        let website = p.check("website", input::optional_url(input.website));
        let linkedin_url = p.check("linkedin_url", input::optional_url(input.linkedin_url));
        let industry = p.check("industry", input::optional_text(input.industry, SHORT));
        let size = p.check("size", input::optional_text(input.size, 50));
        let country = p.check("country", input::optional_text(input.country, 100));
        let city = p.check("city", input::optional_text(input.city, SHORT));
        let timezone = p.check("timezone", input.timezone.as_deref().map(Timezone::parse).transpose());
        let phone = p.check("phone", input::optional_text(input.phone, 50));
        let description = p.check("description", input::optional_text(input.description, LONG));
        let technologies = p.check("technologies", technologies(input.technologies));
        let social_profiles = p.check("social_profiles", input::bounded_object(input.social_profiles));
        let custom_fields = p.check("custom_fields", input::bounded_object(input.custom_fields));
        p.into_result().map_err(DomainError::Validation)?;
        let email_domain = email_domain.expect("checked above");
        Ok(Self {
            id: OrganizationId::generate(),
            tenant_id,
            name: name.flatten().unwrap_or_else(|| email_domain.to_string()),
            email_domain,
            website: website.flatten(),
            linkedin_url: linkedin_url.flatten(),
            industry: industry.flatten(),
            size: size.flatten(),
            employee_count: input.employee_count,
            annual_revenue: input.annual_revenue,
            country: country.flatten(),
            city: city.flatten(),
            timezone: timezone.flatten(),
            phone: phone.flatten(),
            description: description.flatten(),
            technologies: technologies.unwrap_or_default(),
            social_profiles: social_profiles.unwrap_or_default(),
            custom_fields: custom_fields.unwrap_or_default(),
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }

    pub fn apply(&mut self, patch: OrganizationPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        let mut p = Problems::at("");
        match patch.name {
            Patch::Absent => {}
            Patch::Null => self.name = self.email_domain.to_string(),
            Patch::Value(name) => {
                if let Some(name) = p.check("name", input::required_text(&name, SHORT)) {
                    self.name = name;
                }
            }
        }
        p.check(
            "email_domain",
            patch
                .email_domain
                .apply_required(&mut self.email_domain, |raw| EmailDomain::parse(&raw)),
        );
        for (field, target, value, max) in [
            ("industry", &mut self.industry, patch.industry, SHORT),
            ("size", &mut self.size, patch.size, 50),
            ("country", &mut self.country, patch.country, 100),
            ("city", &mut self.city, patch.city, SHORT),
            ("phone", &mut self.phone, patch.phone, 50),
            ("description", &mut self.description, patch.description, LONG),
        ] {
            p.check(field, input::patch_text(target, value, max));
        }
        p.check("website", input::patch_url(&mut self.website, patch.website));
        p.check(
            "linkedin_url",
            input::patch_url(&mut self.linkedin_url, patch.linkedin_url),
        );
        p.check(
            "timezone",
            patch
                .timezone
                .apply_optional(&mut self.timezone, |name| Timezone::parse(&name).map(Some)),
        );
        patch.employee_count.apply_plain(&mut self.employee_count);
        patch.annual_revenue.apply_plain(&mut self.annual_revenue);
        if let Some(list) = patch.technologies {
            if let Some(list) = p.check("technologies", technologies(list)) {
                self.technologies = list;
            }
        }
        p.check(
            "social_profiles",
            input::patch_object(&mut self.social_profiles, patch.social_profiles),
        );
        p.check(
            "custom_fields",
            input::patch_object(&mut self.custom_fields, patch.custom_fields),
        );
        p.into_result().map_err(DomainError::Validation)?;
        self.updated_at = now;
        self.version += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn new_org(value: Value) -> Result<Organization, DomainError> {
        let input: NewOrganization = input::decode(value, "").unwrap();
        Organization::create(TenantId::generate(), input, Utc::now())
    }

    #[test]
    fn domain_is_normalised_and_names_default_to_it() {
        let org = new_org(json!({"email_domain": "@ACME.com"})).unwrap();
        assert_eq!(org.email_domain.as_str(), "acme.com");
        assert_eq!(org.name, "acme.com");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let DomainError::Validation(errors) =
            new_org(json!({"email_domain": "nodot", "website": "not a url", "name": "x".repeat(300)})).unwrap_err()
        else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["/email_domain", "/name", "/website"]);
    }

    #[test]
    fn patch_clears_and_merges() {
        let mut org =
            new_org(json!({"email_domain": "acme.com", "industry": "SaaS", "custom_fields": {"a": 1, "b": 2}}))
                .unwrap();
        let patch: OrganizationPatch = input::decode(
            json!({"industry": null, "custom_fields": {"a": null}, "employee_count": 40}),
            "",
        )
        .unwrap();
        org.apply(patch, Utc::now()).unwrap();
        assert_eq!(org.industry, None);
        assert_eq!(org.employee_count, Some(40));
        assert_eq!(Value::Object(org.custom_fields.clone()), json!({"b": 2}));
        assert_eq!(org.version, 2);
    }
}
