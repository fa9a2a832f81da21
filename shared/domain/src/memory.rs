//! An in-memory implementation of every port, for fast tests of the
//! operations and handlers. Same contracts as the DynamoDB adapter:
//! tenant-scoped, version-checked, uniqueness claims, tenant-bound cursors.

use crate::StoreError;
use crate::activity::Activity;
use crate::api_key::ApiKey;
use crate::campaign::{Campaign, CampaignStatus};
use crate::email::{EmailAddress, EmailDomain};
use crate::ids::{
    ApiKeyId, CampaignId, EmailId, ImportJobId, LeadId, LeadSourceId, MailboxId, OrganizationId, ReplyId, TemplateId,
    TenantId,
};
use crate::import::{BatchOutcome, ImportJob, ImportStatus, LeadBatch, RowError};
use crate::lead::{Lead, LeadStatus};
use crate::lead_source::LeadSource;
use crate::mailbox::{IdentityVerification, Mailbox};
use crate::organization::Organization;
use crate::outbound::{OutboundEmail, SendJob, SesMessageId, SesMessagePointer};
use crate::page::{Page, PageRequest};
use crate::ports::*;
use crate::reply::{Reply, ReplyFilter};
use crate::stats::{Counts, Scope, StatsDelta, Tally};
use crate::suppression::{Suppression, SuppressionTarget};
use crate::template::{Template, TemplateVersion};
use crate::tenant::Tenant;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

#[derive(Default)]
struct State {
    tenants: HashMap<TenantId, Tenant>,
    keys: BTreeMap<(TenantId, ApiKeyId), ApiKey>,
    campaigns: BTreeMap<(TenantId, CampaignId), Campaign>,
    organizations: BTreeMap<(TenantId, OrganizationId), Organization>,
    domains: HashMap<(TenantId, String), OrganizationId>,
    leads: BTreeMap<(TenantId, LeadId), Lead>,
    addresses: HashMap<(TenantId, CampaignId, String), LeadId>,
    taken_ids: std::collections::HashSet<(TenantId, LeadId)>,
    imports: HashMap<(TenantId, ImportJobId), (ImportJob, std::collections::BTreeSet<u32>)>,
    import_errors: BTreeMap<(TenantId, ImportJobId, u32), RowError>,
    /// Keyed by tenant and feed position; lead timelines filter it.
    activities: BTreeMap<(TenantId, String), Activity>,
    /// Where each activity sits in `activities`, so recording it again moves it.
    activity_positions: HashMap<(TenantId, uuid::Uuid), String>,
    stats: BTreeMap<(TenantId, Scope), (Tally, BTreeMap<NaiveDate, Counts>)>,
    replies: BTreeMap<(TenantId, ReplyId), Reply>,
    unrouted: Vec<(String, String)>,
    sources: BTreeMap<LeadSourceId, LeadSource>,
    mailboxes: BTreeMap<(TenantId, MailboxId), Mailbox>,
    mailbox_addresses: HashMap<(TenantId, String), MailboxId>,
    sender_owners: HashMap<String, TenantId>,
    templates: BTreeMap<(TenantId, TemplateId), Template>,
    template_versions: BTreeMap<(TenantId, TemplateId, u32), TemplateVersion>,
    emails: BTreeMap<(TenantId, LeadId, u32), OutboundEmail>,
    /// By SES message id, like the `SESMSG#` items.
    ses_pointers: HashMap<SesMessageId, SesMessagePointer>,
    bookings: HashMap<(TenantId, MailboxId), MailboxBookings>,
    /// Keyed like the DynamoDB items (`A#<address>` / `D#<domain>`), so listings come out in the same order.
    suppressions: BTreeMap<(TenantId, String), Suppression>,
}

impl State {
    fn add_stats(&mut self, tenant: TenantId, delta: &StatsDelta) {
        for ((scope, day), tally) in &delta.0 {
            let (totals, days) = self.stats.entry((tenant, *scope)).or_default();
            totals.merge(tally);
            days.entry(*day).or_default().merge(&tally.whole());
        }
    }

    fn record_lead_change(&mut self, previous: Option<&Lead>, next: Option<&Lead>, at: DateTime<Utc>) {
        let Some(tenant) = previous.or(next).map(|l| l.tenant_id) else {
            return;
        };
        self.add_stats(tenant, &StatsDelta::for_lead_change(previous, next, at));
    }
}

#[derive(Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("no test panicked while holding the store"))
    }
}

/// Pages `items` (already in order, keyed by their id text) after the cursor.
fn page<T: Clone>(
    tenant: TenantId,
    scope: &str,
    items: Vec<(String, T)>,
    request: &PageRequest,
) -> Result<Page<T>, StoreError> {
    let prefix = format!("{tenant}|{scope}|");
    let after = match &request.cursor {
        Some(cursor) => Some(
            cursor
                .0
                .strip_prefix(&prefix)
                .ok_or(StoreError::InvalidCursor)?
                .to_string(),
        ),
        None => None,
    };
    let mut rest: Vec<(String, T)> = items
        .into_iter()
        .filter(|(id, _)| after.as_ref().is_none_or(|a| id > a))
        .collect();
    let more = rest.len() > request.limit as usize;
    rest.truncate(request.limit as usize);
    let next_cursor = if more {
        rest.last().map(|(id, _)| format!("{prefix}{id}"))
    } else {
        None
    };
    Ok(Page {
        items: rest.into_iter().map(|(_, item)| item).collect(),
        next_cursor,
    })
}

#[async_trait]
impl TenantStore for MemoryStore {
    async fn create_tenant(&self, tenant: &Tenant, admin_key: &ApiKey) -> Result<(), StoreError> {
        self.with(|s| {
            s.tenants.insert(tenant.id, tenant.clone());
            s.keys.insert((tenant.id, admin_key.id), admin_key.clone());
        });
        Ok(())
    }

    async fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError> {
        Ok(self.with(|s| s.tenants.get(&id).cloned()))
    }
}

