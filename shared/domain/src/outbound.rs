//! Outbound emails: one record per lead and sequence step, from planning to
//! the last SES event. Its status only moves forward:
//!
//! ```text
//! scheduled → sending → sent → delivered → opened → clicked
//!     │          │        └→ bounced | complained
//!     │          ├→ scheduled (released: SES throttled, mailbox full, window closed)
//!     │          └→ failed | rejected
//!     └→ suppressed | cancelled
//! ```
//!
//! `sending` is the sender's claim: written with a version check before the
//! SES call, so a redelivered job, or a second sender racing the first, finds
//! the email claimed and sends nothing (see docs/decisions.md §17).

use crate::email::EmailAddress;
use crate::engagement::{Interaction, machine_reason};
use crate::error::DomainError;
use crate::ids::{CampaignId, EmailId, LeadId, MailboxId, TemplateId, TenantId};
use crate::stats::Metric;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    Scheduled,
    Sending,
    Sent,
    Delivered,
    Opened,
    Clicked,
    Bounced,
    Complained,
    Rejected,
    Failed,
    Suppressed,
    Cancelled,
}

impl EmailStatus {
    pub const ALL: [EmailStatus; 12] = [
        EmailStatus::Scheduled,
        EmailStatus::Sending,
        EmailStatus::Sent,
        EmailStatus::Delivered,
        EmailStatus::Opened,
        EmailStatus::Clicked,
        EmailStatus::Bounced,
        EmailStatus::Complained,
        EmailStatus::Rejected,
        EmailStatus::Failed,
        EmailStatus::Suppressed,
        EmailStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EmailStatus::Scheduled => "scheduled",
            EmailStatus::Sending => "sending",
            EmailStatus::Sent => "sent",
            EmailStatus::Delivered => "delivered",
            EmailStatus::Opened => "opened",
            EmailStatus::Clicked => "clicked",
            EmailStatus::Bounced => "bounced",
            EmailStatus::Complained => "complained",
            EmailStatus::Rejected => "rejected",
            EmailStatus::Failed => "failed",
            EmailStatus::Suppressed => "suppressed",
            EmailStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether SES accepted the email (whatever happened to it later).
    pub fn was_sent(self) -> bool {
        matches!(
            self,
            EmailStatus::Sent
                | EmailStatus::Delivered
                | EmailStatus::Opened
                | EmailStatus::Clicked
                | EmailStatus::Bounced
                | EmailStatus::Complained
        )
    }
}

impl fmt::Display for EmailStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One email of a sequence to one lead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutboundEmail {
    /// Derived from the lead and the step (`EmailId::for_step`), so planning twice plans once.
    pub id: EmailId,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant_id: TenantId,
    pub campaign_id: CampaignId,
    pub lead_id: LeadId,
    /// 1 for the first email of the sequence.
    pub step: u32,
    /// The index of the step's variant this email uses.
    pub variant: u32,
    pub mailbox_id: MailboxId,
    pub to: EmailAddress,
    pub template_id: Option<TemplateId>,
    /// The template version it was rendered from (set when sent).
    pub template_version: Option<u32>,
    /// The rendered subject (set when sent).
    pub subject: Option<String>,
    pub status: EmailStatus,
    pub scheduled_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The id SES gave the message: SES events carry it.
    pub ses_message_id: Option<String>,
    /// Our `Message-ID` header, which replies quote.
    pub message_id: Option<String>,
    /// Message-IDs of the earlier emails of the thread, oldest first.
    #[serde(default)]
    pub thread: Vec<String>,
    /// Why it failed, was suppressed or cancelled.
    pub reason: Option<String>,
    /// Send attempts (claims) so far.
    #[serde(default)]
    pub attempts: u32,
    /// While a scheduler has handed it to the send queue: not picked again before this.
    #[serde(default)]
    pub lease_until: Option<DateTime<Utc>>,
    /// Kept back while its campaign is paused; resuming replans it.
    #[serde(default)]
    pub held: bool,
    /// What SES reported after the send: delivery, opens, clicks, bounce, complaint.
    #[serde(default)]
    pub events: EmailEvents,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// The email a plan puts in the schedule.
#[derive(Debug, Clone)]
pub struct PlannedEmail {
    pub tenant_id: TenantId,
    pub campaign_id: CampaignId,
    pub lead_id: LeadId,
    pub to: EmailAddress,
    pub step: u32,
    pub variant: u32,
    pub template_id: Option<TemplateId>,
    pub mailbox_id: MailboxId,
    pub at: DateTime<Utc>,
    pub thread: Vec<String>,
}

impl OutboundEmail {
    pub fn schedule(plan: PlannedEmail, now: DateTime<Utc>) -> Self {
        Self {
            id: EmailId::for_step(plan.lead_id, plan.step),
            tenant_id: plan.tenant_id,
            campaign_id: plan.campaign_id,
            lead_id: plan.lead_id,
            step: plan.step,
            variant: plan.variant,
            mailbox_id: plan.mailbox_id,
            to: plan.to,
            template_id: plan.template_id,
            template_version: None,
            subject: None,
            status: EmailStatus::Scheduled,
            scheduled_at: plan.at,
            sent_at: None,
            ses_message_id: None,
            message_id: None,
            thread: plan.thread,
            reason: None,
            attempts: 0,
            lease_until: None,
            held: false,
            events: EmailEvents::default(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// When the due index offers it to a scheduler: never while held or
    /// sending; while leased, not before the lease ends.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        (self.status == EmailStatus::Scheduled && !self.held).then(|| {
            self.lease_until
                .map_or(self.scheduled_at, |lease| lease.max(self.scheduled_at))
        })
    }

