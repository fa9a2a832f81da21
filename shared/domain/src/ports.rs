//! The storage ports the operations depend on, one per capability. The
//! DynamoDB adapter in `cc-store` implements them all; every method takes the
//! tenant (directly or inside the entity) so no call can reach across tenants.

use crate::activity::Activity;
use crate::api_key::ApiKey;
use crate::campaign::{Campaign, CampaignStatus};
use crate::email::{EmailAddress, EmailDomain};
use crate::error::StoreError;
use crate::ids::{
    ApiKeyId, CampaignId, EmailId, ImportJobId, LeadId, LeadSourceId, MailboxId, OrganizationId, ReplyId, TemplateId,
    TenantId,
};
use crate::import::{BatchOutcome, ImportJob, LeadBatch, RowError};
use crate::lead::{Lead, LeadStatus};
use crate::lead_source::LeadSource;
use crate::mailbox::{IdentityVerification, Mailbox};
use crate::organization::Organization;
use crate::outbound::{OutboundEmail, SendJob, SesMessageId, SesMessagePointer};
use crate::page::{Page, PageRequest};
use crate::reply::{Reply, ReplyFilter};
use crate::stats::{Counts, Scope, StatsDelta, Tally};
use crate::suppression::{Suppression, SuppressionTarget};
use crate::template::{Template, TemplateVersion};
use crate::tenant::Tenant;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, HashMap};

/// A uniqueness rule was hit: the id of the item that already holds the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyExists<Id>(pub Id);

/// The outcome of storing one lead of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadInsert {
    Created,
    /// The campaign already has a lead with this address.
    Duplicate(LeadId),
}

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Stores a new tenant together with its first admin key, atomically.
    async fn create_tenant(&self, tenant: &Tenant, admin_key: &ApiKey) -> Result<(), StoreError>;
    async fn get_tenant(&self, id: TenantId) -> Result<Option<Tenant>, StoreError>;
}