#[async_trait]
impl ApiKeyStore for MemoryStore {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError> {
        self.with(|s| s.keys.insert((key.tenant_id, key.id), key.clone()));
        Ok(())
    }

    async fn get_api_key(&self, tenant: TenantId, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError> {
        Ok(self.with(|s| s.keys.get(&(tenant, id)).cloned()))
    }

    async fn list_api_keys(&self, tenant: TenantId, request: &PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let items = self.with(|s| {
            s.keys
                .iter()
                .filter(|((t, _), _)| *t == tenant)
                .map(|((_, id), k)| (id.to_string(), k.clone()))
                .collect()
        });
        page(tenant, "keys", items, request)
    }

    async fn delete_api_key(&self, tenant: TenantId, id: ApiKeyId) -> Result<bool, StoreError> {
        Ok(self.with(|s| s.keys.remove(&(tenant, id)).is_some()))
    }

    async fn record_api_key_use(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
        unless_after: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if let Some(key) = s.keys.get_mut(&(tenant, id)) {
                if key.last_used_at.is_none_or(|last| last < unless_after) {
                    key.last_used_at = Some(at);
                }
            }
        });
        Ok(())
    }
}

#[async_trait]
impl CampaignStore for MemoryStore {
    async fn insert_campaign(&self, campaign: &Campaign) -> Result<(), StoreError> {
        self.with(|s| s.campaigns.insert((campaign.tenant_id, campaign.id), campaign.clone()));
        Ok(())
    }

    async fn get_campaign(&self, tenant: TenantId, id: CampaignId) -> Result<Option<Campaign>, StoreError> {
        Ok(self.with(|s| s.campaigns.get(&(tenant, id)).cloned()))
    }

    async fn list_campaigns(
        &self,
        tenant: TenantId,
        status: Option<CampaignStatus>,
        request: &PageRequest,
    ) -> Result<Page<Campaign>, StoreError> {
        let items = self.with(|s| {
            s.campaigns
                .iter()
                .filter(|((t, _), c)| *t == tenant && status.is_none_or(|st| c.status == st))
                .map(|((_, id), c)| (id.to_string(), c.clone()))
                .collect()
        });
        page(tenant, &format!("campaigns{status:?}"), items, request)
    }

    async fn replace_campaign(&self, campaign: &Campaign, expected_version: u64) -> Result<(), StoreError> {
        self.with(|s| match s.campaigns.get_mut(&(campaign.tenant_id, campaign.id)) {
            Some(stored) if stored.version == expected_version => {
                *stored = campaign.clone();
                Ok(())
            }
            _ => Err(StoreError::VersionConflict),
        })
    }

    async fn delete_campaign(&self, tenant: TenantId, id: CampaignId) -> Result<bool, StoreError> {
        Ok(self.with(|s| s.campaigns.remove(&(tenant, id)).is_some()))
    }

    async fn campaign_has_leads(&self, tenant: TenantId, id: CampaignId) -> Result<bool, StoreError> {
        Ok(self.with(|s| s.leads.iter().any(|((t, _), l)| *t == tenant && l.campaign_id == id)))
    }
}

#[async_trait]
impl OrganizationStore for MemoryStore {
    async fn insert_organization(
        &self,
        organization: &Organization,
    ) -> Result<Result<(), AlreadyExists<OrganizationId>>, StoreError> {
        Ok(self.with(|s| {
            let claim = (organization.tenant_id, organization.email_domain.to_string());
            if let Some(holder) = s.domains.get(&claim) {
                return Err(AlreadyExists(*holder));
            }
            s.domains.insert(claim, organization.id);
            s.organizations
                .insert((organization.tenant_id, organization.id), organization.clone());
            Ok(())
        }))
    }

    async fn insert_organizations(&self, organizations: &[Organization]) -> Result<Vec<OrganizationId>, StoreError> {
        let mut holders = Vec::with_capacity(organizations.len());
        for organization in organizations {
            let (tenant, domain) = (organization.tenant_id, organization.email_domain.as_str());
            let free = (0..8u8)
                .map(|probe| OrganizationId::for_domain_at(tenant, domain, probe))
                .find(|id| {
                    self.with(|s| {
                        s.organizations
                            .get(&(tenant, *id))
                            .is_none_or(|held| held.email_domain.as_str() == domain)
                    })
                })
                .ok_or_else(|| StoreError::backend("organisation id chain", std::fmt::Error))?;
            let organization = &Organization {
                id: free,
                ..organization.clone()
            };
            holders.push(match self.insert_organization(organization).await? {
                Ok(()) => organization.id,
                Err(AlreadyExists(holder)) => holder,
            });
        }
        Ok(holders)
    }

    async fn get_organization(&self, tenant: TenantId, id: OrganizationId) -> Result<Option<Organization>, StoreError> {
        Ok(self.with(|s| s.organizations.get(&(tenant, id)).cloned()))
    }

    async fn find_organization_by_domain(
        &self,
        tenant: TenantId,
        domain: &EmailDomain,
    ) -> Result<Option<Organization>, StoreError> {
        Ok(self.with(|s| {
            let id = s.domains.get(&(tenant, domain.to_string()))?;
            s.organizations.get(&(tenant, *id)).cloned()
        }))
    }

    async fn list_organizations(
        &self,
        tenant: TenantId,
        request: &PageRequest,
    ) -> Result<Page<Organization>, StoreError> {
        let items = self.with(|s| {
            s.organizations
                .iter()
                .filter(|((t, _), _)| *t == tenant)
                .map(|((_, id), o)| (id.to_string(), o.clone()))
                .collect()
        });
        page(tenant, "organizations", items, request)
    }

    async fn organization_ids_by_domain(
        &self,
        tenant: TenantId,
        domains: &[EmailDomain],
    ) -> Result<HashMap<EmailDomain, OrganizationId>, StoreError> {
        Ok(self.with(|s| {
            domains
                .iter()
                .filter_map(|d| s.domains.get(&(tenant, d.to_string())).map(|id| (d.clone(), *id)))
                .collect()
        }))
    }