    fn illegal(&self, action: &str) -> DomainError {
        DomainError::Conflict {
            message: format!("a {} email cannot {action}", self.status),
            existing_id: Some(self.id.to_string()),
        }
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now;
        self.version += 1;
    }

    /// A scheduler hands it to the send queue until `until`.
    pub fn lease(&mut self, until: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.due_at().is_none() {
            return Err(self.illegal("be leased"));
        }
        self.lease_until = Some(until);
        self.touch(now);
        Ok(())
    }

    /// The sender's claim before it calls SES.
    pub fn claim(&mut self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status != EmailStatus::Scheduled || self.held {
            return Err(self.illegal("be sent"));
        }
        self.status = EmailStatus::Sending;
        self.attempts += 1;
        self.lease_until = None;
        self.touch(now);
        Ok(())
    }

    /// Gives a claim back (nothing was sent): due again at `at`.
    pub fn release(
        &mut self,
        at: DateTime<Utc>,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        if self.status != EmailStatus::Sending {
            return Err(self.illegal("be released"));
        }
        self.status = EmailStatus::Scheduled;
        self.scheduled_at = at;
        self.reason = reason;
        self.touch(now);
        Ok(())
    }

    /// Moves a scheduled email to a new slot.
    pub fn reschedule(&mut self, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status != EmailStatus::Scheduled {
            return Err(self.illegal("be rescheduled"));
        }
        self.scheduled_at = at;
        self.lease_until = None;
        self.held = false;
        self.touch(now);
        Ok(())
    }

    /// Keeps it back while the campaign is paused.
    pub fn hold(&mut self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status != EmailStatus::Scheduled {
            return Err(self.illegal("be held"));
        }
        self.held = true;
        self.lease_until = None;
        self.touch(now);
        Ok(())
    }

    pub fn mark_sent(&mut self, sent: SentEmail, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status != EmailStatus::Sending {
            return Err(self.illegal("be marked sent"));
        }
        self.status = EmailStatus::Sent;
        self.sent_at = Some(now);
        self.ses_message_id = Some(sent.ses_message_id);
        self.message_id = Some(sent.message_id);
        self.subject = Some(sent.subject);
        self.template_version = sent.template_version;
        self.reason = None;
        self.touch(now);
        Ok(())
    }