#[async_trait]
pub trait ApiKeyStore: Send + Sync {
    async fn insert_api_key(&self, key: &ApiKey) -> Result<(), StoreError>;
    async fn get_api_key(&self, tenant: TenantId, id: ApiKeyId) -> Result<Option<ApiKey>, StoreError>;
    async fn list_api_keys(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<ApiKey>, StoreError>;
    /// `false` when there was no such key.
    async fn delete_api_key(&self, tenant: TenantId, id: ApiKeyId) -> Result<bool, StoreError>;
    /// Sets `last_used_at = at` unless it is already later than `unless_after`
    /// (so a busy key costs one write a minute, not one per request).
    async fn record_api_key_use(
        &self,
        tenant: TenantId,
        id: ApiKeyId,
        at: DateTime<Utc>,
        unless_after: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

#[async_trait]
pub trait CampaignStore: Send + Sync {
    async fn insert_campaign(&self, campaign: &Campaign) -> Result<(), StoreError>;
    async fn get_campaign(&self, tenant: TenantId, id: CampaignId) -> Result<Option<Campaign>, StoreError>;
    async fn list_campaigns(
        &self,
        tenant: TenantId,
        status: Option<CampaignStatus>,
        page: &PageRequest,
    ) -> Result<Page<Campaign>, StoreError>;
    /// Replaces the stored campaign if its version is still `expected_version`,
    /// else fails with [`StoreError::VersionConflict`].
    async fn replace_campaign(&self, campaign: &Campaign, expected_version: u64) -> Result<(), StoreError>;
    async fn delete_campaign(&self, tenant: TenantId, id: CampaignId) -> Result<bool, StoreError>;
    async fn campaign_has_leads(&self, tenant: TenantId, id: CampaignId) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// Fails softly with the holder's id when the tenant already has an
    /// organisation for this email domain.
    /// Stores organisations made by an import for domains it just found
    /// unclaimed, with their domain claims. Each gets the first id of
    /// `OrganizationId::for_domain_at` not held by an organisation of another
    /// domain (one that moved away), so a retry writes the same items and a
    /// moved organisation is never overwritten. Returns, in input order, the
    /// id that holds each domain.
    async fn insert_organizations(&self, organizations: &[Organization]) -> Result<Vec<OrganizationId>, StoreError>;
    async fn insert_organization(
        &self,
        organization: &Organization,
    ) -> Result<Result<(), AlreadyExists<OrganizationId>>, StoreError>;
    async fn get_organization(&self, tenant: TenantId, id: OrganizationId) -> Result<Option<Organization>, StoreError>;
    async fn find_organization_by_domain(
        &self,
        tenant: TenantId,
        domain: &EmailDomain,
    ) -> Result<Option<Organization>, StoreError>;
    async fn list_organizations(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<Organization>, StoreError>;
    /// The organisations holding these email domains (absent ones are left out).
    async fn organization_ids_by_domain(
        &self,
        tenant: TenantId,
        domains: &[EmailDomain],
    ) -> Result<std::collections::HashMap<EmailDomain, OrganizationId>, StoreError>;
    /// Replaces `previous` (same id) with `organization`, moving the domain
    /// claim if the domain changed; version-checked like campaigns.
    async fn replace_organization(
        &self,
        organization: &Organization,
        previous: &Organization,
    ) -> Result<Result<(), AlreadyExists<OrganizationId>>, StoreError>;
    async fn delete_organization(&self, organization: &Organization) -> Result<(), StoreError>;
}

#[async_trait]
pub trait LeadStore: Send + Sync {
    /// Stores the leads of one campaign, each unless the campaign already has
    /// its identity (see `Lead::identity`), and sets each stored lead's final
    /// id (`Lead::id_for_probe`). Results are in input order. Safe to retry:
    /// a lead with an `origin` that is already stored from that same origin
    /// comes back as created, not as a duplicate of itself.
    async fn insert_leads(&self, leads: &mut [Lead]) -> Result<Vec<LeadInsert>, StoreError>;
    async fn get_lead(&self, tenant: TenantId, id: LeadId) -> Result<Option<Lead>, StoreError>;
    async fn list_campaign_leads(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        status: Option<LeadStatus>,
        page: &PageRequest,
    ) -> Result<Page<Lead>, StoreError>;
    async fn find_leads_by_email(
        &self,
        tenant: TenantId,
        email: &EmailAddress,
        page: &PageRequest,
    ) -> Result<Page<Lead>, StoreError>;
    /// Replaces `previous` with `lead` (version-checked), moving the
    /// campaign's address claim if the email changed.
    async fn replace_lead(&self, lead: &Lead, previous: &Lead)
    -> Result<Result<(), AlreadyExists<LeadId>>, StoreError>;
    async fn delete_lead(&self, lead: &Lead) -> Result<(), StoreError>;
}

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Stores a new job with the rows already refused while the file was split.
    async fn insert_import(&self, job: &ImportJob, errors: &[RowError]) -> Result<(), StoreError>;
    async fn get_import(&self, tenant: TenantId, id: ImportJobId) -> Result<Option<ImportJob>, StoreError>;
    /// Starts a job whose file arrived: replaces it with `job` (its counts and
    /// batches) if it is still awaiting its file or queued (a previous attempt
    /// that stopped before queueing its batches), and stores the refused rows.
    /// `false` when the job had moved on (running, completed or failed).
    async fn start_import(&self, job: &ImportJob, errors: &[RowError]) -> Result<bool, StoreError>;
    /// Marks a job that cannot go on as failed, with the reason.
    async fn fail_import(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Moves a queued job to running, once.
    async fn mark_import_running(&self, tenant: TenantId, id: ImportJobId, at: DateTime<Utc>)
    -> Result<(), StoreError>;
    /// Adds a batch's outcome to its job unless that batch number was counted
    /// already, and completes the job with its last batch. Returns the job.
    async fn record_import_batch(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        outcome: &BatchOutcome,
        at: DateTime<Utc>,
    ) -> Result<ImportJob, StoreError>;
    /// The refused rows, in row order.
    async fn list_import_errors(
        &self,
        tenant: TenantId,
        id: ImportJobId,
        page: &PageRequest,
    ) -> Result<Page<RowError>, StoreError>;
}

#[async_trait]
pub trait ActivityStore: Send + Sync {
    /// Appends to leads' timelines; an activity with an id already stored is
    /// written again in place, not twice. `lead.created` is never appended:
    /// the lead itself records it, and listings show it first.
    async fn append_activities(&self, activities: &[Activity]) -> Result<(), StoreError>;
    /// A lead's timeline, newest first (its creation last).
    async fn list_lead_activities(
        &self,
        tenant: TenantId,
        lead: LeadId,
        page: &PageRequest,
    ) -> Result<Page<Activity>, StoreError>;
    /// The tenant's live feed in recording order: activities (new leads
    /// included) positioned after `after` (a `feed_position`) and at or
    /// before `until`, at most `limit`. Without `after`, the latest `limit`.
    async fn activity_feed(
        &self,
        tenant: TenantId,
        after: Option<&str>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Activity>, StoreError>;
}

/// A stored reply with what it changes, written all or nothing.
#[derive(Debug, Clone)]
pub struct ReplyCommit {
    pub reply: Reply,
    /// The email it answers, changed (first reply, or a bounce), with its read version.
    pub email: Option<(OutboundEmail, u64)>,
    pub activities: Vec<Activity>,
    pub stats: StatsDelta,
}

/// Inbound messages (replies, auto-replies, bounces) of a tenant.
#[async_trait]
pub trait ReplyStore: Send + Sync {
    /// Stores a new reply with its email change, activities and counters in
    /// one write. `Ok(false)`: a reply with this id exists (a redelivery) and
    /// nothing was written; [`StoreError::VersionConflict`] if the email changed.
    async fn commit_reply(&self, commit: &ReplyCommit) -> Result<bool, StoreError>;
    async fn get_reply(&self, tenant: TenantId, id: ReplyId) -> Result<Option<Reply>, StoreError>;
    /// The inbox, newest first, filtered.
    async fn list_replies(
        &self,
        tenant: TenantId,
        filter: &ReplyFilter,
        page: &PageRequest,
    ) -> Result<Page<Reply>, StoreError>;
    /// A lead's replies, oldest first (its thread).
    async fn lead_replies(&self, tenant: TenantId, lead: LeadId) -> Result<Vec<Reply>, StoreError>;
    /// Replaces a reply if still at `expected_version`, with counter changes, at once.
    async fn save_reply(&self, reply: &Reply, expected_version: u64, stats: &StatsDelta) -> Result<(), StoreError>;
    /// Keeps a message no tenant could be found for (its raw MIME stays in S3).
    async fn record_unrouted(
        &self,
        ses_message_id: &str,
        object_key: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}

/// The raw messages SES stored for the reply domain.
#[async_trait]
pub trait MailFiles: Send + Sync {
    /// At most `limit` bytes of the object.
    async fn read_mail(&self, key: &str, limit: u64) -> Result<Vec<u8>, FileError>;
}

/// The counters behind the KPIs (see `crate::stats`).
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Adds a delta to the totals and the days it names.
    async fn add_stats(&self, tenant: TenantId, delta: &StatsDelta) -> Result<(), StoreError>;
    /// All-time counts of a campaign or the tenant, by slice. One read.
    async fn stats_totals(&self, tenant: TenantId, scope: Scope) -> Result<Tally, StoreError>;
    /// Counts per day over `from..=to` (days without counts absent). One read for a few months.
    async fn stats_days(
        &self,
        tenant: TenantId,
        scope: Scope,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, Counts>, StoreError>;
}

#[async_trait]
pub trait LeadSourceStore: Send + Sync {
    async fn insert_lead_source(&self, source: &LeadSource) -> Result<(), StoreError>;
    async fn get_lead_source(&self, tenant: TenantId, id: LeadSourceId) -> Result<Option<LeadSource>, StoreError>;
    /// A source found by its id alone: how a webhook call, which carries no
    /// tenant, is routed (docs/data-model.md lists this pointer as an exception).
    async fn find_lead_source(&self, id: LeadSourceId) -> Result<Option<LeadSource>, StoreError>;
    async fn list_lead_sources(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<LeadSource>, StoreError>;
    async fn delete_lead_source(&self, source: &LeadSource) -> Result<(), StoreError>;
    /// Sheet sources of every tenant whose `next_poll_at` has come (the
    /// scheduler's sharded due index; never a Scan).
    async fn due_sheet_sources(&self, now: DateTime<Utc>) -> Result<Vec<LeadSource>, StoreError>;
    /// Stores a source's poll bookkeeping (and its place in the due index).
    async fn save_lead_source(&self, source: &LeadSource) -> Result<(), StoreError>;
}

/// Fetches a sheet's CSV export.
#[async_trait]
pub trait SheetFetcher: Send + Sync {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String>;
}

/// What an upload URL lets a client do, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadUrl {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Why an uploaded file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("no file was uploaded")]
    Missing,
    #[error("the file is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: u64, limit: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The object store behind large imports (S3).
#[async_trait]
pub trait ImportFiles: Send + Sync {
    /// A URL a client can PUT the file at `key` to, without other credentials.
    async fn upload_url(&self, key: &str, now: DateTime<Utc>) -> Result<UploadUrl, StoreError>;
    /// The file at `key`, up to `limit` bytes.
    async fn read(&self, key: &str, limit: u64) -> Result<Vec<u8>, FileError>;
    /// Removes a file once its rows are queued (it holds personal data).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
}

/// The lead-batch queue between the api and the ingest function.
#[async_trait]
pub trait LeadBatchQueue: Send + Sync {
    async fn enqueue(&self, batches: &[LeadBatch]) -> Result<(), StoreError>;
}

/// Why a mailbox's address cannot be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressTaken {
    /// The tenant has a mailbox with it already.
    Mailbox(MailboxId),
    /// Another tenant sends from it: SES identities are the account's, so two
    /// tenants must never share a sending address (docs/decisions.md §15).
    OtherTenant,
}

#[async_trait]
pub trait MailboxStore: Send + Sync {
    /// Stores a new mailbox unless its address (compared case-insensitively)
    /// is a mailbox of this tenant or a sending address of another tenant.
    async fn insert_mailbox(&self, mailbox: &Mailbox) -> Result<Result<(), AddressTaken>, StoreError>;
    async fn get_mailbox(&self, tenant: TenantId, id: MailboxId) -> Result<Option<Mailbox>, StoreError>;
    async fn list_mailboxes(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<Mailbox>, StoreError>;
    /// Replaces the stored mailbox if its version is still `expected_version`,
    /// else fails with [`StoreError::VersionConflict`]. The address never changes.
    async fn replace_mailbox(&self, mailbox: &Mailbox, expected_version: u64) -> Result<(), StoreError>;
    /// Removes the mailbox and frees its address.
    async fn delete_mailbox(&self, mailbox: &Mailbox) -> Result<(), StoreError>;
}

#[async_trait]
pub trait TemplateStore: Send + Sync {
    /// Stores a new template together with its first version.
    async fn insert_template(&self, template: &Template, first: &TemplateVersion) -> Result<(), StoreError>;
    async fn get_template(&self, tenant: TenantId, id: TemplateId) -> Result<Option<Template>, StoreError>;
    async fn list_templates(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<Template>, StoreError>;
    /// Stores the next version of a template: replaces the template if its
    /// stored version is still `expected_version` (else
    /// [`StoreError::VersionConflict`]) and adds `snapshot`, atomically.
    async fn save_template_version(
        &self,
        template: &Template,
        snapshot: &TemplateVersion,
        expected_version: u32,
    ) -> Result<(), StoreError>;
    async fn get_template_version(
        &self,
        tenant: TenantId,
        id: TemplateId,
        version: u32,
    ) -> Result<Option<TemplateVersion>, StoreError>;
    /// Every version of a template, newest first.
    async fn list_template_versions(
        &self,
        tenant: TenantId,
        id: TemplateId,
        page: &PageRequest,
    ) -> Result<Page<TemplateVersion>, StoreError>;
    /// Removes the template (`false` when there was none). Its versions stay
    /// stored, for the emails that were rendered from them.
    async fn delete_template(&self, tenant: TenantId, id: TemplateId) -> Result<bool, StoreError>;
}

/// The mail service's register of sender identities (SES). Identities belong
/// to the AWS account, not to a tenant.
#[async_trait]
pub trait SenderIdentities: Send + Sync {
    /// Asks the service to verify an address: it mails the owner a link.
    async fn request_verification(&self, email: &EmailAddress) -> Result<(), StoreError>;
    /// What the service knows about each address; addresses it has never
    /// heard of are left out.
    async fn verification_status(
        &self,
        emails: &[EmailAddress],
    ) -> Result<std::collections::HashMap<EmailAddress, IdentityVerification>, StoreError>;
    /// Makes sure the tenant's configuration sets (one per `tracking::TrackingSet`)
    /// exist with their event destinations (its emails name one; SES refuses
    /// a send that names a missing set). A no-op without a prefix.
    async fn ensure_configuration_set(&self, tenant: TenantId) -> Result<(), StoreError>;
}

/// Sends of one mailbox per local day of the mailbox: planned (booked, so
/// plans across campaigns share the cap) and made (counted by the sender,
/// which enforces the cap).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxBookings {
    pub booked_per_day: HashMap<NaiveDate, u32>,
    pub sent_per_day: HashMap<NaiveDate, u32>,
    /// The latest booked send, which the next one keeps its gap from.
    pub last_booked_at: Option<DateTime<Utc>>,
}

/// An email the due index offers, with the version it was read at.
#[derive(Debug, Clone)]
pub struct DueEmail {
    pub email: OutboundEmail,
}

/// The due index has this many shards; each scheduler tick reads them all.
pub const DUE_SHARDS: u8 = 8;

/// The due-index shard of an email: spread by id, so no shard is hot.
pub fn due_shard(id: EmailId) -> u8 {
    id.as_uuid().as_bytes()[15] % DUE_SHARDS
}

#[async_trait]
pub trait EmailStore: Send + Sync {
    /// Stores planned emails unless one with the same id exists (a plan that
    /// ran before). Returns, in input order, whether each was stored.
    async fn schedule_emails(&self, emails: &[OutboundEmail]) -> Result<Vec<bool>, StoreError>;
    async fn get_email(&self, tenant: TenantId, lead: LeadId, id: EmailId)
    -> Result<Option<OutboundEmail>, StoreError>;
    /// Emails by lead and step, in one read; missing ones are left out.
    async fn get_emails(&self, tenant: TenantId, keys: &[(LeadId, u32)]) -> Result<Vec<OutboundEmail>, StoreError>;
    /// Writes what a batch of SES events did, all or nothing: the emails (each
    /// if still at its expected version, else [`StoreError::VersionConflict`]
    /// and nothing is written), their activities and the counters.
    async fn commit_email_events(&self, commit: &EmailEventsCommit) -> Result<(), StoreError>;
    /// Replaces the email if its stored version is still `expected_version`,
    /// else [`StoreError::VersionConflict`]: the claim that makes a send happen once.
    async fn save_email(&self, email: &OutboundEmail, expected_version: u64) -> Result<(), StoreError>;
    /// `save_email` for the email SES just accepted, writing in the same
    /// all-or-nothing write the pointer from its SES message id
    /// ([`OutboundEmail::ses_pointer`]), so that an event without message tags
    /// (SES's older notification format) finds it.
    async fn record_sent(&self, email: &OutboundEmail, expected_version: u64) -> Result<(), StoreError>;
    /// The pointers of these SES message ids, in one read; unknown ones are left out.
    async fn find_ses_messages(&self, ids: &[SesMessageId]) -> Result<Vec<SesMessagePointer>, StoreError>;
    /// A lead's emails in step order.
    async fn list_lead_emails(&self, tenant: TenantId, lead: LeadId) -> Result<Vec<OutboundEmail>, StoreError>;
    /// A campaign's emails, by scheduled time.
    async fn list_campaign_emails(
        &self,
        tenant: TenantId,
        campaign: CampaignId,
        page: &PageRequest,
    ) -> Result<Page<OutboundEmail>, StoreError>;
    /// Emails of every tenant due before `before` in one shard of the due
    /// index, earliest first (the scheduler's read; never a Scan).
    async fn due_emails(&self, shard: u8, before: DateTime<Utc>, limit: usize) -> Result<Vec<DueEmail>, StoreError>;
    /// The mailboxes' bookings and sends (absent mailboxes have none).
    async fn mailbox_bookings(
        &self,
        tenant: TenantId,
        mailboxes: &[MailboxId],
    ) -> Result<HashMap<MailboxId, MailboxBookings>, StoreError>;
    /// Adds planned sends to a mailbox's days.
    async fn book_sends(
        &self,
        tenant: TenantId,
        mailbox: MailboxId,
        per_day: &[(NaiveDate, u32)],
        last: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Counts one send on the mailbox's `day` unless `cap` sends were counted
    /// already; `false` when the day is full.
    async fn count_send(
        &self,
        tenant: TenantId,
        mailbox: MailboxId,
        day: NaiveDate,
        cap: u32,
    ) -> Result<bool, StoreError>;
    /// Takes back a counted send that did not happen.
    async fn uncount_send(&self, tenant: TenantId, mailbox: MailboxId, day: NaiveDate) -> Result<(), StoreError>;
}

/// One tenant's share of a batch of SES events (see `commit_email_events`).
#[derive(Debug, Clone)]
pub struct EmailEventsCommit {
    pub tenant: TenantId,
    /// Each email with the version it was read at.
    pub emails: Vec<(OutboundEmail, u64)>,
    pub activities: Vec<Activity>,
    pub stats: StatsDelta,
    /// Pointers of SES message ids the events taught (a Send event that
    /// resolved a claim whose outcome was lost).
    pub pointers: Vec<SesMessagePointer>,
}

/// The send queue between the scheduler and the sender.
#[async_trait]
pub trait SendQueue: Send + Sync {
    /// Enqueues jobs, each delayed by its seconds (0–900).
    async fn enqueue_sends(&self, jobs: &[(SendJob, u32)]) -> Result<(), StoreError>;
}

/// What a mail service answered to a send.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Throttled or a passing failure: try again later; nothing was sent.
    #[error("the mail service is unavailable or throttling: {0}")]
    Transient(String),
    /// The call may or may not have reached the service (a timeout, a
    /// dropped connection): it must not be repeated.
    #[error("the outcome of the send is unknown: {0}")]
    Unknown(String),
    /// Refused for good (rejected address, invalid content, unverified sender).
    #[error("the mail service refused the message: {0}")]
    Rejected(String),
}

/// A raw message and what SES needs besides it.
#[derive(Debug, Clone)]
pub struct RawSend<'a> {
    pub from: &'a EmailAddress,
    pub to: &'a EmailAddress,
    pub raw: &'a [u8],
    /// Tags carried by the SES events of this message.
    pub tags: &'a [(&'static str, String)],
    pub configuration_set: Option<String>,
}

/// The mail service (SES `SendRawEmail`).
#[async_trait]
pub trait MailSender: Send + Sync {
    /// Sends one message; the service's message id.
    async fn send_raw(&self, message: RawSend<'_>) -> Result<String, SendError>;
}

/// The signed one-click unsubscribe URL of an email.
pub trait UnsubscribeLinks: Send + Sync {
    fn url(&self, tenant: TenantId, lead: LeadId, email: EmailId) -> String;
}

#[async_trait]
pub trait SuppressionStore: Send + Sync {
    /// Stores an entry; one for the same target (same tenant) is replaced.
    async fn add_suppression(&self, entry: &Suppression) -> Result<(), StoreError>;
    /// `false` when the tenant had no entry for this target.
    async fn remove_suppression(&self, tenant: TenantId, target: &SuppressionTarget) -> Result<bool, StoreError>;
    /// Address entries (by address), then domain entries (by domain).
    async fn list_suppressions(&self, tenant: TenantId, page: &PageRequest) -> Result<Page<Suppression>, StoreError>;
    /// The entry that blocks `address`: its own, else its domain's. Reads the
    /// two possible entries by key, never the whole list.
    async fn suppressed(&self, tenant: TenantId, address: &EmailAddress) -> Result<Option<Suppression>, StoreError>;
}

/// Everything the functions need from storage.
pub trait Store:
    TenantStore
    + ApiKeyStore
    + CampaignStore
    + OrganizationStore
    + LeadStore
    + ImportStore
    + ActivityStore
    + LeadSourceStore
    + MailboxStore
    + TemplateStore
    + EmailStore
    + SuppressionStore
    + StatsStore
    + ReplyStore
{
}

impl<T> Store for T where
    T: TenantStore
        + ApiKeyStore
        + CampaignStore
        + OrganizationStore
        + LeadStore
        + ImportStore
        + ActivityStore
        + LeadSourceStore
        + MailboxStore
        + TemplateStore
        + EmailStore
        + SuppressionStore
        + StatsStore
        + ReplyStore
{
}
