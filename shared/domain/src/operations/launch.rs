//! Sequences and launch: `PUT /v1/campaigns/{id}/sequence` and
//! `POST /v1/campaigns/{id}/activate` (with `?dry_run=true`).
//!
//! Launch checks that every step renders for every lead, then plans each
//! eligible lead's first email into the campaign's mailboxes (see
//! `schedule::plan_sends`), or, when a paused campaign resumes, replans the
//! emails it held back. Emails are written before the campaign turns active,
//! so a launch that stops half-way is finished by launching again.

use super::with_optimistic_retry;
use crate::api_key::{Capability, Principal};
use crate::campaign::{Campaign, CampaignAction, CampaignStatus};
use crate::email::EmailAddress;
use crate::error::{DomainError, FieldError};
use crate::ids::{CampaignId, LeadId, MailboxId, OrganizationId, TemplateId, TenantId};
use crate::lead::{Lead, LeadStatus};
use crate::mailbox::Mailbox;
use crate::organization::Organization;
use crate::outbound::{EmailStatus, OutboundEmail, PlannedEmail};
use crate::page::PageRequest;
use crate::ports::{MailboxBookings, Store};
use crate::schedule::{self, MailboxCapacity, NewLeadCap, PlanRules, SendRequest, Timezone, local_date, plan_sends};
use crate::sequence::{SendingSettings, SequenceInput, check_sequence};
use crate::template::{CompiledTemplate, SenderInfo, TemplateContext};
use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

const NOT_FOUND: DomainError = DomainError::NotFound { entity: "campaign" };

/// The unsubscribe URL used while checking and previewing (the sender signs real ones).
const PREVIEW_UNSUBSCRIBE_URL: &str = "https://unsubscribe.invalid/preview";

/// Replaces a campaign's sequence; every variant must name a template of the tenant.
pub async fn put_sequence(
    store: &dyn Store,
    caller: &Principal,
    id: CampaignId,
    input: SequenceInput,
    now: DateTime<Utc>,
) -> Result<Campaign, DomainError> {
    caller.require(Capability::WriteData)?;
    store.get_campaign(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    let steps = check_sequence(input).map_err(DomainError::Validation)?;
    let mut missing = Vec::new();
    for (s, step) in steps.iter().enumerate() {
        for (v, variant) in step.variants.iter().enumerate() {
            if store
                .get_template(caller.tenant_id, variant.template_id)
                .await?
                .is_none()
            {
                missing.push(FieldError::new(
                    format!("/steps/{s}/variants/{v}/template_id"),
                    "no template with this id",
                ));
            }
        }
    }
    if !missing.is_empty() {
        return Err(DomainError::Validation(missing));
    }
    with_optimistic_retry(|| async {
        let mut campaign = store.get_campaign(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
        let expected = campaign.version;
        campaign.set_sequence(steps.clone(), now);
        store.replace_campaign(&campaign, expected).await?;
        Ok(campaign)
    })
    .await
}

/// Variables one lead lacks in one step's variant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MissingInStep {
    /// 1 for the first step.
    pub step: u32,
    pub variant: u32,
    pub variables: Vec<String>,
}

/// A lead that some step cannot be rendered for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BlockedLead {
    pub lead_id: LeadId,
    pub email: String,
    pub missing: Vec<MissingInStep>,
}

/// One step rendered for the preview lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PreviewStep {
    pub step: u32,
    pub variant: u32,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub lead_id: LeadId,
    pub steps: Vec<PreviewStep>,
}

/// What a launch found, planned or would plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LaunchReport {
    /// Whether the campaign can launch (no blocked leads).
    pub ready: bool,
    pub leads_checked: u32,
    /// Leads some step cannot be rendered for, with the variables they lack.
    pub blocked_leads: Vec<BlockedLead>,
    /// Leads not mailed: stopped (replied, bounced, unsubscribed...) or
    /// without an email address; `skipped` says which.
    pub skipped_leads: u32,
    /// The skipped leads by reason; the counts add up to `skipped_leads`.
    pub skipped: SkippedLeads,
    /// First emails planned by this launch, and held emails replanned.
    pub scheduled: u32,
    /// Leads for whom the caps and windows left no slot within the planning horizon.
    pub unplanned: u32,
    pub first_send_at: Option<DateTime<Utc>>,
    /// A dry run's rendering of every step for one lead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<Preview>,
}