    async fn replace_organization(
        &self,
        organization: &Organization,
        previous: &Organization,
    ) -> Result<Result<(), AlreadyExists<OrganizationId>>, StoreError> {
        self.with(|s| {
            let key = (organization.tenant_id, organization.id);
            if s.organizations.get(&key).map(|o| o.version) != Some(previous.version) {
                return Err(StoreError::VersionConflict);
            }
            let claim = (organization.tenant_id, organization.email_domain.to_string());
            if let Some(holder) = s.domains.get(&claim).filter(|h| **h != organization.id) {
                return Ok(Err(AlreadyExists(*holder)));
            }
            s.domains
                .remove(&(previous.tenant_id, previous.email_domain.to_string()));
            s.domains.insert(claim, organization.id);
            s.organizations.insert(key, organization.clone());
            Ok(Ok(()))
        })
    }

    async fn delete_organization(&self, organization: &Organization) -> Result<(), StoreError> {
        self.with(|s| {
            s.organizations.remove(&(organization.tenant_id, organization.id));
            s.domains
                .remove(&(organization.tenant_id, organization.email_domain.to_string()));
        });
        Ok(())
    }
}

fn address(lead: &Lead) -> (TenantId, CampaignId, String) {
    (lead.tenant_id, lead.campaign_id, lead.identity())
}

#[async_trait]
impl LeadStore for MemoryStore {
    async fn insert_leads(&self, leads: &mut [Lead]) -> Result<Vec<LeadInsert>, StoreError> {
        Ok(self.with(|s| {
            leads
                .iter_mut()
                .map(|lead| {
                    if let Some(holder) = s.addresses.get(&address(lead)).copied() {
                        let stored_origin = s.leads.get(&(lead.tenant_id, holder)).and_then(|l| l.origin);
                        if lead.origin.is_some() && stored_origin == lead.origin {
                            lead.id = holder;
                            return LeadInsert::Created;
                        }
                        return LeadInsert::Duplicate(holder);
                    }
                    // Ids still held by a lead whose address changed are skipped, as in DynamoDB.
                    let probe = (0..=u8::MAX)
                        .find(|&p| !s.taken_ids.contains(&(lead.tenant_id, lead.id_for_probe(p))))
                        .expect("fewer than 256 moved leads share an address");
                    lead.id = lead.id_for_probe(probe);
                    s.taken_ids.insert((lead.tenant_id, lead.id));
                    s.addresses.insert(address(lead), lead.id);
                    s.leads.insert((lead.tenant_id, lead.id), lead.clone());
                    s.record_lead_change(None, Some(lead), lead.created_at);
                    LeadInsert::Created
                })
                .collect()
        }))
    }

    async fn get_lead(&self, tenant: TenantId, id: LeadId) -> Result<Option<Lead>, StoreError> {
        Ok(self.with(|s| s.leads.get(&(tenant, id)).cloned()))
    }

    async fn list_campaign_leads(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        status: Option<LeadStatus>,
        request: &PageRequest,
    ) -> Result<Page<Lead>, StoreError> {
        let items = self.with(|s| {
            s.leads
                .iter()
                .filter(|((t, _), l)| {
                    *t == tenant && l.campaign_id == campaign && status.is_none_or(|st| l.status == st)
                })
                .map(|((_, id), l)| (id.to_string(), l.clone()))
                .collect()
        });
        page(tenant, &format!("leads{campaign}{status:?}"), items, request)
    }

    async fn find_leads_by_email(
        &self,
        tenant: TenantId,
        email: &EmailAddress,
        request: &PageRequest,
    ) -> Result<Page<Lead>, StoreError> {
        let items = self.with(|s| {
            s.leads
                .iter()
                .filter(|((t, _), l)| {
                    *t == tenant && l.email.as_ref().map(EmailAddress::dedup_key) == Some(email.dedup_key())
                })
                .map(|((_, id), l)| (id.to_string(), l.clone()))
                .collect()
        });
        page(tenant, &format!("email{}", email.dedup_key()), items, request)
    }

    async fn replace_lead(
        &self,
        lead: &Lead,
        previous: &Lead,
    ) -> Result<Result<(), AlreadyExists<LeadId>>, StoreError> {
        self.with(|s| {
            if s.leads.get(&(lead.tenant_id, lead.id)).map(|l| l.version) != Some(previous.version) {
                return Err(StoreError::VersionConflict);
            }
            if let Some(holder) = s.addresses.get(&address(lead)).filter(|h| **h != lead.id) {
                return Ok(Err(AlreadyExists(*holder)));
            }
            s.addresses.remove(&address(previous));
            s.addresses.insert(address(lead), lead.id);
            s.leads.insert((lead.tenant_id, lead.id), lead.clone());
            s.record_lead_change(Some(previous), Some(lead), lead.updated_at);
            Ok(Ok(()))
        })
    }

    async fn delete_lead(&self, lead: &Lead) -> Result<(), StoreError> {
        self.with(|s| {
            if let Some(stored) = s.leads.remove(&(lead.tenant_id, lead.id)) {
                s.record_lead_change(Some(&stored), None, Utc::now());
            }
            s.addresses.remove(&address(lead));
            // An id keeps blocking its chain only while the lead's address differs from the one it was made for.
            if lead.id_for_probe(0) == lead.id {
                s.taken_ids.remove(&(lead.tenant_id, lead.id));
            }
        });
        Ok(())
    }
}

#[async_trait]
impl ImportStore for MemoryStore {
    async fn insert_import(&self, job: &ImportJob, errors: &[RowError]) -> Result<(), StoreError> {
        self.with(|s| {
            s.imports
                .insert((job.tenant_id, job.id), (job.clone(), Default::default()));
            for error in errors {
                s.import_errors
                    .insert((job.tenant_id, job.id, error.row), error.clone());
            }
        });
        Ok(())
    }