    /// SES refused it for good, or it could not be built: not retried.
    pub fn mark_failed(&mut self, reason: String, rejected: bool, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status != EmailStatus::Sending {
            return Err(self.illegal("fail"));
        }
        self.status = if rejected {
            EmailStatus::Rejected
        } else {
            EmailStatus::Failed
        };
        self.reason = Some(reason);
        self.touch(now);
        Ok(())
    }

    /// Stops a scheduled email: `suppressed` (the address may not be mailed)
    /// or `cancelled` (the lead's sequence stopped).
    pub fn stop(&mut self, status: EmailStatus, reason: &str, now: DateTime<Utc>) -> Result<(), DomainError> {
        debug_assert!(matches!(status, EmailStatus::Suppressed | EmailStatus::Cancelled));
        if self.status != EmailStatus::Scheduled {
            return Err(self.illegal("be stopped"));
        }
        self.status = status;
        self.reason = Some(reason.to_string());
        self.lease_until = None;
        self.touch(now);
        Ok(())
    }
}

/// A bounce as SES reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BounceRecord {
    /// `hard` (permanent) or `soft` (transient).
    pub kind: BounceKind,
    pub subtype: Option<String>,
    /// The DSN status, e.g. `5.1.1`.
    pub status: Option<String>,
    pub diagnostic: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BounceKind {
    Hard,
    Soft,
}

/// The SES events of one email, kept on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmailEvents {
    pub delivered_at: Option<DateTime<Utc>>,
    /// Human opens (machine ones are `machine_opens`; see `engagement`).
    pub opens: u32,
    pub first_opened_at: Option<DateTime<Utc>>,
    pub last_opened_at: Option<DateTime<Utc>>,
    pub clicks: u32,
    pub first_clicked_at: Option<DateTime<Utc>>,
    pub last_clicked_at: Option<DateTime<Utc>>,
    /// Distinct clicked links, first 20.
    pub clicked_links: Vec<String>,
    /// The last bounce (a hard one ends the email).
    pub bounce: Option<BounceRecord>,
    pub soft_bounces: u32,
    pub complaint_feedback_type: Option<String>,
    #[serde(default)]
    pub complained_at: Option<DateTime<Utc>>,
    /// SES's Send event arrived (the `sent` counter counts it once).
    #[serde(default)]
    pub send_confirmed: bool,
    /// The first human reply to it (the `replied` counter counts it once).
    #[serde(default)]
    pub replied_at: Option<DateTime<Utc>>,
    /// Opens and clicks by gateways, scanners and privacy proxies: kept, not counted as people's.
    #[serde(default)]
    pub machine_opens: u32,
    #[serde(default)]
    pub machine_clicks: u32,
    /// Ids of the events applied (newest last, at most 100): a redelivered
    /// event is recognised and changes nothing.
    pub applied: Vec<String>,
}

const MAX_CLICKED_LINKS: usize = 20;
const MAX_APPLIED_EVENTS: usize = 100;

/// One SES event, reduced to what an email keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailEvent {
    /// SES accepted the message (resolves a claim whose outcome was lost).
    Sent {
        ses_message_id: String,
    },
    Delivered {
        at: DateTime<Utc>,
    },
    Opened {
        at: DateTime<Utc>,
        user_agent: Option<String>,
        ip: Option<String>,
    },
    Clicked {
        at: DateTime<Utc>,
        link: String,
        user_agent: Option<String>,
        ip: Option<String>,
    },
    Bounced(BounceRecord),
    Complained {
        feedback_type: Option<String>,
        at: DateTime<Utc>,
    },
    Rejected {
        reason: String,
    },
    RenderingFailed {
        reason: String,
    },
}

impl EmailStatus {
    /// The order of the statuses an email moves through; `None` for the
    /// final ones (bounced, complained, rejected, failed, suppressed, cancelled).
    fn rank(self) -> Option<u8> {
        match self {
            EmailStatus::Scheduled => Some(0),
            EmailStatus::Sending => Some(1),
            EmailStatus::Sent => Some(2),
            EmailStatus::Delivered => Some(3),
            EmailStatus::Opened => Some(4),
            EmailStatus::Clicked => Some(5),
            _ => None,
        }
    }
}

