//! Reading outbound email records (seed R7).

use crate::api_key::{Capability, Principal};
use crate::error::DomainError;
use crate::ids::{CampaignId, LeadId};
use crate::outbound::OutboundEmail;
use crate::page::{Page, PageRequest};
use crate::ports::Store;

/// A campaign's emails by scheduled time.
pub async fn campaign_emails(
    store: &dyn Store,
    caller: &Principal,
    campaign: CampaignId,
    page: &PageRequest,
) -> Result<Page<OutboundEmail>, DomainError> {
    caller.require(Capability::Read)?;
    store
        .get_campaign(caller.tenant_id, campaign)
        .await?
        .ok_or(DomainError::NotFound { entity: "campaign" })?;
    Ok(store.list_campaign_emails(caller.tenant_id, campaign, page).await?)
}

/// A lead's emails in step order.
pub async fn lead_emails(
    store: &dyn Store,
    caller: &Principal,
    lead: LeadId,
) -> Result<Vec<OutboundEmail>, DomainError> {
    caller.require(Capability::Read)?;
    store
        .get_lead(caller.tenant_id, lead)
        .await?
        .ok_or(DomainError::NotFound { entity: "lead" })?;
    Ok(store.list_lead_emails(caller.tenant_id, lead).await?)
}