    async fn get_import(&self, tenant: TenantId, id: ImportJobId) -> Result<Option<ImportJob>, StoreError> {
        Ok(self.with(|s| s.imports.get(&(tenant, id)).map(|(job, _)| job.clone())))
    }

    async fn start_import(&self, job: &ImportJob, errors: &[RowError]) -> Result<bool, StoreError> {
        Ok(self.with(|s| {
            let Some((stored, _)) = s.imports.get_mut(&(job.tenant_id, job.id)) else {
                return false;
            };
            if !matches!(stored.status, ImportStatus::AwaitingUpload | ImportStatus::Queued) {
                return false;
            }
            *stored = job.clone();
            for error in errors {
                s.import_errors
                    .insert((job.tenant_id, job.id, error.row), error.clone());
            }
            true
        }))
    }

    async fn fail_import(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if let Some((job, _)) = s.imports.get_mut(&(tenant, id)) {
                job.status = ImportStatus::Failed;
                job.error = Some(reason.to_string());
                job.finished_at = Some(at);
            }
        });
        Ok(())
    }

    async fn mark_import_running(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if let Some((job, _)) = s.imports.get_mut(&(tenant, id)) {
                if job.status == ImportStatus::Queued {
                    job.status = ImportStatus::Running;
                    job.started_at = Some(at);
                }
            }
        });
        Ok(())
    }

    async fn record_import_batch(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        outcome: &BatchOutcome,
        at: DateTime<Utc>,
    ) -> Result<ImportJob, StoreError> {
        self.with(|s| {
            for error in &outcome.errors {
                s.import_errors.insert((tenant, id, error.row), error.clone());
            }
            let (job, counted) = s.imports.get_mut(&(tenant, id)).ok_or(StoreError::VersionConflict)?;
            if counted.insert(outcome.batch) {
                job.created += outcome.created;
                job.duplicates += outcome.duplicates;
                job.invalid += outcome.invalid;
                job.batches_done += 1;
                if job.batches_done >= job.batches_total {
                    job.status = ImportStatus::Completed;
                    job.finished_at = Some(at);
                }
            }
            Ok(job.clone())
        })
    }

    async fn list_import_errors(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        request: &PageRequest,
    ) -> Result<Page<RowError>, StoreError> {
        let items = self.with(|s| {
            s.import_errors
                .iter()
                .filter(|((t, j, _), _)| *t == tenant && *j == id)
                .map(|((_, _, row), e)| (format!("{row:010}"), e.clone()))
                .collect()
        });
        page(tenant, &format!("errors{id}"), items, request)
    }
}

/// A lead-batch queue that keeps what was sent, for tests to deliver by hand.
#[derive(Default)]
pub struct MemoryQueue {
    sent: Mutex<Vec<LeadBatch>>,
}

impl MemoryQueue {
    pub fn take(&self) -> Vec<LeadBatch> {
        std::mem::take(&mut self.sent.lock().expect("not poisoned"))
    }
}

#[async_trait]
impl LeadBatchQueue for MemoryQueue {
    async fn enqueue(&self, batches: &[LeadBatch]) -> Result<(), StoreError> {
        self.sent.lock().expect("not poisoned").extend_from_slice(batches);
        Ok(())
    }
}

/// An object store in memory: what a client "uploads" is put in by the test.
#[derive(Default)]
pub struct MemoryFiles {
    files: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryFiles {
    pub fn put(&self, key: &str, bytes: &[u8]) {
        self.files
            .lock()
            .expect("not poisoned")
            .insert(key.to_string(), bytes.to_vec());
    }

    pub fn contains(&self, key: &str) -> bool {
        self.files.lock().expect("not poisoned").contains_key(key)
    }
}

#[async_trait]
impl ImportFiles for MemoryFiles {
    async fn upload_url(&self, key: &str, now: DateTime<Utc>) -> Result<UploadUrl, StoreError> {
        Ok(UploadUrl {
            url: format!("memory://{key}"),
            expires_at: now + crate::import::UPLOAD_URL_TTL,
        })
    }

    async fn read(&self, key: &str, limit: u64) -> Result<Vec<u8>, FileError> {
        let file = self
            .files
            .lock()
            .expect("not poisoned")
            .get(key)
            .cloned()
            .ok_or(FileError::Missing)?;
        if file.len() as u64 > limit {
            return Err(FileError::TooLarge {
                size: file.len() as u64,
                limit,
            });
        }
        Ok(file)
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.files.lock().expect("not poisoned").remove(key);
        Ok(())
    }
}

#[async_trait]
impl ActivityStore for MemoryStore {
    async fn append_activities(&self, activities: &[Activity]) -> Result<(), StoreError> {
        self.with(|s| s.append_activities(activities));
        Ok(())
    }

    async fn list_lead_activities(
        &self,
        tenant: TenantId,
        lead: LeadId,
        request: &PageRequest,
    ) -> Result<Page<Activity>, StoreError> {
        let items = self.with(|s| {
            let mut items: Vec<(String, Activity)> = s
                .activities
                .range((tenant, String::new())..)
                .take_while(|((t, _), _)| *t == tenant)
                .filter(|(_, a)| a.lead_id == Some(lead))
                // Keys ascend as ids descend: the cursor logic pages forward.
                .map(|(_, a)| (format!("{:032x}", u128::MAX - a.id.as_u128()), a.clone()))
                .collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            // The lead records its own creation, last in its timeline.
            items.extend(
                s.leads
                    .get(&(tenant, lead))
                    .map(|l| ("~".to_string(), Activity::lead_created(l))),
            );
            items
        });
        page(tenant, &format!("activities{lead}"), items, request)
    }

