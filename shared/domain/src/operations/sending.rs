//! The scheduler's half (find due emails, lease them, queue send jobs) and
//! the sender's half (check, claim, send once, record, plan the next step).
//!
//! At most once: the sender writes its claim (`scheduled → sending`,
//! version-checked) after every check and just before the SES call, with
//! nothing in between that can fail but the call itself. A job delivered
//! again finds the email `sending` or `sent` and sends nothing. When a send's
//! outcome is unknown (a timeout, a crash after the call), the email stays
//! `sending`: the SES Send event resolves it (docs/decisions.md §17).

use super::launch::{lead_is_mailable, lead_timezone, next_open_slot};
use crate::activity::Activity;
use crate::campaign::CampaignStatus;
use crate::email::EmailAddress;
use crate::error::{DomainError, StoreError};
use crate::ids::EmailId;
use crate::lead::LeadStatus;
use crate::mailbox::Mailbox;
use crate::message::{self, OutboundMessage};
use crate::outbound::{EmailStatus, OutboundEmail, PlannedEmail, SendJob, SentEmail};
use crate::ports::{DUE_SHARDS, MailSender, RawSend, SendError, SendQueue, Store, UnsubscribeLinks};
use crate::reply_address::ReplyAddresses;
use crate::schedule::{self, SendRequest, local_date, plan_sends};
use crate::sequence::SendingSettings;
use crate::template::{SenderInfo, TemplateCache, TemplateContext};
use crate::tracking::{self, TrackingSet};
use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;

/// A scheduler tick hands out the emails due before `now + LOOKAHEAD`.
pub const LOOKAHEAD: TimeDelta = TimeDelta::seconds(60);
/// A handed-out email is offered again after this if no sender took it.
pub const LEASE: TimeDelta = TimeDelta::minutes(15);
/// SQS's longest message delay.
pub const MAX_DELAY_SECONDS: i64 = 900;
/// Emails handed out per shard per tick (the rest wait for the next tick).
pub const DUE_PER_SHARD: usize = 1000;
/// Send attempts before an email that SES keeps throttling is given up.
pub const MAX_ATTEMPTS: u32 = 8;

/// How send jobs are delayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delays {
    /// Each job waits until its email's slot (SQS DelaySeconds).
    UntilSlot,
    /// Jobs go at once: the devstack's fast-forwarded clock, where real
    /// seconds are not simulated ones.
    None,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DispatchReport {
    pub enqueued: usize,
    /// Emails another scheduler or a sender changed under us.
    pub skipped: usize,
}

/// One scheduler pass over the due index.
pub async fn dispatch_due(
    store: &dyn Store,
    queue: &dyn SendQueue,
    now: DateTime<Utc>,
    delays: Delays,
) -> Result<DispatchReport, DomainError> {
    let mut report = DispatchReport::default();
    for shard in 0..DUE_SHARDS {
        let due = store.due_emails(shard, now + LOOKAHEAD, DUE_PER_SHARD).await?;
        let mut jobs = Vec::with_capacity(due.len());
        for item in due {
            let mut email = item.email;
            let expected = email.version;
            email.lease(now + LEASE, now)?;
            match store.save_email(&email, expected).await {
                Ok(()) => {}
                Err(StoreError::VersionConflict) => {
                    report.skipped += 1;
                    continue;
                }
                Err(err) => return Err(err.into()),
            }
            let delay = match delays {
                Delays::UntilSlot => (email.scheduled_at - now).num_seconds().clamp(0, MAX_DELAY_SECONDS) as u32,
                Delays::None => 0,
            };
            jobs.push((
                SendJob {
                    tenant_id: email.tenant_id,
                    lead_id: email.lead_id,
                    email_id: email.id,
                },
                delay,
            ));
        }
        // Leased first, queued second: a failed enqueue is retried when the lease ends.
        queue.enqueue_sends(&jobs).await?;
        report.enqueued += jobs.len();
    }
    Ok(report)
}