impl OutboundEmail {
    /// Moves to `status` if that is forward: never back, never out of a final status.
    fn advance(&mut self, status: EmailStatus) {
        let forward = match (self.status.rank(), status.rank()) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(from), Some(to)) => to > from,
        };
        if forward {
            self.status = status;
        }
    }

    /// Whether the event with this id was applied already.
    pub fn has_applied(&self, event_id: &str) -> bool {
        self.events.applied.iter().any(|id| id == event_id)
    }

    /// Applies one SES event (once per `event_id`): late or repeated events
    /// never move the status back. Returns what changed, for the counters.
    pub fn apply_event(&mut self, event_id: &str, event: &EmailEvent, now: DateTime<Utc>) -> EventChanges {
        let mut changes = EventChanges::default();
        if self.has_applied(event_id) {
            return changes;
        }
        changes.applied = true;
        let events = &mut self.events;
        match event {
            EmailEvent::Sent { ses_message_id } => {
                if self.ses_message_id.is_none() {
                    self.ses_message_id = Some(ses_message_id.clone());
                }
                if self.sent_at.is_none() && self.status == EmailStatus::Sending {
                    self.sent_at = Some(now);
                }
                changes.sent = !events.send_confirmed;
                events.send_confirmed = true;
                self.advance(EmailStatus::Sent);
            }
            EmailEvent::Delivered { at } => {
                changes.delivered = events.delivered_at.is_none();
                events.delivered_at.get_or_insert(*at);
                self.advance(EmailStatus::Delivered);
            }
            EmailEvent::Opened { at, user_agent, ip } => {
                let start = events.delivered_at.or(self.sent_at);
                let machine = machine_reason(Interaction::Open, user_agent.as_deref(), ip.as_deref(), *at, start);
                if machine.is_some() {
                    events.machine_opens += 1;
                    changes.machine_open = true;
                    self.applied(event_id, now);
                    return changes;
                }
                changes.first_open = events.opens == 0;
                events.opens += 1;
                events.first_opened_at = Some(events.first_opened_at.map_or(*at, |f| f.min(*at)));
                events.last_opened_at = Some(events.last_opened_at.map_or(*at, |l| l.max(*at)));
                self.advance(EmailStatus::Opened);
            }
            EmailEvent::Clicked {
                at,
                link,
                user_agent,
                ip,
            } => {
                let start = events.delivered_at.or(self.sent_at);
                let machine = machine_reason(Interaction::Click, user_agent.as_deref(), ip.as_deref(), *at, start);
                if machine.is_some() {
                    events.machine_clicks += 1;
                    changes.machine_click = true;
                    self.applied(event_id, now);
                    return changes;
                }
                changes.first_click = events.clicks == 0;
                events.clicks += 1;
                events.first_clicked_at = Some(events.first_clicked_at.map_or(*at, |f| f.min(*at)));
                events.last_clicked_at = Some(events.last_clicked_at.map_or(*at, |l| l.max(*at)));
                if events.clicked_links.len() < MAX_CLICKED_LINKS && !events.clicked_links.contains(link) {
                    events.clicked_links.push(link.clone());
                }
                self.advance(EmailStatus::Clicked);
            }
            EmailEvent::Bounced(bounce) => {
                let was_hard = events.bounce.as_ref().is_some_and(|b| b.kind == BounceKind::Hard);
                match bounce.kind {
                    BounceKind::Soft => {
                        changes.first_soft_bounce = events.soft_bounces == 0;
                        events.soft_bounces += 1;
                    }
                    BounceKind::Hard => changes.hard_bounce = !was_hard,
                }
                // A soft bounce after a hard one does not hide the hard one.
                if !was_hard || bounce.kind == BounceKind::Hard {
                    events.bounce = Some(bounce.clone());
                }
                if bounce.kind == BounceKind::Hard {
                    self.advance(EmailStatus::Bounced);
                }
            }
            EmailEvent::Complained { feedback_type, at } => {
                changes.complained = events.complained_at.is_none();
                events.complained_at.get_or_insert(*at);
                events.complaint_feedback_type = feedback_type.clone();
                self.advance(EmailStatus::Complained);
            }
            EmailEvent::Rejected { reason } => {
                self.reason = Some(reason.clone());
                self.advance(EmailStatus::Rejected);
            }
            EmailEvent::RenderingFailed { reason } => {
                self.reason = Some(reason.clone());
                self.advance(EmailStatus::Failed);
            }
        }
        self.applied(event_id, now);
        changes
    }

    fn applied(&mut self, event_id: &str, now: DateTime<Utc>) {
        let applied = &mut self.events.applied;
        applied.push(event_id.to_string());
        if applied.len() > MAX_APPLIED_EVENTS {
            applied.remove(0);
        }
        self.touch(now);
    }
}