    async fn activity_feed(
        &self,
        tenant: TenantId,
        after: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError> {
        Ok(self.with(|s| {
            let mut feed: Vec<(String, Activity)> = s
                .activities
                .range((tenant, String::new())..)
                .take_while(|((t, _), _)| *t == tenant)
                .map(|((_, position), a)| (position.clone(), a.clone()))
                .chain(
                    s.leads
                        .values()
                        .filter(|l| l.tenant_id == tenant)
                        .map(Activity::lead_created)
                        .map(|a| (a.feed_position(), a)),
                )
                .filter(|(_, a)| a.recorded_at.unwrap_or(a.at) <= until)
                .filter(|(position, _)| after.is_none_or(|after| position.as_str() > after))
                .collect();
            feed.sort_by(|a, b| a.0.cmp(&b.0));
            if after.is_none() {
                let skip = feed.len().saturating_sub(limit);
                feed.drain(..skip);
            }
            feed.truncate(limit);
            feed.into_iter().map(|(_, a)| a).collect()
        }))
    }
}

impl State {
    fn append_activities(&mut self, activities: &[Activity]) {
        for activity in activities {
            // Recording it again moves it, as the DynamoDB feed index does.
            let position = activity.feed_position();
            if let Some(old) = self
                .activity_positions
                .insert((activity.tenant_id, activity.id), position.clone())
            {
                self.activities.remove(&(activity.tenant_id, old));
            }
            self.activities.insert((activity.tenant_id, position), activity.clone());
        }
    }
}

#[async_trait]
impl ReplyStore for MemoryStore {
    async fn commit_reply(&self, commit: &ReplyCommit) -> Result<bool, StoreError> {
        self.with(|s| {
            let tenant = commit.reply.tenant_id;
            if s.replies.contains_key(&(tenant, commit.reply.id)) {
                return Ok(false);
            }
            if let Some((email, expected)) = &commit.email {
                let key = (tenant, email.lead_id, email.step);
                if s.emails.get(&key).map(|e| e.version) != Some(*expected) {
                    return Err(StoreError::VersionConflict);
                }
                s.emails.insert(key, email.clone());
            }
            s.replies.insert((tenant, commit.reply.id), commit.reply.clone());
            s.append_activities(&commit.activities);
            s.add_stats(tenant, &commit.stats);
            Ok(true)
        })
    }

    async fn get_reply(&self, tenant: TenantId, id: ReplyId) -> Result<Option<Reply>, StoreError> {
        Ok(self.with(|s| s.replies.get(&(tenant, id)).cloned()))
    }

    async fn list_replies(
        &self,
        tenant: TenantId,
        filter: &ReplyFilter,
        request: &PageRequest,
    ) -> Result<Page<Reply>, StoreError> {
        let items = self.with(|s| {
            let mut items: Vec<(String, Reply)> = s
                .replies
                .values()
                .filter(|r| r.tenant_id == tenant && filter.accepts(r))
                .map(|r| (format!("{:032x}", u128::MAX - r.id.as_uuid().as_u128()), r.clone()))
                .collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            items
        });
        page(tenant, "replies", items, request)
    }

    async fn lead_replies(&self, tenant: TenantId, lead: LeadId) -> Result<Vec<Reply>, StoreError> {
        Ok(self.with(|s| {
            s.replies
                .values()
                .filter(|r| r.tenant_id == tenant && r.lead_id == Some(lead))
                .cloned()
                .collect()
        }))
    }

    async fn save_reply(&self, reply: &Reply, expected_version: u64, stats: &StatsDelta) -> Result<(), StoreError> {
        self.with(|s| {
            let key = (reply.tenant_id, reply.id);
            if s.replies.get(&key).map(|r| r.version) != Some(expected_version) {
                return Err(StoreError::VersionConflict);
            }
            s.replies.insert(key, reply.clone());
            s.add_stats(reply.tenant_id, stats);
            Ok(())
        })
    }

    async fn record_unrouted(
        &self,
        ses_message_id: &str,
        object_key: &str,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|s| s.unrouted.push((ses_message_id.to_string(), object_key.to_string())));
        Ok(())
    }
}

#[async_trait]
impl StatsStore for MemoryStore {
    async fn add_stats(&self, tenant: TenantId, delta: &StatsDelta) -> Result<(), StoreError> {
        self.with(|s| s.add_stats(tenant, delta));
        Ok(())
    }

    async fn stats_totals(&self, tenant: TenantId, scope: Scope) -> Result<Tally, StoreError> {
        Ok(self.with(|s| {
            s.stats
                .get(&(tenant, scope))
                .map(|(t, _)| t.clone())
                .unwrap_or_default()
        }))
    }

    async fn stats_days(
        &self,
        tenant: TenantId,
        scope: Scope,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, Counts>, StoreError> {
        Ok(self.with(|s| {
            s.stats
                .get(&(tenant, scope))
                .map(|(_, days)| days.range(from..=to).map(|(d, c)| (*d, c.clone())).collect())
                .unwrap_or_default()
        }))
    }
}

#[async_trait]
impl LeadSourceStore for MemoryStore {
    async fn insert_lead_source(&self, source: &LeadSource) -> Result<(), StoreError> {
        self.with(|s| s.sources.insert(source.id, source.clone()));
        Ok(())
    }

    async fn get_lead_source(&self, tenant: TenantId, id: LeadSourceId) -> Result<Option<LeadSource>, StoreError> {
        Ok(self.with(|s| s.sources.get(&id).filter(|src| src.tenant_id == tenant).cloned()))
    }

    async fn find_lead_source(&self, id: LeadSourceId) -> Result<Option<LeadSource>, StoreError> {
        Ok(self.with(|s| s.sources.get(&id).cloned()))
    }

    async fn list_lead_sources(&self, tenant: TenantId, request: &PageRequest) -> Result<Page<LeadSource>, StoreError> {
        let items = self.with(|s| {
            s.sources
                .values()
                .filter(|src| src.tenant_id == tenant)
                .map(|src| (src.id.to_string(), src.clone()))
                .collect()
        });
        page(tenant, "sources", items, request)
    }

    async fn delete_lead_source(&self, source: &LeadSource) -> Result<(), StoreError> {
        self.with(|s| s.sources.remove(&source.id));
        Ok(())
    }