/// The earliest due instant in the index (the devstack's clock jumps to it).
pub async fn earliest_due(store: &dyn Store) -> Result<Option<DateTime<Utc>>, DomainError> {
    let mut earliest: Option<DateTime<Utc>> = None;
    for shard in 0..DUE_SHARDS {
        let first = store.due_emails(shard, DateTime::<Utc>::MAX_UTC, 1).await?;
        if let Some(at) = first.first().and_then(|d| d.email.due_at()) {
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
    }
    Ok(earliest)
}

/// What the sender needs besides storage.
pub struct SendContext<'a> {
    pub store: &'a dyn Store,
    pub mailer: &'a dyn MailSender,
    pub links: &'a dyn UnsubscribeLinks,
    /// Tenants' SES configuration sets are named this plus the tenant id and
    /// the campaign's tracking (`tracking::TrackingSet`); they publish the emails' events.
    pub configuration_set_prefix: Option<&'a str>,
    pub templates: &'a TemplateCache,
    /// When a reply domain is set up, each email's `Reply-To` is its signed
    /// reply address there (the mailbox's own `reply_to` otherwise).
    pub replies: Option<&'a ReplyAddresses>,
}

/// What became of a send job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    Sent {
        ses_message_id: String,
    },
    /// Nothing to do: the email is gone, sent, being sent or stopped.
    AlreadyHandled,
    /// Kept back: the campaign is not active.
    Held,
    /// Stopped for good (`suppressed` or `cancelled`).
    Stopped(EmailStatus),
    /// Moved to a later slot: window closed, mailbox full or SES throttling.
    Rescheduled(DateTime<Utc>),
    /// Refused for good (or could not be built).
    Failed(String),
    /// The send may have happened; the email stays `sending`.
    OutcomeUnknown,
}