/// Why a launch mails no email to some leads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SkippedLeads {
    /// Leads in a status that gets no more mail (replied, interested, not
    /// interested, bounced, unsubscribed, completed).
    pub stopped: u32,
    /// Leads without an email address (known by their phone only): never mailed.
    pub no_email: u32,
}

impl SkippedLeads {
    fn count(&mut self, lead: &Lead) -> bool {
        if !lead_is_mailable(lead.status) {
            self.stopped += 1;
        } else if lead.email.is_none() {
            self.no_email += 1;
        } else {
            return false;
        }
        true
    }
}

#[derive(Debug, Clone, Default)]
pub struct LaunchOptions {
    pub dry_run: bool,
    /// The lead a dry run previews (default: the first lead).
    pub preview_lead: Option<LeadId>,
}

/// A launch: the campaign as it now is, and the report.
#[derive(Debug, Clone)]
pub struct Launched {
    pub campaign: Campaign,
    pub report: LaunchReport,
}

/// Whether a lead in this status still gets emails.
pub fn lead_is_mailable(status: LeadStatus) -> bool {
    matches!(status, LeadStatus::New | LeadStatus::Contacted)
}

/// The zone a lead's emails are timed in: the lead's own, else its
/// organisation's, else the campaign's.
pub fn lead_timezone(lead: &Lead, organization: Option<&Organization>, settings: &SendingSettings) -> Timezone {
    lead.timezone
        .as_deref()
        .and_then(|tz| Timezone::parse(tz).ok())
        .or(organization.and_then(|o| o.timezone))
        .unwrap_or(settings.timezone)
}

pub(crate) async fn all_campaign_leads(
    store: &dyn Store,
    tenant: TenantId,
    campaign: CampaignId,
) -> Result<Vec<Lead>, DomainError> {
    let mut leads = Vec::new();
    let mut request = PageRequest::first(crate::page::MAX_PAGE_SIZE);
    loop {
        let page = store.list_campaign_leads(tenant, campaign, None, &request).await?;
        leads.extend(page.items);
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(crate::page::Cursor(cursor)),
            None => return Ok(leads),
        }
    }
}

pub(crate) async fn all_campaign_emails(
    store: &dyn Store,
    tenant: TenantId,
    campaign: CampaignId,
) -> Result<Vec<OutboundEmail>, DomainError> {
    let mut emails = Vec::new();
    let mut request = PageRequest::first(crate::page::MAX_PAGE_SIZE);
    loop {
        let page = store.list_campaign_emails(tenant, campaign, &request).await?;
        emails.extend(page.items);
        match page.next_cursor {
            Some(cursor) => request.cursor = Some(crate::page::Cursor(cursor)),
            None => return Ok(emails),
        }
    }
}

/// The organisations of these leads, read once each.
pub(crate) async fn organizations_of(
    store: &dyn Store,
    tenant: TenantId,
    leads: &[Lead],
) -> Result<HashMap<OrganizationId, Organization>, DomainError> {
    let mut out = HashMap::new();
    for id in leads.iter().filter_map(|l| l.organization_id) {
        if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(id)
            && let Some(org) = store.get_organization(tenant, id).await?
        {
            slot.insert(org);
        }
    }
    Ok(out)
}

/// The campaign's mailboxes, each of which must exist and be able to send.
async fn sending_mailboxes(
    store: &dyn Store,
    tenant: TenantId,
    settings: &SendingSettings,
) -> Result<Vec<Mailbox>, DomainError> {
    if settings.mailbox_ids.is_empty() {
        return Err(DomainError::invalid(
            "/settings/mailbox_ids",
            "the campaign needs at least one mailbox to send from",
        ));
    }
    let mut mailboxes = Vec::new();
    let mut problems = Vec::new();
    for (index, id) in settings.mailbox_ids.iter().enumerate() {
        match store.get_mailbox(tenant, *id).await? {
            Some(mailbox) if mailbox.can_send() => mailboxes.push(mailbox),
            Some(mailbox) => problems.push(FieldError::new(
                format!("/settings/mailbox_ids/{index}"),
                format!(
                    "the mailbox is {}; only a verified mailbox can send (GET /v1/mailboxes/{} asks SES again)",
                    mailbox.status, mailbox.id
                ),
            )),
            None => problems.push(FieldError::new(
                format!("/settings/mailbox_ids/{index}"),
                "no mailbox with this id",
            )),
        }
    }
    if problems.is_empty() {
        Ok(mailboxes)
    } else {
        Err(DomainError::Validation(problems))
    }
}