    async fn due_sheet_sources(&self, now: DateTime<Utc>) -> Result<Vec<LeadSource>, StoreError> {
        Ok(self.with(|s| {
            s.sources
                .values()
                .filter(|src| src.next_poll_at.is_some_and(|at| at <= now))
                .cloned()
                .collect()
        }))
    }

    async fn save_lead_source(&self, source: &LeadSource) -> Result<(), StoreError> {
        self.with(|s| s.sources.insert(source.id, source.clone()));
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Mailboxes, templates and sender identities
// ---------------------------------------------------------------------------

#[async_trait]
impl MailboxStore for MemoryStore {
    async fn insert_mailbox(&self, mailbox: &Mailbox) -> Result<Result<(), AddressTaken>, StoreError> {
        Ok(self.with(|s| {
            let claim = (mailbox.tenant_id, mailbox.email.dedup_key());
            if let Some(holder) = s.mailbox_addresses.get(&claim) {
                return Err(AddressTaken::Mailbox(*holder));
            }
            if s.sender_owners
                .get(&claim.1)
                .is_some_and(|owner| *owner != mailbox.tenant_id)
            {
                return Err(AddressTaken::OtherTenant);
            }
            s.sender_owners.insert(claim.1.clone(), mailbox.tenant_id);
            s.mailbox_addresses.insert(claim, mailbox.id);
            s.mailboxes.insert((mailbox.tenant_id, mailbox.id), mailbox.clone());
            Ok(())
        }))
    }

    async fn get_mailbox(&self, tenant: TenantId, id: MailboxId) -> Result<Option<Mailbox>, StoreError> {
        Ok(self.with(|s| s.mailboxes.get(&(tenant, id)).cloned()))
    }

    async fn list_mailboxes(&self, tenant: TenantId, request: &PageRequest) -> Result<Page<Mailbox>, StoreError> {
        let items = self.with(|s| {
            s.mailboxes
                .iter()
                .filter(|((t, _), _)| *t == tenant)
                .map(|((_, id), m)| (id.to_string(), m.clone()))
                .collect()
        });
        page(tenant, "mailboxes", items, request)
    }

    async fn replace_mailbox(&self, mailbox: &Mailbox, expected_version: u64) -> Result<(), StoreError> {
        self.with(|s| match s.mailboxes.get_mut(&(mailbox.tenant_id, mailbox.id)) {
            Some(stored) if stored.version == expected_version => {
                *stored = mailbox.clone();
                Ok(())
            }
            _ => Err(StoreError::VersionConflict),
        })
    }

    async fn delete_mailbox(&self, mailbox: &Mailbox) -> Result<(), StoreError> {
        self.with(|s| {
            s.mailboxes.remove(&(mailbox.tenant_id, mailbox.id));
            s.mailbox_addresses
                .remove(&(mailbox.tenant_id, mailbox.email.dedup_key()));
            s.sender_owners.remove(&mailbox.email.dedup_key());
        });
        Ok(())
    }
}

#[async_trait]
impl TemplateStore for MemoryStore {
    async fn insert_template(&self, template: &Template, first: &TemplateVersion) -> Result<(), StoreError> {
        self.with(|s| {
            s.templates.insert((template.tenant_id, template.id), template.clone());
            s.template_versions
                .insert((first.tenant_id, first.template_id, first.version), first.clone());
        });
        Ok(())
    }

    async fn get_template(&self, tenant: TenantId, id: TemplateId) -> Result<Option<Template>, StoreError> {
        Ok(self.with(|s| s.templates.get(&(tenant, id)).cloned()))
    }

    async fn list_templates(&self, tenant: TenantId, request: &PageRequest) -> Result<Page<Template>, StoreError> {
        let items = self.with(|s| {
            s.templates
                .iter()
                .filter(|((t, _), _)| *t == tenant)
                .map(|((_, id), t)| (id.to_string(), t.clone()))
                .collect()
        });
        page(tenant, "templates", items, request)
    }

    async fn save_template_version(
        &self,
        template: &Template,
        snapshot: &TemplateVersion,
        expected_version: u32,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            let version_key = (snapshot.tenant_id, snapshot.template_id, snapshot.version);
            match s.templates.get_mut(&(template.tenant_id, template.id)) {
                Some(stored)
                    if stored.version == expected_version && !s.template_versions.contains_key(&version_key) =>
                {
                    *stored = template.clone();
                    s.template_versions.insert(version_key, snapshot.clone());
                    Ok(())
                }
                _ => Err(StoreError::VersionConflict),
            }
        })
    }

    async fn get_template_version(
        &self,
        tenant: TenantId,
        id: TemplateId,
        version: u32,
    ) -> Result<Option<TemplateVersion>, StoreError> {
        Ok(self.with(|s| s.template_versions.get(&(tenant, id, version)).cloned()))
    }

    async fn list_template_versions(
        &self,
        tenant: TenantId,
        id: TemplateId,
        request: &PageRequest,
    ) -> Result<Page<TemplateVersion>, StoreError> {
        let items = self.with(|s| {
            // Keyed by the distance from the top, so that ascending keys are newest first.
            let mut items: Vec<(String, TemplateVersion)> = s
                .template_versions
                .iter()
                .filter(|((t, template, _), _)| *t == tenant && *template == id)
                .map(|((_, _, version), v)| (format!("{:010}", u32::MAX - version), v.clone()))
                .collect();
            items.sort_by(|a, b| a.0.cmp(&b.0));
            items
        });
        page(tenant, &format!("versions{id}"), items, request)
    }

    async fn delete_template(&self, tenant: TenantId, id: TemplateId) -> Result<bool, StoreError> {
        Ok(self.with(|s| s.templates.remove(&(tenant, id)).is_some()))
    }
}

fn suppression_key(target: &SuppressionTarget) -> String {
    match target {
        SuppressionTarget::Address(_) => format!("A#{}", target.key()),
        SuppressionTarget::Domain(_) => format!("D#{}", target.key()),
    }
}

#[async_trait]
impl SuppressionStore for MemoryStore {
    async fn add_suppression(&self, entry: &Suppression) -> Result<(), StoreError> {
        self.with(|s| {
            s.suppressions
                .insert((entry.tenant_id, suppression_key(&entry.target)), entry.clone())
        });
        Ok(())
    }

