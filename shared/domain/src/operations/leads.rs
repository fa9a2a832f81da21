use super::with_optimistic_retry;
use crate::activity::Activity;
use crate::api_key::{Capability, Principal};
use crate::email::EmailAddress;
use crate::error::{DomainError, FieldError};
use crate::ids::{CampaignId, LeadId, OrganizationId};
use crate::input;
use crate::lead::{Lead, LeadPatch, LeadStatus, NewLead};
use crate::page::{Page, PageRequest};
use crate::ports::{AlreadyExists, LeadInsert, Store};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

pub const MAX_LEADS_PER_CALL: usize = 1000;

const NOT_FOUND: DomainError = DomainError::NotFound { entity: "lead" };

/// What happened to one submitted lead.
#[derive(Debug, Clone)]
pub enum LeadOutcome {
    Created(Box<Lead>),
    /// The campaign already has this address, or for a lead without one this
    /// phone (or an earlier item of the same call had it).
    Duplicate(LeadId),
    Invalid(Vec<FieldError>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Created,
    Duplicate,
    Invalid,
}

/// One entry of the bulk answer: `{"index", "status", "id"?, "errors"?}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeadItemResult {
    pub index: usize,
    pub status: ItemStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<LeadId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

impl LeadItemResult {
    pub fn new(index: usize, outcome: &LeadOutcome) -> Self {
        match outcome {
            LeadOutcome::Created(lead) => Self {
                index,
                status: ItemStatus::Created,
                id: Some(lead.id),
                errors: None,
            },
            LeadOutcome::Duplicate(id) => Self {
                index,
                status: ItemStatus::Duplicate,
                id: Some(*id),
                errors: None,
            },
            LeadOutcome::Invalid(errors) => Self {
                index,
                status: ItemStatus::Invalid,
                id: None,
                errors: Some(errors.clone()),
            },
        }
    }
}

/// How the submitted items are addressed in field errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// A single lead object: `/email`.
    Single,
    /// A batch: `/leads/3/email`.
    Batch,
}

impl Addressing {
    fn base(self, index: usize) -> String {
        match self {
            Addressing::Single => String::new(),
            Addressing::Batch => format!("/leads/{index}"),
        }
    }
}

/// Adds leads to a campaign. Every item is answered on its own; the good ones
/// are stored even when others are invalid or duplicates.
pub async fn add(
    store: &dyn Store,
    caller: &Principal,
    campaign_id: CampaignId,
    items: Vec<Value>,
    addressing: Addressing,
    now: DateTime<Utc>,
) -> Result<Vec<LeadOutcome>, DomainError> {
    caller.require(Capability::WriteData)?;
    if items.is_empty() {
        return Err(DomainError::invalid("/leads", "send at least one lead"));
    }
    if items.len() > MAX_LEADS_PER_CALL {
        return Err(DomainError::invalid(
            "/leads",
            format!("at most {MAX_LEADS_PER_CALL} leads per call; use an import for more"),
        ));
    }
    let campaign = super::campaigns::taking_leads(store, caller.tenant_id, campaign_id).await?;
    let default_country = campaign.default_country();

    let mut outcomes: Vec<LeadOutcome> = items
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            let base = addressing.base(index);
            match input::decode::<NewLead>(value, &base) {
                Ok(new_lead) => {
                    match Lead::create(caller.tenant_id, campaign_id, new_lead, &base, now, default_country) {
                        Ok(lead) => LeadOutcome::Created(Box::new(lead)),
                        Err(errors) => LeadOutcome::Invalid(errors),
                    }
                }
                Err(error) => LeadOutcome::Invalid(vec![error]),
            }
        })
        .collect();

    reject_unknown_organizations(store, caller, &mut outcomes, addressing).await?;

    // The first item with an identity (address, or phone without one) wins; later ones in the same call are
    // its duplicates.
    let mut first_with_identity: HashMap<String, usize> = HashMap::new();
    let mut to_store = Vec::new();
    let mut stored_index = Vec::new();
    let mut same_call_duplicate: Vec<(usize, usize)> = Vec::new();
    for (index, outcome) in outcomes.iter().enumerate() {
        if let LeadOutcome::Created(lead) = outcome {
            match first_with_identity.entry(lead.identity()) {
                std::collections::hash_map::Entry::Occupied(first) => same_call_duplicate.push((index, *first.get())),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(index);
                    to_store.push((**lead).clone());
                    stored_index.push(index);
                }
            }
        }
    }
    super::organizations::link_by_domain(store, &mut to_store, now).await?;
    for (lead, &index) in to_store.iter().zip(&stored_index) {
        if let LeadOutcome::Created(outcome) = &mut outcomes[index] {
            outcome.organization_id = lead.organization_id;
        }
    }
    let inserted = store.insert_leads(&mut to_store).await?;
    for ((index, result), stored) in stored_index.into_iter().zip(inserted).zip(&to_store) {
        match result {
            LeadInsert::Duplicate(existing) => outcomes[index] = LeadOutcome::Duplicate(existing),
            LeadInsert::Created => {
                if let LeadOutcome::Created(lead) = &mut outcomes[index] {
                    lead.id = stored.id;
                }
            }
        }
    }
    for (index, first) in same_call_duplicate {
        let holder = match &outcomes[first] {
            LeadOutcome::Created(lead) => lead.id,
            LeadOutcome::Duplicate(id) => *id,
            LeadOutcome::Invalid(_) => unreachable!("only stored items are first holders"),
        };
        outcomes[index] = LeadOutcome::Duplicate(holder);
    }
    Ok(outcomes)
}