/// Saves a changed email; a lost race means someone else handled it.
async fn save(store: &dyn Store, email: &OutboundEmail, expected: u64) -> Result<bool, DomainError> {
    match store.save_email(email, expected).await {
        Ok(()) => Ok(true),
        Err(StoreError::VersionConflict) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

async fn stop(
    store: &dyn Store,
    mut email: OutboundEmail,
    status: EmailStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<SendOutcome, DomainError> {
    let expected = email.version;
    email.stop(status, reason, now)?;
    Ok(if save(store, &email, expected).await? {
        SendOutcome::Stopped(status)
    } else {
        SendOutcome::AlreadyHandled
    })
}

async fn reschedule(
    store: &dyn Store,
    mut email: OutboundEmail,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<SendOutcome, DomainError> {
    let expected = email.version;
    email.reschedule(at, now)?;
    Ok(if save(store, &email, expected).await? {
        SendOutcome::Rescheduled(at)
    } else {
        SendOutcome::AlreadyHandled
    })
}

/// Sends one job's email if, at `now`, it still should go.
pub async fn send_email(
    ctx: &SendContext<'_>,
    job: &SendJob,
    now: DateTime<Utc>,
    rng: &mut (impl Rng + Send),
) -> Result<SendOutcome, DomainError> {
    let store = ctx.store;
    let tenant = job.tenant_id;
    // One read for the email and the thread it may continue.
    let lead_emails = store.list_lead_emails(tenant, job.lead_id).await?;
    let Some(email) = lead_emails.iter().find(|e| e.id == job.email_id).cloned() else {
        return Ok(SendOutcome::AlreadyHandled);
    };
    if email.status.was_sent() {
        // A redelivered job of a sent email: finish what the send started.
        after_sent(store, &email, now, rng).await?;
        return Ok(SendOutcome::AlreadyHandled);
    }
    if email.status != EmailStatus::Scheduled || email.held {
        return Ok(SendOutcome::AlreadyHandled);
    }

    let Some(campaign) = store.get_campaign(tenant, email.campaign_id).await? else {
        return stop(store, email, EmailStatus::Cancelled, "the campaign was deleted", now).await;
    };
    match campaign.status {
        CampaignStatus::Active => {}
        CampaignStatus::Draft | CampaignStatus::Paused => {
            let mut email = email;
            let expected = email.version;
            email.hold(now)?;
            save(store, &email, expected).await?;
            return Ok(SendOutcome::Held);
        }
        CampaignStatus::Completed | CampaignStatus::Archived => {
            let reason = format!("the campaign is {}", campaign.status);
            return stop(store, email, EmailStatus::Cancelled, &reason, now).await;
        }
    }
    let Some(lead) = store.get_lead(tenant, email.lead_id).await? else {
        return stop(store, email, EmailStatus::Cancelled, "the lead was deleted", now).await;
    };
    if !lead_is_mailable(lead.status) {
        let status = match lead.status {
            LeadStatus::Bounced | LeadStatus::Unsubscribed => EmailStatus::Suppressed,
            _ => EmailStatus::Cancelled,
        };
        let reason = format!("the lead is {}", lead.status);
        return stop(store, email, status, &reason, now).await;
    }
    // The address may have been removed since the email was planned (a phone-only lead now).
    let Some(to) = lead.email.clone() else {
        return stop(
            store,
            email,
            EmailStatus::Cancelled,
            "the lead has no email address",
            now,
        )
        .await;
    };
    let settings = campaign.sending_settings();
    if settings.stop_for_company
        && let Some(organization) = lead.organization_id
        && colleague_replied(store, &campaign, organization).await?
    {
        let reason = "someone at the organisation replied (stop_for_company)";
        return stop(store, email, EmailStatus::Cancelled, reason, now).await;
    }
    if let Some(entry) = store.suppressed(tenant, &to).await? {
        let reason = format!("the address is on the suppression list ({:?})", entry.reason).to_lowercase();
        return stop(store, email, EmailStatus::Suppressed, &reason, now).await;
    }
    let Some(step) = campaign.sequence.get(email.step as usize - 1) else {
        return stop(
            store,
            email,
            EmailStatus::Cancelled,
            "the sequence no longer has this step",
            now,
        )
        .await;
    };
    let Some(mailbox) = store.get_mailbox(tenant, email.mailbox_id).await? else {
        return stop(store, email, EmailStatus::Cancelled, "the mailbox was deleted", now).await;
    };
    if !mailbox.can_send() {
        // A paused or unverified mailbox: try again in an hour.
        return reschedule(store, email, now + TimeDelta::hours(1), now).await;
    }
    let organization = match lead.organization_id {
        Some(id) => store.get_organization(tenant, id).await?,
        None => None,
    };
    let lead_tz = lead_timezone(&lead, organization.as_ref(), &settings);
    let at = now.max(email.scheduled_at - LOOKAHEAD);
    let slot = next_open_slot(&settings, lead_tz, &mailbox, at);
    if slot > at + LOOKAHEAD {
        return reschedule(store, email, slot, now).await;
    }

    // Build everything before the claim, so nothing but the SES call can fail after it.
    let variant = step
        .variants
        .get(email.variant as usize)
        .unwrap_or(&step.variants[step.pick_variant(email.id)]);
    let previous = if step.same_thread && email.step > 1 {
        lead_emails
            .iter()
            .find(|p| p.step == email.step - 1 && p.status.was_sent())
            .cloned()
    } else {
        None
    };
    let unsubscribe_url = ctx.links.url(tenant, lead.id, email.id);
    let built = match store.get_template(tenant, variant.template_id).await? {
        None => Err("the template was deleted".to_string()),
        Some(template) => ctx
            .templates
            .compiled(&template)
            .and_then(|compiled| {
                let context = TemplateContext::for_email(
                    &lead,
                    organization.as_ref(),
                    SenderInfo {
                        name: mailbox.display_name.as_deref(),
                        email: mailbox.email.as_str(),
                    },
                    &unsubscribe_url,
                );
                compiled.render(&context, email.id)
            })
            .map(|rendered| (template.version, rendered))
            .map_err(|err| format!("the template does not render: {err}")),
    };
    let (template_version, rendered) = match built {
        Ok(built) => built,
        Err(reason) => return fail_unsent(store, email, reason, false, now).await,
    };
    let subject = match &previous {
        Some(p) => reply_subject(p.subject.as_deref().unwrap_or(&rendered.subject)),
        None => rendered.subject.clone(),
    };
    let message_id = message::sequence_message_id(tenant, lead.id, email.step, email.id, mailbox.email.domain());
    let reply_to = match ctx.replies {
        Some(replies) => EmailAddress::parse(&replies.for_email(tenant, lead.id, email.step)).ok(),
        None => mailbox.reply_to.clone(),
    };
    let (in_reply_to, references) = match &previous {
        Some(p) => {
            let mut refs = p.thread.clone();
            refs.extend(p.message_id.clone());
            (p.message_id.clone(), refs)
        }
        None => (None, Vec::new()),
    };
    let outbound = OutboundMessage {
        from: message::Mailbox::new(mailbox.display_name.as_deref(), mailbox.email.clone()),
        to: message::Mailbox::new(lead_display_name(&lead).as_deref(), to.clone()),
        reply_to,
        subject: subject.clone(),
        text: rendered.text,
        // Without click tracking every link says so to SES (`ses:no-track`); unsubscribe links never are tracked.
        html: rendered
            .html
            .map(|html| tracking::prepare_html(&html, settings.track_clicks, &unsubscribe_url)),
        message_id: message_id.clone(),
        in_reply_to,
        references: references.clone(),
        list_unsubscribe_url: unsubscribe_url,
        list_unsubscribe_mailto: None,
        postal_address: settings.postal_address.clone(),
        headers: Vec::new(),
    };
    let raw = outbound.to_rfc5322(now);
    let tags = [
        ("tenant_id", tenant.to_string()),
        ("campaign_id", campaign.id.to_string()),
        ("lead_id", lead.id.to_string()),
        ("step", email.step.to_string()),
        ("email_id", email.id.to_string()),
    ];

    // The mailbox's cap for its day, then the claim.
    let day = local_date(mailbox.timezone, now);
    if !store.count_send(tenant, mailbox.id, day, mailbox.daily_cap).await? {
        let tomorrow = schedule::start_of_next_day(mailbox.timezone, now).unwrap_or(now + TimeDelta::days(1));
        let slot = next_open_slot(&settings, lead_tz, &mailbox, tomorrow);
        return reschedule(store, email, slot, now).await;
    }
    let mut email = email;
    let expected = email.version;
    email.claim(now)?;
    let claimed = match store.save_email(&email, expected).await {
        Ok(()) => true,
        Err(StoreError::VersionConflict) => false,
        Err(err) => {
            store.uncount_send(tenant, mailbox.id, day).await.ok();
            return Err(err.into());
        }
    };
    if !claimed {
        store.uncount_send(tenant, mailbox.id, day).await?;
        return Ok(SendOutcome::AlreadyHandled);
    }

    let result = ctx
        .mailer
        .send_raw(RawSend {
            from: &mailbox.email,
            to: &to,
            raw: &raw,
            tags: &tags,
            // Opens are tracked (SES inserts its pixel) only through the set that publishes them.
            configuration_set: ctx.configuration_set_prefix.map(|prefix| {
                TrackingSet::for_campaign(settings.track_opens, settings.track_clicks).name(prefix, tenant)
            }),
        })
        .await;
    let expected = email.version;
    match result {
        Ok(ses_message_id) => {
            email.to = to;
            email.thread = references;
            email.mark_sent(
                SentEmail {
                    ses_message_id: ses_message_id.clone(),
                    message_id,
                    subject,
                    template_version: Some(template_version),
                },
                now,
            )?;
            // With the pointer from the SES message id: events without tags find the email by it.
            store.record_sent(&email, expected).await?;
            after_sent(store, &email, now, rng).await?;
            Ok(SendOutcome::Sent { ses_message_id })
        }
        Err(SendError::Transient(reason)) => {
            store.uncount_send(tenant, mailbox.id, day).await?;
            if email.attempts >= MAX_ATTEMPTS {
                let reason = format!("gave up after {} attempts: {reason}", email.attempts);
                email.mark_failed(reason.clone(), false, now)?;
                store.save_email(&email, expected).await?;
                return Ok(SendOutcome::Failed(reason));
            }
            // Backoff doubles per attempt: 1, 2, 4 ... minutes.
            let at = now + TimeDelta::minutes(1 << (email.attempts - 1).min(10));
            email.release(at, Some(reason), now)?;
            store.save_email(&email, expected).await?;
            Ok(SendOutcome::Rescheduled(at))
        }
        Err(SendError::Rejected(reason)) => {
            store.uncount_send(tenant, mailbox.id, day).await?;
            email.mark_failed(reason.clone(), true, now)?;
            store.save_email(&email, expected).await?;
            Ok(SendOutcome::Failed(reason))
        }
        Err(SendError::Unknown(reason)) => {
            tracing::warn!(
                tenant_id = %tenant,
                email_id = %email.id,
                error = %reason,
                "the outcome of a send is unknown; the email stays sending until SES reports it"
            );
            Ok(SendOutcome::OutcomeUnknown)
        }
    }
}

/// Marks an email that cannot be built as failed (through a claim, so a
/// concurrent sender cannot send it meanwhile).
async fn fail_unsent(
    store: &dyn Store,
    mut email: OutboundEmail,
    reason: String,
    rejected: bool,
    now: DateTime<Utc>,
) -> Result<SendOutcome, DomainError> {
    let expected = email.version;
    email.claim(now)?;
    if !save(store, &email, expected).await? {
        return Ok(SendOutcome::AlreadyHandled);
    }
    let expected = email.version;
    email.mark_failed(reason.clone(), rejected, now)?;
    store.save_email(&email, expected).await?;
    Ok(SendOutcome::Failed(reason))
}

/// Whether a lead of the campaign at this organisation has replied: the
/// campaign's leads in the replied statuses (a small set, read by status).
async fn colleague_replied(
    store: &dyn Store,
    campaign: &crate::campaign::Campaign,
    organization: crate::ids::OrganizationId,
) -> Result<bool, DomainError> {
    for status in [LeadStatus::Replied, LeadStatus::Interested, LeadStatus::NotInterested] {
        let mut request = crate::page::PageRequest::first(crate::page::MAX_PAGE_SIZE);
        loop {
            let page = store
                .list_campaign_leads(campaign.tenant_id, campaign.id, Some(status), &request)
                .await?;
            if page.items.iter().any(|l| l.organization_id == Some(organization)) {
                return Ok(true);
            }
            match page.next_cursor {
                Some(cursor) => request.cursor = Some(crate::page::Cursor(cursor)),
                None => break,
            }
        }
    }
    Ok(false)
}

fn reply_subject(subject: &str) -> String {
    let trimmed = subject.trim();
    if trimmed.len() >= 3 && trimmed[..3].eq_ignore_ascii_case("re:") {
        trimmed.to_string()
    } else {
        format!("Re: {trimmed}")
    }
}

fn lead_display_name(lead: &crate::lead::Lead) -> Option<String> {
    let name = [lead.first_name.as_deref(), lead.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    (!name.is_empty()).then_some(name)
}

/// What follows a send, idempotently (a redelivered job runs it again): the
/// lead becomes contacted, the timeline records the send, and the next step
/// is planned from the same mailbox after its delay.
async fn after_sent(
    store: &dyn Store,
    email: &OutboundEmail,
    now: DateTime<Utc>,
    rng: &mut (impl Rng + Send),
) -> Result<(), DomainError> {
    let tenant = email.tenant_id;
    let sent_at = email.sent_at.unwrap_or(now);
    store.append_activities(&[Activity::email_sent(email, sent_at)]).await?;
    let Some(lead) = store.get_lead(tenant, email.lead_id).await? else {
        return Ok(());
    };
    if lead.status == LeadStatus::New {
        super::with_optimistic_retry(|| async {
            let Some(previous) = store.get_lead(tenant, email.lead_id).await? else {
                return Ok(());
            };
            if previous.status != LeadStatus::New {
                return Ok(());
            }
            let mut lead = previous.clone();
            lead.change_status(LeadStatus::Contacted)?;
            lead.updated_at = now;
            lead.version += 1;
            // The address is unchanged, so no claim can be in the way.
            let _ = store.replace_lead(&lead, &previous).await?;
            Ok(())
        })
        .await?;
    }
    // No follow-up for a stopped lead, nor for one whose address was removed meanwhile.
    let (true, Some(to)) = (lead_is_mailable(lead.status), lead.email.clone()) else {
        return Ok(());
    };
    let Some(campaign) = store.get_campaign(tenant, email.campaign_id).await? else {
        return Ok(());
    };
    let Some(step) = campaign.sequence.get(email.step as usize) else {
        return Ok(());
    };
    let next_id = EmailId::for_step(lead.id, email.step + 1);
    if store.get_email(tenant, lead.id, next_id).await?.is_some() {
        return Ok(());
    }
    let Some(mailbox) = store.get_mailbox(tenant, email.mailbox_id).await? else {
        return Ok(());
    };
    let settings: SendingSettings = campaign.sending_settings();
    let organization = match lead.organization_id {
        Some(id) => store.get_organization(tenant, id).await?,
        None => None,
    };
    let lead_tz = lead_timezone(&lead, organization.as_ref(), &settings);
    let not_before = schedule::after_delay(sent_at, step.delay_days, step.business_days, lead_tz);
    let at = plan_follow_up(store, &mailbox, &settings, lead_tz, not_before, rng).await?;
    let variant = step.pick_variant(next_id);
    let mut thread = email.thread.clone();
    thread.extend(email.message_id.clone());
    let next = OutboundEmail::schedule(
        PlannedEmail {
            tenant_id: tenant,
            campaign_id: campaign.id,
            lead_id: lead.id,
            to,
            step: email.step + 1,
            variant: variant as u32,
            template_id: Some(step.variants[variant].template_id),
            mailbox_id: mailbox.id,
            at,
            thread,
        },
        now,
    );
    if store.schedule_emails(std::slice::from_ref(&next)).await?[0] {
        let day = local_date(mailbox.timezone, at);
        store.book_sends(tenant, mailbox.id, &[(day, 1)], at).await?;
    }
    Ok(())
}

/// A follow-up's slot: after `not_before`, inside both windows, on a day
/// the mailbox has room for.
async fn plan_follow_up(
    store: &dyn Store,
    mailbox: &Mailbox,
    settings: &SendingSettings,
    lead_tz: schedule::Timezone,
    not_before: DateTime<Utc>,
    rng: &mut (impl Rng + Send),
) -> Result<DateTime<Utc>, DomainError> {
    let bookings = store.mailbox_bookings(mailbox.tenant_id, &[mailbox.id]).await?;
    let capacities = super::launch::capacities(std::slice::from_ref(mailbox), &bookings);
    let rules = schedule::PlanRules {
        window: settings.window.clone(),
        new_leads_per_day: None,
        until: None,
    };
    let plan = plan_sends(
        &capacities,
        vec![SendRequest::follow_up((), lead_tz, not_before, mailbox.id)],
        &rules,
        rng,
    );
    Ok(plan
        .assignments
        .first()
        .map(|a| a.at)
        .unwrap_or_else(|| next_open_slot(settings, lead_tz, mailbox, not_before)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::campaign::NewCampaign;
    use crate::mailbox::{IdentityVerification, NewMailbox};
    use crate::memory::{MemoryMailer, MemorySendQueue, MemoryStore};
    use crate::operations::launch::{LaunchOptions, launch, put_sequence};
    use crate::operations::test_support::{admin, now};
    use crate::operations::{campaigns, leads};
    use crate::ports::{EmailStore, MailboxStore, SuppressionStore, TemplateStore};
    use crate::sequence::{SequenceInput, SequenceStep, Variant};
    use crate::suppression::{Suppression, SuppressionReason, SuppressionSource, SuppressionTarget};
    use crate::template::{NewTemplate, Template, TemplateCategory};
    use crate::unsubscribe::{LinkSigner, SignedLinks};
    use rand::SeedableRng;
    use serde_json::json;

    pub(crate) struct World {
        pub(crate) store: MemoryStore,
        pub(crate) mailer: MemoryMailer,
        links: SignedLinks,
        templates: TemplateCache,
        pub(crate) tenant: crate::ids::TenantId,
        pub(crate) job: SendJob,
        pub(crate) caller: crate::api_key::Principal,
        pub(crate) campaign: crate::ids::CampaignId,
    }

    impl World {
        pub(crate) fn ctx(&self) -> SendContext<'_> {
            SendContext {
                store: &self.store,
                mailer: &self.mailer,
                links: &self.links,
                configuration_set_prefix: None,
                templates: &self.templates,
                replies: None,
            }
        }

        pub(crate) async fn email(&self) -> OutboundEmail {
            self.store
                .get_email(self.tenant, self.job.lead_id, self.job.email_id)
                .await
                .unwrap()
                .unwrap()
        }
    }

    /// A launched one-lead campaign whose first email is due at `now()` (Monday 10:00 UTC).
    pub(crate) async fn world() -> World {
        let store = MemoryStore::new();
        let (caller, _) = admin(&store).await;
        let mut mailbox = crate::mailbox::Mailbox::create(
            caller.tenant_id,
            NewMailbox {
                email: "sam@acme.io".into(),
                display_name: None,
                reply_to: None,
                daily_cap: Some(10),
                min_gap_seconds: Some(0),
                jitter_seconds: None,
                window: None,
                timezone: None,
            },
            now(),
        )
        .unwrap();
        mailbox.observe_verification(IdentityVerification::Verified, now());
        store.insert_mailbox(&mailbox).await.unwrap().unwrap();
        let template = Template::create(
            caller.tenant_id,
            NewTemplate {
                name: "Intro".into(),
                category: TemplateCategory::default(),
                subject: "Hi {{ first_name }}".into(),
                html: None,
                text: Some("Hello".into()),
            },
            now(),
        )
        .unwrap();
        store.insert_template(&template, &template.snapshot()).await.unwrap();
        let settings = json!({"mailbox_ids": [mailbox.id]}).as_object().unwrap().clone();
        let campaign = campaigns::create(
            &store,
            &caller,
            NewCampaign {
                name: "Q1".into(),
                description: None,
                settings,
            },
            now(),
        )
        .await
        .unwrap();
        let steps = vec![SequenceStep {
            delay_days: 0,
            business_days: false,
            same_thread: false,
            variants: vec![Variant {
                template_id: template.id,
                weight: 1,
            }],
        }];
        put_sequence(&store, &caller, campaign.id, SequenceInput { steps }, now())
            .await
            .unwrap();
        leads::add(
            &store,
            &caller,
            campaign.id,
            vec![json!({"email": "ann@prospect.io", "first_name": "Ann"})],
            leads::Addressing::Batch,
            now(),
        )
        .await
        .unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let launched = launch(&store, &caller, campaign.id, LaunchOptions::default(), now(), &mut rng)
            .await
            .unwrap();
        assert_eq!(launched.report.scheduled, 1);
        let queue = MemorySendQueue::default();
        dispatch_due(&store, &queue, now(), Delays::UntilSlot).await.unwrap();
        let (job, delay) = queue.take().pop().expect("one job");
        assert_eq!(delay, 0);
        World {
            store,
            mailer: MemoryMailer::default(),
            links: SignedLinks::new(LinkSigner::new(&[7; 32]).unwrap(), "https://api.example.com"),
            templates: TemplateCache::default(),
            tenant: caller.tenant_id,
            job,
            caller,
            campaign: campaign.id,
        }
    }

    pub(crate) fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(2)
    }

    #[tokio::test]
    async fn throttling_releases_the_claim_with_backoff_and_is_never_counted_as_sent() {
        let w = world().await;
        w.mailer
            .failures
            .lock()
            .unwrap()
            .push(SendError::Transient("Throttling".into()));
        let outcome = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert_eq!(outcome, SendOutcome::Rescheduled(now() + TimeDelta::minutes(1)));
        let email = w.email().await;
        assert_eq!((email.status, email.attempts), (EmailStatus::Scheduled, 1));
        assert!(w.mailer.sent.lock().unwrap().is_empty());
        let mailbox = email.mailbox_id;
        let day = now().date_naive();
        let counted = w.store.mailbox_bookings(w.tenant, &[mailbox]).await.unwrap()[&mailbox].sent_per_day[&day];
        assert_eq!(counted, 0, "the day's count is taken back");
        // Its next try goes through.
        let later = now() + TimeDelta::minutes(1);
        let outcome = send_email(&w.ctx(), &w.job, later, &mut rng()).await.unwrap();
        assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
        assert_eq!(w.mailer.sent.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_rejection_marks_the_email_rejected_and_it_is_not_retried() {
        let w = world().await;
        w.mailer
            .failures
            .lock()
            .unwrap()
            .push(SendError::Rejected("MessageRejected".into()));
        let outcome = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert_eq!(outcome, SendOutcome::Failed("MessageRejected".into()));
        let email = w.email().await;
        assert_eq!(email.status, EmailStatus::Rejected);
        assert_eq!(email.reason.as_deref(), Some("MessageRejected"));
        let again = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert_eq!(again, SendOutcome::AlreadyHandled);
        assert!(w.mailer.sent.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_unknown_outcome_keeps_the_claim_so_nothing_is_sent_twice() {
        let w = world().await;
        w.mailer
            .failures
            .lock()
            .unwrap()
            .push(SendError::Unknown("timed out".into()));
        let outcome = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert_eq!(outcome, SendOutcome::OutcomeUnknown);
        assert_eq!(w.email().await.status, EmailStatus::Sending);
        let again = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert_eq!(again, SendOutcome::AlreadyHandled);
    }

    #[tokio::test]
    async fn a_suppressed_address_or_domain_is_never_mailed() {
        let w = world().await;
        w.store
            .add_suppression(&Suppression {
                tenant_id: w.tenant,
                target: SuppressionTarget::Domain(crate::email::EmailDomain::parse("prospect.io").unwrap()),
                reason: SuppressionReason::DoNotContact,
                source: SuppressionSource::Api,
                note: None,
                created_at: now(),
            })
            .await
            .unwrap();
        let outcome = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert_eq!(outcome, SendOutcome::Stopped(EmailStatus::Suppressed));
        assert!(w.mailer.sent.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_launch_skips_leads_without_an_email_and_says_why() {
        let w = world().await;
        campaigns::transition(
            &w.store,
            &w.caller,
            w.campaign,
            crate::campaign::CampaignAction::Pause,
            now(),
        )
        .await
        .unwrap();
        let added = leads::add(
            &w.store,
            &w.caller,
            w.campaign,
            vec![
                json!({"phone": "+4915112345678", "first_name": "Phone"}),
                json!({"email": "bob@prospect.io", "first_name": "Bob"}),
            ],
            leads::Addressing::Batch,
            now(),
        )
        .await
        .unwrap();
        let leads::LeadOutcome::Created(phone_only) = &added[0] else {
            panic!("{added:?}")
        };
        let dry_run = LaunchOptions {
            dry_run: true,
            preview_lead: None,
        };
        let checked = launch(&w.store, &w.caller, w.campaign, dry_run, now(), &mut rng())
            .await
            .unwrap();
        assert!(checked.report.ready);
        assert_ne!(
            checked.report.preview.unwrap().lead_id,
            phone_only.id,
            "a mailable lead is previewed"
        );
        let launched = launch(
            &w.store,
            &w.caller,
            w.campaign,
            LaunchOptions::default(),
            now(),
            &mut rng(),
        )
        .await
        .unwrap();
        let report = launched.report;
        assert_eq!(
            (report.skipped_leads, report.skipped.no_email, report.skipped.stopped),
            (1, 1, 0)
        );
        assert_eq!((report.leads_checked, report.scheduled), (2, 2));
        assert!(
            w.store
                .list_lead_emails(w.tenant, phone_only.id)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn an_email_whose_lead_lost_its_address_is_cancelled() {
        let w = world().await;
        let patch = |value: serde_json::Value| -> crate::lead::LeadPatch { crate::input::decode(value, "").unwrap() };
        leads::update(
            &w.store,
            &w.caller,
            w.job.lead_id,
            patch(json!({"phone": "+4915112345678", "email": null})),
            now(),
        )
        .await
        .unwrap();
        let outcome = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert_eq!(outcome, SendOutcome::Stopped(EmailStatus::Cancelled));
        assert_eq!(w.email().await.reason.as_deref(), Some("the lead has no email address"));
        assert!(w.mailer.sent.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_closed_window_moves_the_email_to_the_next_opening() {
        let w = world().await;
        // Friday 17:30 UTC: the default window (Mon–Fri 09–17) opens again on Monday 09:00.
        let friday = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 6, 17, 30, 0).unwrap();
        let outcome = send_email(&w.ctx(), &w.job, friday, &mut rng()).await.unwrap();
        let monday = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 3, 9, 9, 0, 0).unwrap();
        assert_eq!(outcome, SendOutcome::Rescheduled(monday));
        assert_eq!(w.email().await.due_at(), Some(monday));
    }

    #[tokio::test]
    async fn with_stop_for_company_a_reply_from_a_colleague_stops_the_others() {
        use crate::campaign::CampaignPatch;
        use crate::ports::LeadStore;
        let w = world().await;
        let settings = json!({"stop_for_company": true}).as_object().unwrap().clone();
        let patch = CampaignPatch {
            settings: Some(settings),
            ..Default::default()
        };
        campaigns::update(&w.store, &w.caller, w.campaign, patch, now())
            .await
            .unwrap();
        // Bob, at the same company as Ann, replied.
        leads::add(
            &w.store,
            &w.caller,
            w.campaign,
            vec![json!({"email": "bob@prospect.io", "first_name": "Bob"})],
            leads::Addressing::Batch,
            now(),
        )
        .await
        .unwrap();
        let page = w
            .store
            .list_campaign_leads(w.tenant, w.campaign, None, &crate::page::PageRequest::first(10))
            .await
            .unwrap();
        let bob = page
            .items
            .iter()
            .find(|l| l.email.as_ref().is_some_and(|e| e.as_str() == "bob@prospect.io"))
            .unwrap()
            .clone();
        let ann = page
            .items
            .iter()
            .find(|l| l.email.as_ref().is_some_and(|e| e.as_str() == "ann@prospect.io"))
            .unwrap();
        assert!(bob.organization_id.is_some() && bob.organization_id == ann.organization_id);
        let mut replied = bob.clone();
        replied.change_status(LeadStatus::Replied).unwrap();
        replied.version += 1;
        w.store.replace_lead(&replied, &bob).await.unwrap().unwrap();

        let outcome = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert_eq!(outcome, SendOutcome::Stopped(EmailStatus::Cancelled));
        assert!(w.mailer.sent.lock().unwrap().is_empty());
    }
}