    async fn remove_suppression(&self, tenant: TenantId, target: &SuppressionTarget) -> Result<bool, StoreError> {
        Ok(self.with(|s| s.suppressions.remove(&(tenant, suppression_key(target))).is_some()))
    }

    async fn list_suppressions(
        &self,
        tenant: TenantId,
        request: &PageRequest,
    ) -> Result<Page<Suppression>, StoreError> {
        let items = self.with(|s| {
            s.suppressions
                .iter()
                .filter(|((t, _), _)| *t == tenant)
                .map(|((_, key), e)| (key.clone(), e.clone()))
                .collect()
        });
        page(tenant, "suppressions", items, request)
    }

    async fn suppressed(&self, tenant: TenantId, address: &EmailAddress) -> Result<Option<Suppression>, StoreError> {
        Ok(self.with(|s| {
            let own = SuppressionTarget::Address(address.clone());
            let domain = EmailDomain::parse(address.domain()).ok().map(SuppressionTarget::Domain);
            std::iter::once(own)
                .chain(domain)
                .find_map(|target| s.suppressions.get(&(tenant, suppression_key(&target))).cloned())
        }))
    }
}

/// A register of sender identities: requested addresses wait as pending
/// until a test decides their fate with [`MemoryIdentities::set`].
#[derive(Default)]
pub struct MemoryIdentities {
    /// Tenants whose configuration set was made.
    pub configuration_sets: Mutex<std::collections::HashSet<TenantId>>,
    identities: Mutex<HashMap<String, IdentityVerification>>,
    requests: Mutex<Vec<String>>,
    failing: std::sync::atomic::AtomicBool,
}

impl MemoryIdentities {
    pub fn set(&self, email: &EmailAddress, status: IdentityVerification) {
        self.identities
            .lock()
            .expect("not poisoned")
            .insert(email.as_str().to_string(), status);
    }

    /// Every address verification was requested for, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("not poisoned").clone()
    }

    /// Makes every call fail (as a throttled or unreachable service would).
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, std::sync::atomic::Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::backend("identities", std::io::Error::other("unavailable")));
        }
        Ok(())
    }
}

#[async_trait]
impl SenderIdentities for MemoryIdentities {
    async fn ensure_configuration_set(&self, tenant: TenantId) -> Result<(), StoreError> {
        self.check()?;
        self.configuration_sets.lock().expect("not poisoned").insert(tenant);
        Ok(())
    }

    async fn request_verification(&self, email: &EmailAddress) -> Result<(), StoreError> {
        self.check()?;
        self.requests
            .lock()
            .expect("not poisoned")
            .push(email.as_str().to_string());
        let mut identities = self.identities.lock().expect("not poisoned");
        let status = identities
            .entry(email.as_str().to_string())
            .or_insert(IdentityVerification::Pending);
        if *status != IdentityVerification::Verified {
            *status = IdentityVerification::Pending;
        }
        Ok(())
    }

    async fn verification_status(
        &self,
        emails: &[EmailAddress],
    ) -> Result<HashMap<EmailAddress, IdentityVerification>, StoreError> {
        self.check()?;
        let identities = self.identities.lock().expect("not poisoned");
        Ok(emails
            .iter()
            .filter_map(|e| identities.get(e.as_str()).map(|status| (e.clone(), *status)))
            .collect())
    }
}

#[async_trait]
impl EmailStore for MemoryStore {
    async fn schedule_emails(&self, emails: &[OutboundEmail]) -> Result<Vec<bool>, StoreError> {
        Ok(self.with(|s| {
            let stored: Vec<bool> = emails
                .iter()
                .map(|e| match s.emails.entry((e.tenant_id, e.lead_id, e.step)) {
                    std::collections::btree_map::Entry::Occupied(_) => false,
                    std::collections::btree_map::Entry::Vacant(slot) => {
                        slot.insert(e.clone());
                        true
                    }
                })
                .collect();
            for (email, _) in emails.iter().zip(&stored).filter(|(_, stored)| **stored) {
                s.add_stats(email.tenant_id, &StatsDelta::for_scheduled([email], email.updated_at));
            }
            stored
        }))
    }

    async fn get_emails(&self, tenant: TenantId, keys: &[(LeadId, u32)]) -> Result<Vec<OutboundEmail>, StoreError> {
        Ok(self.with(|s| {
            keys.iter()
                .filter_map(|(lead, step)| s.emails.get(&(tenant, *lead, *step)).cloned())
                .collect()
        }))
    }

    async fn commit_email_events(&self, commit: &EmailEventsCommit) -> Result<(), StoreError> {
        self.with(|s| {
            let current = |e: &OutboundEmail| s.emails.get(&(commit.tenant, e.lead_id, e.step)).map(|x| x.version);
            if commit
                .emails
                .iter()
                .any(|(email, expected)| email.tenant_id != commit.tenant || current(email) != Some(*expected))
            {
                return Err(StoreError::VersionConflict);
            }
            for (email, _) in &commit.emails {
                s.emails
                    .insert((commit.tenant, email.lead_id, email.step), email.clone());
            }
            s.append_activities(&commit.activities);
            s.add_stats(commit.tenant, &commit.stats);
            for pointer in &commit.pointers {
                s.ses_pointers.insert(pointer.ses_message_id.clone(), pointer.clone());
            }
            Ok(())
        })
    }

    async fn get_email(
        &self,
        tenant: TenantId,
        lead: LeadId,
        id: EmailId,
    ) -> Result<Option<OutboundEmail>, StoreError> {
        Ok(self.with(|s| {
            s.emails
                .range((tenant, lead, 0)..=(tenant, lead, u32::MAX))
                .map(|(_, e)| e)
                .find(|e| e.id == id)
                .cloned()
        }))
    }