/// What applying one event changed: the counters count these.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventChanges {
    /// False for a redelivered event.
    pub applied: bool,
    pub sent: bool,
    pub delivered: bool,
    pub first_open: bool,
    pub first_click: bool,
    pub machine_open: bool,
    pub machine_click: bool,
    pub hard_bounce: bool,
    pub first_soft_bounce: bool,
    pub complained: bool,
}

impl EventChanges {
    pub fn metrics(self) -> impl Iterator<Item = Metric> {
        [
            (self.sent, Metric::Sent),
            (self.delivered, Metric::Delivered),
            (self.first_open, Metric::Opened),
            (self.first_click, Metric::Clicked),
            (self.machine_open, Metric::MachineOpens),
            (self.machine_click, Metric::MachineClicks),
            (self.hard_bounce, Metric::BouncedHard),
            (self.first_soft_bounce, Metric::BouncedSoft),
            (self.complained, Metric::Complained),
        ]
        .into_iter()
        .filter_map(|(changed, metric)| changed.then_some(metric))
    }
}

/// What the sender learnt from a successful send.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub ses_message_id: String,
    pub message_id: String,
    pub subject: String,
    pub template_version: Option<u32>,
}

/// The SES configuration set of a tenant's emails: `<prefix><tenant id>`
/// (e.g. `cc-prod-0193…`), at most 64 characters as SES requires.
pub fn configuration_set_name(prefix: &str, tenant: TenantId) -> String {
    format!("{prefix}{tenant}")
}

/// A send queue message: which email to send. The sender reads everything else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendJob {
    pub tenant_id: TenantId,
    pub lead_id: LeadId,
    pub email_id: EmailId,
}

/// The id SES gave a message when it accepted it (`0100018e1b2c3d4e-…-000000`).
/// Validated so it can be part of a key: 1 to 256 printable ASCII characters,
/// no spaces and no `#` (the key separator).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SesMessageId(String);

impl SesMessageId {
    pub const MAX_LEN: usize = 256;