/// Every template a step variant uses, compiled from its current version.
pub(crate) async fn compiled_templates(
    store: &dyn Store,
    campaign: &Campaign,
) -> Result<HashMap<TemplateId, (u32, CompiledTemplate)>, DomainError> {
    let mut out = HashMap::new();
    let mut problems = Vec::new();
    for (s, step) in campaign.sequence.iter().enumerate() {
        for (v, variant) in step.variants.iter().enumerate() {
            if out.contains_key(&variant.template_id) {
                continue;
            }
            let field = format!("/sequence/{s}/variants/{v}/template_id");
            match store.get_template(campaign.tenant_id, variant.template_id).await? {
                None => problems.push(FieldError::new(field, "the template was deleted")),
                Some(template) => match template.compile() {
                    Ok(compiled) => {
                        out.insert(variant.template_id, (template.version, compiled));
                    }
                    Err(err) => problems.push(FieldError::new(field, err)),
                },
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(DomainError::Validation(problems))
    }
}

/// Checks, and unless it is a dry run, launches or resumes the campaign.
pub async fn launch(
    store: &dyn Store,
    caller: &Principal,
    id: CampaignId,
    options: LaunchOptions,
    now: DateTime<Utc>,
    rng: &mut (impl Rng + Send),
) -> Result<Launched, DomainError> {
    caller.require(Capability::WriteData)?;
    let tenant = caller.tenant_id;
    let campaign = store.get_campaign(tenant, id).await?.ok_or(NOT_FOUND)?;
    if CampaignAction::Activate.target(campaign.status).is_none() {
        return Err(DomainError::InvalidTransition {
            status: campaign.status,
            action: "activate",
        });
    }
    if campaign.sequence.is_empty() {
        return Err(DomainError::invalid(
            "/sequence",
            "the campaign has no sequence; PUT /v1/campaigns/{id}/sequence first",
        ));
    }
    let settings = campaign.sending_settings();
    let mailboxes = sending_mailboxes(store, tenant, &settings).await?;
    let templates = compiled_templates(store, &campaign).await?;
    let leads = all_campaign_leads(store, tenant, id).await?;
    let organizations = organizations_of(store, tenant, &leads).await?;
    let sender = &mailboxes[0];

    let mut report = LaunchReport {
        ready: true,
        leads_checked: 0,
        blocked_leads: Vec::new(),
        skipped_leads: 0,
        skipped: SkippedLeads::default(),
        scheduled: 0,
        unplanned: 0,
        first_send_at: None,
        preview: None,
    };
    let context_of = |lead: &Lead| {
        TemplateContext::for_email(
            lead,
            lead.organization_id.and_then(|o| organizations.get(&o)),
            SenderInfo {
                name: sender.display_name.as_deref(),
                email: sender.email.as_str(),
            },
            PREVIEW_UNSUBSCRIBE_URL,
        )
    };
    for lead in &leads {
        if report.skipped.count(lead) {
            report.skipped_leads += 1;
            continue;
        }
        let Some(address) = lead.email.as_ref() else {
            continue; // counted as skipped just above
        };
        report.leads_checked += 1;
        let context = context_of(lead);
        let mut missing = Vec::new();
        for (s, step) in campaign.sequence.iter().enumerate() {
            for (v, variant) in step.variants.iter().enumerate() {
                let (_, compiled) = &templates[&variant.template_id];
                let variables = compiled.missing_variables(&context);
                if !variables.is_empty() {
                    missing.push(MissingInStep {
                        step: s as u32 + 1,
                        variant: v as u32,
                        variables,
                    });
                }
            }
        }
        if !missing.is_empty() {
            report.blocked_leads.push(BlockedLead {
                lead_id: lead.id,
                email: address.as_str().to_string(),
                missing,
            });
        }
    }
    report.ready = report.blocked_leads.is_empty();

    if options.dry_run {
        let preview_lead = match options.preview_lead {
            Some(wanted) => Some(leads.iter().find(|l| l.id == wanted).ok_or(DomainError::invalid(
                "/preview_lead_id",
                "no lead with this id in the campaign",
            ))?),
            // Phone-only leads are never mailed: preview the first lead with an address.
            None => leads.iter().find(|l| l.email.is_some()).or(leads.first()),
        };
        if let Some(lead) = preview_lead {
            let context = context_of(lead);
            let mut steps = Vec::new();
            for (s, step) in campaign.sequence.iter().enumerate() {
                let variant = step.pick_variant(crate::ids::EmailId::for_step(lead.id, s as u32 + 1));
                let (_, compiled) = &templates[&step.variants[variant].template_id];
                // A step the lead lacks variables for is reported above; its preview is left out.
                if let Ok(rendered) = compiled.render(&context, crate::ids::EmailId::for_step(lead.id, s as u32 + 1)) {
                    steps.push(PreviewStep {
                        step: s as u32 + 1,
                        variant: variant as u32,
                        subject: rendered.subject,
                        text: rendered.text,
                        html: rendered.html,
                    });
                }
            }
            report.preview = Some(Preview {
                lead_id: lead.id,
                steps,
            });
        }
        return Ok(Launched { campaign, report });
    }
    if !report.ready {
        return Err(DomainError::LaunchBlocked(Box::new(report)));
    }

    // Plan: first emails for leads that have none, and held emails again.
    let existing = all_campaign_emails(store, tenant, id).await?;
    let mut started: std::collections::HashSet<LeadId> = existing.iter().map(|e| e.lead_id).collect();
    let lead_by_id: HashMap<LeadId, &Lead> = leads.iter().map(|l| (l.id, l)).collect();
    enum Item<'a> {
        New(&'a Lead, &'a EmailAddress),
        Again(Box<OutboundEmail>),
    }
    let mut items = Vec::new();
    let mut requests = Vec::new();
    for email in existing {
        if email.status != EmailStatus::Scheduled {
            continue;
        }
        let Some(lead) = lead_by_id.get(&email.lead_id) else {
            continue;
        };
        let tz = lead_timezone(
            lead,
            lead.organization_id.and_then(|o| organizations.get(&o)),
            &settings,
        );
        let not_before = email.scheduled_at.max(now);
        let request = if email.step == 1 {
            SendRequest::first_email(items.len(), tz, not_before)
        } else {
            SendRequest::follow_up(items.len(), tz, not_before, email.mailbox_id)
        };
        requests.push(request);
        items.push(Item::Again(Box::new(email)));
    }
    for lead in &leads {
        // Leads without an address were counted as skipped above.
        let Some(address) = lead.email.as_ref() else {
            continue;
        };
        if lead_is_mailable(lead.status) && started.insert(lead.id) {
            let organization = lead.organization_id.and_then(|o| organizations.get(&o));
            requests.push(SendRequest::first_email(
                items.len(),
                lead_timezone(lead, organization, &settings),
                now,
            ));
            items.push(Item::New(lead, address));
        }
    }
    let mailbox_ids: Vec<MailboxId> = mailboxes.iter().map(|m| m.id).collect();
    let bookings = store.mailbox_bookings(tenant, &mailbox_ids).await?;
    let capacities = capacities(&mailboxes, &bookings);
    let rules = PlanRules {
        window: settings.window.clone(),
        new_leads_per_day: settings.daily_new_leads.map(|per_day| NewLeadCap {
            per_day,
            timezone: settings.timezone,
            booked_per_day: HashMap::new(),
        }),
        until: None,
    };
    let plan = plan_sends(&capacities, requests, &rules, rng);
    report.unplanned = plan.unplanned.len() as u32;

    let mut fresh = Vec::new();
    let mut booked: HashMap<MailboxId, BTreeMap<NaiveDate, u32>> = HashMap::new();
    let mut last: HashMap<MailboxId, DateTime<Utc>> = HashMap::new();
    let mailbox_tz: HashMap<MailboxId, Timezone> = mailboxes.iter().map(|m| (m.id, m.timezone)).collect();
    for assignment in &plan.assignments {
        *booked
            .entry(assignment.mailbox)
            .or_default()
            .entry(local_date(mailbox_tz[&assignment.mailbox], assignment.at))
            .or_insert(0) += 1;
        let latest = last.entry(assignment.mailbox).or_insert(assignment.at);
        *latest = (*latest).max(assignment.at);
        report.first_send_at = Some(report.first_send_at.map_or(assignment.at, |t| t.min(assignment.at)));
        match &mut items[assignment.lead] {
            Item::New(lead, address) => {
                let email_id = crate::ids::EmailId::for_step(lead.id, 1);
                let step = &campaign.sequence[0];
                let variant = step.pick_variant(email_id);
                fresh.push(OutboundEmail::schedule(
                    PlannedEmail {
                        tenant_id: tenant,
                        campaign_id: id,
                        lead_id: lead.id,
                        to: (*address).clone(),
                        step: 1,
                        variant: variant as u32,
                        template_id: Some(step.variants[variant].template_id),
                        mailbox_id: assignment.mailbox,
                        at: assignment.at,
                        thread: Vec::new(),
                    },
                    now,
                ));
            }
            Item::Again(email) => {
                let expected = email.version;
                email.mailbox_id = assignment.mailbox;
                email.reschedule(assignment.at, now)?;
                match store.save_email(email, expected).await {
                    // A sender moved it meanwhile; it is in hand.
                    Ok(()) | Err(crate::StoreError::VersionConflict) => {}
                    Err(err) => return Err(err.into()),
                }
                report.scheduled += 1;
            }
        }
    }
    for chunk in fresh.chunks(100) {
        let stored = store.schedule_emails(chunk).await?;
        report.scheduled += stored.iter().filter(|s| **s).count() as u32;
    }
    for (mailbox, days) in booked {
        let per_day: Vec<(NaiveDate, u32)> = days.into_iter().collect();
        store.book_sends(tenant, mailbox, &per_day, last[&mailbox]).await?;
    }

    let campaign = with_optimistic_retry(|| async {
        let mut campaign = store.get_campaign(tenant, id).await?.ok_or(NOT_FOUND)?;
        if campaign.status == CampaignStatus::Active {
            return Ok(campaign);
        }
        let expected = campaign.version;
        campaign.transition(CampaignAction::Activate, now)?;
        store.replace_campaign(&campaign, expected).await?;
        Ok(campaign)
    })
    .await?;
    Ok(Launched { campaign, report })
}

/// The planner's view of mailboxes, with what is already booked on them.
pub(crate) fn capacities(
    mailboxes: &[Mailbox],
    bookings: &HashMap<MailboxId, MailboxBookings>,
) -> Vec<MailboxCapacity> {
    mailboxes
        .iter()
        .map(|m| {
            let mut capacity = m.capacity();
            if let Some(b) = bookings.get(&m.id) {
                capacity.booked_per_day = b.booked_per_day.clone();
                for (day, sent) in &b.sent_per_day {
                    let booked = capacity.booked_per_day.entry(*day).or_insert(0);
                    *booked = (*booked).max(*sent);
                }
                capacity.last_send = b.last_booked_at;
            }
            capacity
        })
        .collect()
}

/// The next instant at or after `from` when both the campaign window (in the
/// lead's zone) and the mailbox window (in its zone) are open.
pub fn next_open_slot(
    settings: &SendingSettings,
    lead_tz: Timezone,
    mailbox: &Mailbox,
    from: DateTime<Utc>,
) -> DateTime<Utc> {
    let mut at = from;
    for _ in 0..64 {
        let campaign_open = schedule::next_slot(&settings.window, lead_tz, at);
        let both = schedule::next_slot(&mailbox.window, mailbox.timezone, campaign_open);
        if both == campaign_open {
            return both;
        }
        at = both;
    }
    at
}
