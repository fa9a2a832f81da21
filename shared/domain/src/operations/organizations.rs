use super::with_optimistic_retry;
use crate::api_key::{Capability, Principal};
use crate::email::EmailDomain;
use crate::error::DomainError;
use crate::ids::OrganizationId;
use crate::organization::{NewOrganization, Organization, OrganizationPatch};
use crate::page::{Page, PageRequest};
use crate::ports::{AlreadyExists, Store};
use chrono::{DateTime, Utc};

const NOT_FOUND: DomainError = DomainError::NotFound { entity: "organization" };

fn domain_taken(existing: OrganizationId) -> DomainError {
    DomainError::Conflict {
        message: format!("organization {existing} already has this email_domain"),
        existing_id: Some(existing.to_string()),
    }
}

pub async fn create(
    store: &dyn Store,
    caller: &Principal,
    input: NewOrganization,
    now: DateTime<Utc>,
) -> Result<Organization, DomainError> {
    caller.require(Capability::WriteData)?;
    let organization = Organization::create(caller.tenant_id, input, now)?;
    store
        .insert_organization(&organization)
        .await?
        .map_err(|AlreadyExists(existing)| domain_taken(existing))?;
    Ok(organization)
}

pub async fn get(store: &dyn Store, caller: &Principal, id: OrganizationId) -> Result<Organization, DomainError> {
    caller.require(Capability::Read)?;
    store.get_organization(caller.tenant_id, id).await?.ok_or(NOT_FOUND)
}

/// Lists organisations, or finds the one with an exact email domain.
pub async fn list(
    store: &dyn Store,
    caller: &Principal,
    email_domain: Option<&str>,
    page: &PageRequest,
) -> Result<Page<Organization>, DomainError> {
    caller.require(Capability::Read)?;
    match email_domain {
        Some(raw) => {
            let domain = EmailDomain::parse(raw).map_err(|e| DomainError::invalid("email_domain", e))?;
            let found = store.find_organization_by_domain(caller.tenant_id, &domain).await?;
            Ok(Page {
                items: found.into_iter().collect(),
                next_cursor: None,
            })
        }
        None => Ok(store.list_organizations(caller.tenant_id, page).await?),
    }
}

pub async fn update(
    store: &dyn Store,
    caller: &Principal,
    id: OrganizationId,
    patch: OrganizationPatch,
    now: DateTime<Utc>,
) -> Result<Organization, DomainError> {
    caller.require(Capability::WriteData)?;
    with_optimistic_retry(|| async {
        let previous = store.get_organization(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
        let mut organization = previous.clone();
        organization.apply(patch.clone(), now)?;
        store
            .replace_organization(&organization, &previous)
            .await?
            .map_err(|AlreadyExists(existing)| domain_taken(existing))?;
        Ok(organization)
    })
    .await
}

pub async fn delete(store: &dyn Store, caller: &Principal, id: OrganizationId) -> Result<(), DomainError> {
    caller.require(Capability::WriteData)?;
    let organization = store.get_organization(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    store.delete_organization(&organization).await?;
    Ok(())
}

/// Links leads without an organisation to the one of their email domain,
/// creating it (named after the lead's company) when the tenant has none.
/// Free-mail and disposable domains are never organisations, and a lead
/// without an email (phone only) has no domain to link by.
pub async fn link_by_domain(
    store: &dyn Store,
    leads: &mut [crate::lead::Lead],
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    use std::collections::HashMap;
    let Some(tenant) = leads.first().map(|l| l.tenant_id) else {
        return Ok(());
    };
    let business_domain = |lead: &crate::lead::Lead| {
        let flags = lead.email_flags;
        (lead.organization_id.is_none() && !flags.free_mail && !flags.disposable)
            .then(|| EmailDomain::parse(lead.email.as_ref()?.domain()).ok())
            .flatten()
    };
    let mut wanted: Vec<EmailDomain> = leads.iter().filter_map(business_domain).collect();
    wanted.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(());
    }
    let mut known: HashMap<EmailDomain, OrganizationId> = store.organization_ids_by_domain(tenant, &wanted).await?;
    let missing: Vec<EmailDomain> = wanted.iter().filter(|d| !known.contains_key(*d)).cloned().collect();
    let mut created = Vec::with_capacity(missing.len());
    for domain in &missing {
        let example = leads.iter().find(|l| business_domain(l).as_ref() == Some(domain));
        let input = NewOrganization {
            name: example.and_then(|l| l.company_name.clone()),
            email_domain: domain.to_string(),
            website: None,
            linkedin_url: None,
            industry: example.and_then(|l| l.industry.clone()),
            size: None,
            employee_count: None,
            annual_revenue: None,
            country: None,
            city: None,
            timezone: None,
            phone: None,
            description: None,
            technologies: Vec::new(),
            social_profiles: Default::default(),
            custom_fields: Default::default(),
        };
        let Ok(mut organization) = Organization::create(tenant, input, now) else {
            continue;
        };
        organization.id = OrganizationId::for_domain(tenant, domain.as_str());
        created.push(organization);
    }
    // One batch for all new domains; a domain taken meanwhile gives its holder.
    let holders = store.insert_organizations(&created).await?;
    for (organization, holder) in created.iter().zip(holders) {
        known.insert(organization.email_domain.clone(), holder);
    }
    for lead in leads.iter_mut() {
        if let Some(domain) = business_domain(lead) {
            lead.organization_id = known.get(&domain).copied();
        }
    }
    Ok(())
}