    async fn save_email(&self, email: &OutboundEmail, expected_version: u64) -> Result<(), StoreError> {
        self.with(|s| {
            let key = (email.tenant_id, email.lead_id, email.step);
            match s.emails.get(&key) {
                Some(stored) if stored.version == expected_version && stored.id == email.id => {
                    s.emails.insert(key, email.clone());
                    Ok(())
                }
                _ => Err(StoreError::VersionConflict),
            }
        })
    }

    async fn record_sent(&self, email: &OutboundEmail, expected_version: u64) -> Result<(), StoreError> {
        self.save_email(email, expected_version).await?;
        if let Some(pointer) = email.ses_pointer() {
            self.with(|s| s.ses_pointers.insert(pointer.ses_message_id.clone(), pointer));
        }
        Ok(())
    }

    async fn find_ses_messages(&self, ids: &[SesMessageId]) -> Result<Vec<SesMessagePointer>, StoreError> {
        Ok(self.with(|s| ids.iter().filter_map(|id| s.ses_pointers.get(id).cloned()).collect()))
    }

    async fn list_lead_emails(&self, tenant: TenantId, lead: LeadId) -> Result<Vec<OutboundEmail>, StoreError> {
        Ok(self.with(|s| {
            s.emails
                .range((tenant, lead, 0)..=(tenant, lead, u32::MAX))
                .map(|(_, e)| e.clone())
                .collect()
        }))
    }

    async fn list_campaign_emails(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        request: &PageRequest,
    ) -> Result<Page<OutboundEmail>, StoreError> {
        let mut items: Vec<(String, OutboundEmail)> = self.with(|s| {
            s.emails
                .values()
                .filter(|e| e.tenant_id == tenant && e.campaign_id == campaign)
                .map(|e| (format!("{}#{}", e.scheduled_at.timestamp_millis(), e.id), e.clone()))
                .collect()
        });
        items.sort_by(|a, b| a.0.cmp(&b.0));
        page(tenant, "emails", items, request)
    }

    async fn due_emails(&self, shard: u8, before: DateTime<Utc>, limit: usize) -> Result<Vec<DueEmail>, StoreError> {
        let mut due: Vec<OutboundEmail> = self.with(|s| {
            s.emails
                .values()
                .filter(|e| due_shard(e.id) == shard && e.due_at().is_some_and(|at| at < before))
                .cloned()
                .collect()
        });
        due.sort_by_key(|e| e.due_at());
        due.truncate(limit);
        Ok(due.into_iter().map(|email| DueEmail { email }).collect())
    }

    async fn mailbox_bookings(
        &self,
        tenant: TenantId,
        mailboxes: &[MailboxId],
    ) -> Result<HashMap<MailboxId, MailboxBookings>, StoreError> {
        Ok(self.with(|s| {
            mailboxes
                .iter()
                .filter_map(|m| s.bookings.get(&(tenant, *m)).map(|b| (*m, b.clone())))
                .collect()
        }))
    }

    async fn book_sends(
        &self,
        tenant: TenantId,
        mailbox: MailboxId,
        per_day: &[(NaiveDate, u32)],
        last: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            let b = s.bookings.entry((tenant, mailbox)).or_default();
            for (day, n) in per_day {
                *b.booked_per_day.entry(*day).or_insert(0) += n;
            }
            b.last_booked_at = Some(b.last_booked_at.map_or(last, |l| l.max(last)));
        });
        Ok(())
    }

    async fn count_send(
        &self,
        tenant: TenantId,
        mailbox: MailboxId,
        day: NaiveDate,
        cap: u32,
    ) -> Result<bool, StoreError> {
        Ok(self.with(|s| {
            let sent = s
                .bookings
                .entry((tenant, mailbox))
                .or_default()
                .sent_per_day
                .entry(day)
                .or_insert(0);
            if *sent >= cap {
                false
            } else {
                *sent += 1;
                true
            }
        }))
    }

    async fn uncount_send(&self, tenant: TenantId, mailbox: MailboxId, day: NaiveDate) -> Result<(), StoreError> {
        self.with(|s| {
            if let Some(sent) = s
                .bookings
                .get_mut(&(tenant, mailbox))
                .and_then(|b| b.sent_per_day.get_mut(&day))
            {
                *sent = sent.saturating_sub(1);
            }
        });
        Ok(())
    }
}

/// Send jobs kept in memory, with their delays.
#[derive(Default)]
pub struct MemorySendQueue {
    pub jobs: Mutex<Vec<(SendJob, u32)>>,
}

impl MemorySendQueue {
    pub fn take(&self) -> Vec<(SendJob, u32)> {
        std::mem::take(&mut *self.jobs.lock().expect("not poisoned"))
    }
}

#[async_trait]
impl SendQueue for MemorySendQueue {
    async fn enqueue_sends(&self, jobs: &[(SendJob, u32)]) -> Result<(), StoreError> {
        self.jobs.lock().expect("not poisoned").extend_from_slice(jobs);
        Ok(())
    }
}

/// A mail service that keeps what it is given; it can be told to fail.
#[derive(Default)]
pub struct MemoryMailer {
    pub sent: Mutex<Vec<(String, Vec<u8>)>>,
    /// The next sends fail with these, first first.
    pub failures: Mutex<Vec<SendError>>,
}

#[async_trait]
impl MailSender for MemoryMailer {
    async fn send_raw(&self, message: RawSend<'_>) -> Result<String, SendError> {
        if let Some(failure) = {
            let mut failures = self.failures.lock().expect("not poisoned");
            (!failures.is_empty()).then(|| failures.remove(0))
        } {
            return Err(failure);
        }
        let mut sent = self.sent.lock().expect("not poisoned");
        let id = format!("mem-{}", sent.len() + 1);
        sent.push((message.to.as_str().to_string(), message.raw.to_vec()));
        Ok(id)
    }
}