async fn reject_unknown_organizations(
    store: &dyn Store,
    caller: &Principal,
    outcomes: &mut [LeadOutcome],
    addressing: Addressing,
) -> Result<(), DomainError> {
    let wanted: HashSet<OrganizationId> = outcomes
        .iter()
        .filter_map(|o| match o {
            LeadOutcome::Created(lead) => lead.organization_id,
            _ => None,
        })
        .collect();
    let mut missing = HashSet::new();
    for id in wanted {
        if store.get_organization(caller.tenant_id, id).await?.is_none() {
            missing.insert(id);
        }
    }
    for (index, outcome) in outcomes.iter_mut().enumerate() {
        if let LeadOutcome::Created(lead) = outcome {
            if lead.organization_id.is_some_and(|id| missing.contains(&id)) {
                let field = format!("{}/organization_id", addressing.base(index));
                *outcome = LeadOutcome::Invalid(vec![FieldError::new(field, "no such organization")]);
            }
        }
    }
    Ok(())
}

pub async fn get(store: &dyn Store, caller: &Principal, id: LeadId) -> Result<Lead, DomainError> {
    caller.require(Capability::Read)?;
    store.get_lead(caller.tenant_id, id).await?.ok_or(NOT_FOUND)
}

pub async fn list_in_campaign(
    store: &dyn Store,
    caller: &Principal,
    campaign_id: CampaignId,
    status: Option<LeadStatus>,
    page: &PageRequest,
) -> Result<Page<Lead>, DomainError> {
    caller.require(Capability::Read)?;
    store
        .get_campaign(caller.tenant_id, campaign_id)
        .await?
        .ok_or(DomainError::NotFound { entity: "campaign" })?;
    Ok(store
        .list_campaign_leads(caller.tenant_id, campaign_id, status, page)
        .await?)
}

/// Every lead of the tenant with this address, across campaigns.
pub async fn find_by_email(
    store: &dyn Store,
    caller: &Principal,
    email: &str,
    page: &PageRequest,
) -> Result<Page<Lead>, DomainError> {
    caller.require(Capability::Read)?;
    let email = EmailAddress::parse(email).map_err(|e| DomainError::invalid("email", e))?;
    Ok(store.find_leads_by_email(caller.tenant_id, &email, page).await?)
}

pub async fn update(
    store: &dyn Store,
    caller: &Principal,
    id: LeadId,
    patch: LeadPatch,
    now: DateTime<Utc>,
) -> Result<Lead, DomainError> {
    caller.require(Capability::WriteData)?;
    if let input::Patch::Value(org) = patch.organization_id {
        if store.get_organization(caller.tenant_id, org).await?.is_none() {
            return Err(DomainError::invalid("/organization_id", "no such organization"));
        }
    }
    with_optimistic_retry(|| async {
        let previous = store.get_lead(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
        let mut lead = previous.clone();
        lead.apply(patch.clone(), now)?;
        store
            .replace_lead(&lead, &previous)
            .await?
            .map_err(|AlreadyExists(existing)| DomainError::Conflict {
                message: format!(
                    "lead {existing} of this campaign already has this email (or, for a lead without one, this phone)"
                ),
                existing_id: Some(existing.to_string()),
            })?;
        Ok(lead)
    })
    .await
}

/// A lead's timeline, oldest first.
pub async fn activities(
    store: &dyn Store,
    caller: &Principal,
    id: LeadId,
    page: &PageRequest,
) -> Result<Page<Activity>, DomainError> {
    caller.require(Capability::Read)?;
    store.get_lead(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    Ok(store.list_lead_activities(caller.tenant_id, id, page).await?)
}

pub async fn delete(store: &dyn Store, caller: &Principal, id: LeadId) -> Result<(), DomainError> {
    caller.require(Capability::WriteData)?;
    super::with_optimistic_retry(|| async {
        let lead = store.get_lead(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
        store.delete_lead(&lead).await?;
        Ok(())
    })
    .await
}
