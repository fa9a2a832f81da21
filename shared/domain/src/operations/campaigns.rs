use super::with_optimistic_retry;
use crate::api_key::{Capability, Principal};
use crate::campaign::{Campaign, CampaignAction, CampaignPatch, CampaignStatus, NewCampaign};
use crate::error::DomainError;
use crate::ids::CampaignId;
use crate::page::{Page, PageRequest};
use crate::ports::Store;
use chrono::{DateTime, Utc};

const NOT_FOUND: DomainError = DomainError::NotFound { entity: "campaign" };

pub async fn create(
    store: &dyn Store,
    caller: &Principal,
    input: NewCampaign,
    now: DateTime<Utc>,
) -> Result<Campaign, DomainError> {
    caller.require(Capability::WriteData)?;
    let campaign = Campaign::create(caller.tenant_id, input, now)?;
    store.insert_campaign(&campaign).await?;
    Ok(campaign)
}

pub async fn get(store: &dyn Store, caller: &Principal, id: CampaignId) -> Result<Campaign, DomainError> {
    caller.require(Capability::Read)?;
    store.get_campaign(caller.tenant_id, id).await?.ok_or(NOT_FOUND)
}

pub async fn list(
    store: &dyn Store,
    caller: &Principal,
    status: Option<CampaignStatus>,
    page: &PageRequest,
) -> Result<Page<Campaign>, DomainError> {
    caller.require(Capability::Read)?;
    Ok(store.list_campaigns(caller.tenant_id, status, page).await?)
}

pub async fn update(
    store: &dyn Store,
    caller: &Principal,
    id: CampaignId,
    patch: CampaignPatch,
    now: DateTime<Utc>,
) -> Result<Campaign, DomainError> {
    caller.require(Capability::WriteData)?;
    with_optimistic_retry(|| async {
        let mut campaign = store.get_campaign(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
        let expected = campaign.version;
        campaign.apply(patch.clone(), now)?;
        store.replace_campaign(&campaign, expected).await?;
        Ok(campaign)
    })
    .await
}

pub async fn transition(
    store: &dyn Store,
    caller: &Principal,
    id: CampaignId,
    action: CampaignAction,
    now: DateTime<Utc>,
) -> Result<Campaign, DomainError> {
    caller.require(Capability::WriteData)?;
    with_optimistic_retry(|| async {
        let mut campaign = store.get_campaign(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
        let expected = campaign.version;
        campaign.transition(action, now)?;
        store.replace_campaign(&campaign, expected).await?;
        Ok(campaign)
    })
    .await
}

/// Deletes a campaign that has no leads; one with leads must be archived
/// (its leads and their history stay) or emptied first.
pub async fn delete(store: &dyn Store, caller: &Principal, id: CampaignId) -> Result<(), DomainError> {
    caller.require(Capability::WriteData)?;
    store.get_campaign(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    if store.campaign_has_leads(caller.tenant_id, id).await? {
        return Err(DomainError::Conflict {
            message: "the campaign has leads; archive it instead, or delete its leads first".into(),
            existing_id: None,
        });
    }
    if !store.delete_campaign(caller.tenant_id, id).await? {
        return Err(NOT_FOUND);
    }
    Ok(())
}

/// The campaign that leads are being added to: it must exist, and an archived
/// campaign takes no new leads.
pub(crate) async fn taking_leads(
    store: &dyn Store,
    tenant: crate::ids::TenantId,
    id: CampaignId,
) -> Result<Campaign, DomainError> {
    let campaign = store.get_campaign(tenant, id).await?.ok_or(NOT_FOUND)?;
    if campaign.status == CampaignStatus::Archived {
        return Err(DomainError::InvalidTransition {
            status: campaign.status,
            action: "take new leads",
        });
    }
    Ok(campaign)
}