    pub fn parse(text: &str) -> Option<Self> {
        let valid =
            !text.is_empty() && text.len() <= Self::MAX_LEN && text.bytes().all(|b| b.is_ascii_graphic() && b != b'#');
        valid.then(|| Self(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SesMessageId {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text).ok_or_else(|| "not an SES message id".to_string())
    }
}

impl From<SesMessageId> for String {
    fn from(id: SesMessageId) -> Self {
        id.0
    }
}

impl fmt::Display for SesMessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long the way from an SES message id to its email is kept: bounces come
/// within days, feedback-loop complaints within weeks.
pub const SES_POINTER_DAYS: i64 = 180;

/// Which email an SES message is: the tenant, lead, step and email id. Written
/// with the email's SES message id, read for the events that carry no message
/// tags (SES's older notification format, set on the identity). It names the
/// tenant, so it is one of the few items found before the tenant is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesMessagePointer {
    pub ses_message_id: SesMessageId,
    pub tenant_id: TenantId,
    pub lead_id: LeadId,
    pub step: u32,
    pub email_id: EmailId,
    /// When the store may forget it (a DynamoDB TTL); not used after it.
    pub expires_at: DateTime<Utc>,
}

impl OutboundEmail {
    /// The pointer from this email's SES message id, once SES accepted it.
    pub fn ses_pointer(&self) -> Option<SesMessagePointer> {
        let ses_message_id = SesMessageId::parse(self.ses_message_id.as_deref()?)?;
        Some(SesMessagePointer {
            ses_message_id,
            tenant_id: self.tenant_id,
            lead_id: self.lead_id,
            step: self.step,
            email_id: self.id,
            expires_at: self.sent_at.unwrap_or(self.updated_at) + chrono::TimeDelta::days(SES_POINTER_DAYS),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn email() -> OutboundEmail {
        let now = Utc::now();
        OutboundEmail::schedule(
            PlannedEmail {
                tenant_id: TenantId::generate(),
                campaign_id: CampaignId::generate(),
                lead_id: LeadId::generate(),
                to: EmailAddress::parse("ann@acme.io").unwrap(),
                step: 1,
                variant: 0,
                template_id: None,
                mailbox_id: MailboxId::generate(),
                at: now,
                thread: vec![],
            },
            now,
        )
    }

    #[test]
    fn a_claimed_email_cannot_be_claimed_again() {
        let mut e = email();
        e.claim(Utc::now()).unwrap();
        assert!(e.claim(Utc::now()).is_err());
        assert_eq!(e.due_at(), None);
        e.release(Utc::now(), None, Utc::now()).unwrap();
        e.claim(Utc::now()).unwrap();
        assert_eq!(e.attempts, 2);
    }

    #[test]
    fn sent_and_stopped_emails_never_go_back() {
        let mut e = email();
        e.claim(Utc::now()).unwrap();
        e.mark_sent(
            SentEmail {
                ses_message_id: "ses-1".into(),
                message_id: "<x@y>".into(),
                subject: "Hi".into(),
                template_version: Some(1),
            },
            Utc::now(),
        )
        .unwrap();
        assert!(e.release(Utc::now(), None, Utc::now()).is_err());
        assert!(e.stop(EmailStatus::Cancelled, "x", Utc::now()).is_err());
        assert!(e.reschedule(Utc::now(), Utc::now()).is_err());
        assert!(e.status.was_sent());
    }

    #[test]
    fn a_lease_delays_the_due_time_and_a_hold_removes_it() {
        let mut e = email();
        let at = e.scheduled_at;
        e.lease(at + TimeDelta::minutes(15), Utc::now()).unwrap();
        assert_eq!(e.due_at(), Some(at + TimeDelta::minutes(15)));
        e.hold(Utc::now()).unwrap();
        assert_eq!(e.due_at(), None);
        assert!(e.claim(Utc::now()).is_err());
        e.reschedule(at, Utc::now()).unwrap();
        assert_eq!(e.due_at(), Some(at));
    }

    #[test]
    fn ses_message_ids_are_checked_before_they_become_keys() {
        assert!(SesMessageId::parse("0100018e1b2c3d4e-5f6a7b8c-1234-4d5e-8f90-abcdef012345-000000").is_some());
        for bad in ["", "a b", "a#b", "é", &"x".repeat(257)] {
            assert_eq!(SesMessageId::parse(bad), None, "{bad:?}");
        }
        let mut sent = email();
        assert_eq!(sent.ses_pointer(), None, "no pointer before SES accepted it");
        sent.ses_message_id = Some("ses-1".into());
        let pointer = sent.ses_pointer().unwrap();
        assert_eq!(
            (pointer.tenant_id, pointer.lead_id, pointer.step, pointer.email_id),
            (sent.tenant_id, sent.lead_id, sent.step, sent.id)
        );
        assert_eq!(pointer.ses_message_id.as_str(), "ses-1");
    }
}
