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
