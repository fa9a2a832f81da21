//! Inbound messages (the core of the `inbound` function) and the unified
//! inbox API. A message is analysed (`crate::inbound`), matched to the email
//! it answers (the signed Reply-To address, then our Message-ID in
//! `In-Reply-To`/`References`, then the sender among the tenant's leads),
//! stored once per SES message, and then acted on:
//! - a person's reply stops the lead's sequence, moves the lead's status
//!   (interested, not interested, unsubscribed for do-not-contact, replied)
//!   and the reply counters;
//! - an out-of-office moves the lead's waiting emails to the day after its
//!   return date (or a week on);
//! - a delivery status notification is a bounce of the email, with the same
//!   effects as SES's (suppression, lead bounced, sequence stopped).
//!
//! Auto-replies are never counted as replies nor as bounces.

use super::ses_events::protect_address;
use super::with_optimistic_retry;
use crate::activity::Activity;
use crate::api_key::{Capability, Principal};
use crate::email::EmailAddress;
use crate::error::{DomainError, StoreError};
use crate::ids::{LeadId, ReplyId, TenantId};
use crate::inbound::{BounceType, InboundAnalysis, MessageKind, ReplyClass, ReplyClassifier, analyze};
use crate::lead::LeadStatus;
use crate::message::read_sequence_message_id;
use crate::outbound::{BounceKind, BounceRecord, EmailEvent, EmailStatus, OutboundEmail};
use crate::page::{Page, PageRequest};
use crate::ports::{FileError, MailFiles, ReplyCommit, Store};
use crate::reply::{MatchMethod, Matched, Received, Reply, ReplyFilter};
use crate::reply_address::{ReplyAddresses, ReplyTarget};
use crate::ses_receipt::StoredMail;
use crate::stats::{Metric, StatsDelta, email_slices};
use chrono::{DateTime, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

/// SES accepts inbound messages up to 40 MB; nothing larger is read.
pub const MAX_MESSAGE_BYTES: u64 = 40 * 1024 * 1024;
/// An out-of-office without a return date pauses the lead this long.
pub const DEFAULT_OUT_OF_OFFICE_PAUSE: TimeDelta = TimeDelta::days(7);

pub struct InboundContext<'a> {
    pub store: &'a dyn Store,
    pub files: &'a dyn MailFiles,
    pub addresses: &'a ReplyAddresses,
    pub classifier: &'a dyn ReplyClassifier,
}

/// What became of one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundOutcome {
    Stored {
        reply: ReplyId,
        kind: MessageKind,
        matched: bool,
    },
    /// Stored before (a redelivered notification): its effects were re-checked.
    Duplicate(ReplyId),
    /// No tenant could be told from its recipients or headers: kept as unrouted.
    Unrouted,
}

/// Receives one message SES stored: reads, analyses, matches, stores, acts.
pub async fn receive(
    ctx: &InboundContext<'_>,
    mail: &StoredMail,
    now: DateTime<Utc>,
) -> Result<InboundOutcome, DomainError> {
    let raw = match ctx.files.read_mail(&mail.object_key, MAX_MESSAGE_BYTES).await {
        Ok(raw) => raw,
        // Larger than SES sends: read what the limit allows by refusing nothing silently.
        Err(FileError::TooLarge { .. }) | Err(FileError::Missing) => {
            tracing::warn!("the stored message is missing or too large; kept as unrouted");
            ctx.store
                .record_unrouted(&mail.ses_message_id, &mail.object_key, now)
                .await?;
            return Ok(InboundOutcome::Unrouted);
        }
        Err(FileError::Store(err)) => return Err(err.into()),
    };
    let analysis = analyze(&raw, ctx.classifier);
    let Some((tenant, matched)) = find_email(ctx, mail, &analysis).await? else {
        ctx.store
            .record_unrouted(&mail.ses_message_id, &mail.object_key, now)
            .await?;
        return Ok(InboundOutcome::Unrouted);
    };
    let received = Received {
        ses_message_id: mail.ses_message_id.clone(),
        object_key: mail.object_key.clone(),
        received_at: mail.received_at,
    };
    let reply = Reply::new(tenant, &received, &analysis, matched.as_ref().map(|(m, _)| *m));
    let stored = with_optimistic_retry(|| async {
        let email = match &matched {
            Some((m, _)) => ctx
                .store
                .get_emails(tenant, &[(m.lead, m.step)])
                .await?
                .into_iter()
                .find(|e| e.id == m.email),
            None => None,
        };
        let commit = commit_for(&reply, email, now);
        Ok(ctx.store.commit_reply(&commit).await?)
    })
    .await?;
    if let Some((m, _)) = &matched {
        // A redelivery acts on the stored reply: a person may have corrected its class since.
        let current = match stored {
            true => None,
            false => ctx.store.get_reply(tenant, reply.id).await?,
        };
        effects(ctx.store, current.as_ref().unwrap_or(&reply), m, now).await?;
    }
    Ok(if stored {
        InboundOutcome::Stored {
            reply: reply.id,
            kind: reply.kind,
            matched: matched.is_some(),
        }
    } else {
        InboundOutcome::Duplicate(reply.id)
    })
}

/// The reply with its write: the email's first reply or bounce, the timeline
/// entry and the counters.
fn commit_for(reply: &Reply, email: Option<OutboundEmail>, now: DateTime<Utc>) -> ReplyCommit {
    let mut stats = StatsDelta::default();
    let mut activities = Vec::new();
    let mut changed = None;
    if let Some(mut email) = email {
        let expected = email.version;
        let day = reply.received_at.date_naive();
        let slices = email_slices(&email);
        activities.push(Activity::reply_received(reply, email.lead_id, email.campaign_id, now));
        match reply.kind {
            MessageKind::Human => {
                if email.events.replied_at.is_none() {
                    email.events.replied_at = Some(reply.received_at);
                    email.updated_at = now;
                    email.version += 1;
                    stats.count(email.campaign_id, day, &slices, Metric::Replied, 1);
                }
                if reply.is_positive() {
                    stats.count(email.campaign_id, day, &slices, Metric::PositiveReplies, 1);
                }
            }
            MessageKind::Bounce => {
                let event = bounce_event(reply);
                let changes = email.apply_event(&format!("dsn:{}", reply.ses_message_id), &event, now);
                for metric in changes.metrics() {
                    stats.count(email.campaign_id, day, &slices, metric, 1);
                }
            }
            MessageKind::AutoReply => {}
        }
        if email.version != expected {
            changed = Some((email, expected));
        }
    }
    ReplyCommit {
        reply: reply.clone(),
        email: changed,
        activities,
        stats,
    }
}

fn bounce_event(reply: &Reply) -> EmailEvent {
    let info = reply.bounce.as_ref();
    EmailEvent::Bounced(BounceRecord {
        kind: match info.map(|b| b.bounce_type) {
            Some(BounceType::Soft) => BounceKind::Soft,
            _ => BounceKind::Hard,
        },
        subtype: Some("DeliveryStatusNotification".into()),
        status: info.and_then(|b| b.status.map(|s| s.to_string())),
        diagnostic: info.and_then(|b| b.reason.clone()),
        at: reply.received_at,
    })
}

/// The tenant and email a message answers, in order of trust. `None` when no
/// tenant can be told at all.
async fn find_email(
    ctx: &InboundContext<'_>,
    mail: &StoredMail,
    analysis: &InboundAnalysis,
) -> Result<Option<(TenantId, Option<(Matched, OutboundEmail)>)>, DomainError> {
    let headers = &analysis.headers;
    let recipients = mail
        .recipients
        .iter()
        .chain(&headers.delivered_to)
        .chain(&headers.to)
        .chain(&headers.cc);
    let mut tenant = None;
    for address in recipients {
        match ctx.addresses.read(address) {
            Some(ReplyTarget::Email { tenant: t, lead, step }) => {
                if let Some(found) = email_at(ctx.store, t, lead, step, None, MatchMethod::Token).await? {
                    return Ok(Some((t, Some(found))));
                }
                tenant.get_or_insert(t);
            }
            Some(ReplyTarget::Tenant(t)) => {
                tenant.get_or_insert(t);
            }
            None => {}
        }
    }
    // Our Message-IDs, latest first: the bounce's original, In-Reply-To, then References.
    let quoted = analysis
        .bounce
        .as_ref()
        .and_then(|b| b.original_message_id.clone())
        .into_iter()
        .chain(headers.in_reply_to.clone())
        .chain(headers.references.iter().rev().cloned());
    for id in quoted {
        let Some(ours) = read_sequence_message_id(&id) else {
            continue;
        };
        // The recipient address decides the tenant when it names one.
        if tenant.is_some_and(|t| t != ours.tenant) {
            continue;
        }
        if let Some(found) = email_at(
            ctx.store,
            ours.tenant,
            ours.lead,
            ours.step,
            Some(ours.email),
            MatchMethod::References,
        )
        .await?
        {
            return Ok(Some((ours.tenant, Some(found))));
        }
    }
    let Some(tenant) = tenant else {
        return Ok(None);
    };
    // The sender (for a bounce, the address that failed) among the tenant's leads.
    let sender = match analysis.kind {
        MessageKind::Bounce => analysis.bounce.as_ref().and_then(|b| b.recipient.clone()),
        _ => headers.from.clone(),
    };
    let Some(address) = sender.and_then(|a| EmailAddress::parse(&a).ok()) else {
        return Ok(Some((tenant, None)));
    };
    Ok(Some((tenant, latest_sent_to(ctx.store, tenant, &address).await?)))
}

async fn email_at(
    store: &dyn Store,
    tenant: TenantId,
    lead: LeadId,
    step: u32,
    id: Option<crate::ids::EmailId>,
    method: MatchMethod,
) -> Result<Option<(Matched, OutboundEmail)>, DomainError> {
    let email = store
        .get_emails(tenant, &[(lead, step)])
        .await?
        .into_iter()
        .find(|e| id.is_none_or(|id| e.id == id));
    Ok(email.map(|e| {
        (
            Matched {
                email: e.id,
                lead: e.lead_id,
                campaign: e.campaign_id,
                step: e.step,
                method,
            },
            e,
        )
    }))
}

/// The latest email sent to `address` by any campaign of the tenant.
async fn latest_sent_to(
    store: &dyn Store,
    tenant: TenantId,
    address: &EmailAddress,
) -> Result<Option<(Matched, OutboundEmail)>, DomainError> {
    let leads = store
        .find_leads_by_email(tenant, address, &PageRequest::first(50))
        .await?
        .items;
    let mut latest: Option<OutboundEmail> = None;
    for lead in leads {
        for email in store.list_lead_emails(tenant, lead.id).await? {
            if email.sent_at.is_some() && latest.as_ref().is_none_or(|l| email.sent_at > l.sent_at) {
                latest = Some(email);
            }
        }
    }
    Ok(latest.map(|e| {
        (
            Matched {
                email: e.id,
                lead: e.lead_id,
                campaign: e.campaign_id,
                step: e.step,
                method: MatchMethod::Sender,
            },
            e,
        )
    }))
}

/// What a matched message does to its lead. Idempotent: a redelivery runs it
/// again to finish what a crash interrupted.
async fn effects(store: &dyn Store, reply: &Reply, matched: &Matched, now: DateTime<Utc>) -> Result<(), DomainError> {
    let tenant = reply.tenant_id;
    match reply.kind {
        MessageKind::Bounce => protect_address(store, tenant, matched.lead, &bounce_event(reply), now).await,
        MessageKind::AutoReply => {
            if reply.classification != ReplyClass::OutOfOffice {
                return Ok(());
            }
            let resume = reply
                .resume_on
                .and_then(|d| d.and_time(NaiveTime::MIN).and_local_timezone(Utc).single())
                .unwrap_or(reply.received_at + DEFAULT_OUT_OF_OFFICE_PAUSE);
            for mut waiting in store.list_lead_emails(tenant, matched.lead).await? {
                if waiting.status != EmailStatus::Scheduled || waiting.scheduled_at >= resume {
                    continue;
                }
                let expected = waiting.version;
                waiting.reschedule(resume, now)?;
                ignore_conflict(store.save_email(&waiting, expected).await)?;
            }
            Ok(())
        }
        MessageKind::Human => {
            let status = lead_status_for(reply.classification);
            move_lead(store, tenant, matched.lead, status, now).await?;
            if reply.classification == ReplyClass::DoNotContact {
                // Same path as a complaint: suppressed, unsubscribed, sequence stopped.
                protect_address(
                    store,
                    tenant,
                    matched.lead,
                    &EmailEvent::Complained {
                        feedback_type: Some("reply".into()),
                        at: reply.received_at,
                    },
                    now,
                )
                .await?;
            }
            for mut waiting in store.list_lead_emails(tenant, matched.lead).await? {
                if waiting.status != EmailStatus::Scheduled {
                    continue;
                }
                let expected = waiting.version;
                waiting.stop(EmailStatus::Cancelled, "the lead replied", now)?;
                ignore_conflict(store.save_email(&waiting, expected).await)?;
            }
            Ok(())
        }
    }
}

/// A lost race on an email means someone else moved it on: fine here.
fn ignore_conflict(result: Result<(), StoreError>) -> Result<(), DomainError> {
    match result {
        Ok(()) | Err(StoreError::VersionConflict) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// The lead status a reply of this class leads to.
fn lead_status_for(class: ReplyClass) -> LeadStatus {
    match class {
        ReplyClass::Interested | ReplyClass::MeetingRequest => LeadStatus::Interested,
        ReplyClass::NotInterested => LeadStatus::NotInterested,
        ReplyClass::DoNotContact => LeadStatus::Unsubscribed,
        _ => LeadStatus::Replied,
    }
}

/// Moves the lead to `status`, never back to `replied` from a sharper status
/// and never out of a final one.
async fn move_lead(
    store: &dyn Store,
    tenant: TenantId,
    lead: LeadId,
    status: LeadStatus,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    with_optimistic_retry(|| async {
        let Some(previous) = store.get_lead(tenant, lead).await? else {
            return Ok(());
        };
        let sharper = matches!(previous.status, LeadStatus::Interested | LeadStatus::NotInterested);
        if previous.status == status || previous.status.is_final() || (status == LeadStatus::Replied && sharper) {
            return Ok(());
        }
        let mut changed = previous.clone();
        changed.change_status(status)?;
        changed.updated_at = now;
        changed.version += 1;
        let _ = store.replace_lead(&changed, &previous).await?;
        Ok(())
    })
    .await
}

// ---------------------------------------------------------------------------
// The inbox API
// ---------------------------------------------------------------------------

/// `GET /v1/replies/{id}`: the reply, the email it answers and the lead's thread.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReplyDetail {
    #[serde(flatten)]
    pub reply: Reply,
    /// The email it answers.
    pub email: Option<OutboundEmail>,
    /// The lead's emails and replies, oldest first.
    pub thread: Vec<ThreadEntry>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ThreadEntry {
    Email {
        id: crate::ids::EmailId,
        step: u32,
        subject: Option<String>,
        at: Option<DateTime<Utc>>,
        #[schema(value_type = String)]
        status: EmailStatus,
    },
    Reply {
        id: ReplyId,
        #[schema(value_type = String)]
        kind: MessageKind,
        #[schema(value_type = String)]
        classification: ReplyClass,
        at: DateTime<Utc>,
        visible_text: String,
    },
}

const NOT_FOUND: DomainError = DomainError::NotFound { entity: "reply" };

pub async fn list(
    store: &dyn Store,
    caller: &Principal,
    filter: &ReplyFilter,
    page: &PageRequest,
) -> Result<Page<Reply>, DomainError> {
    caller.require(Capability::Read)?;
    let mut page = store.list_replies(caller.tenant_id, filter, page).await?;
    for reply in &mut page.items {
        reply.full_text = None;
    }
    Ok(page)
}

pub async fn get(store: &dyn Store, caller: &Principal, id: ReplyId) -> Result<ReplyDetail, DomainError> {
    caller.require(Capability::Read)?;
    let reply = store.get_reply(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    let mut thread = Vec::new();
    let mut email = None;
    if let Some(lead) = reply.lead_id {
        let emails = store.list_lead_emails(caller.tenant_id, lead).await?;
        email = emails.iter().find(|e| Some(e.id) == reply.matched_email_id).cloned();
        thread.extend(
            emails
                .into_iter()
                .filter(|e| e.sent_at.is_some())
                .map(|e| ThreadEntry::Email {
                    id: e.id,
                    step: e.step,
                    subject: e.subject,
                    at: e.sent_at,
                    status: e.status,
                }),
        );
        thread.extend(
            store
                .lead_replies(caller.tenant_id, lead)
                .await?
                .into_iter()
                .map(|r| ThreadEntry::Reply {
                    id: r.id,
                    kind: r.kind,
                    classification: r.classification,
                    at: r.received_at,
                    visible_text: r.visible_text,
                }),
        );
        thread.sort_by_key(|entry| match entry {
            ThreadEntry::Email { at, .. } => *at,
            ThreadEntry::Reply { at, .. } => Some(*at),
        });
    }
    Ok(ReplyDetail { reply, email, thread })
}

/// `PATCH /v1/replies/{id}` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyPatch {
    pub read: Option<bool>,
    /// A corrected classification (kept with who made it; KPIs follow it).
    #[schema(value_type = Option<String>)]
    pub classification: Option<ReplyClass>,
}

pub async fn update(
    store: &dyn Store,
    caller: &Principal,
    id: ReplyId,
    patch: ReplyPatch,
    now: DateTime<Utc>,
) -> Result<Reply, DomainError> {
    caller.require(Capability::WriteData)?;
    let reply = with_optimistic_retry(|| async {
        let mut reply = store.get_reply(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
        let expected = reply.version;
        let was_positive = reply.is_positive();
        let mut changed = false;
        if let Some(read) = patch.read
            && read != reply.read
        {
            reply.read = read;
            reply.version += 1;
            changed = true;
        }
        if let Some(class) = patch.classification {
            changed |= reply.correct(class, caller.key_id, now)?;
        }
        if !changed {
            return Ok(reply);
        }
        // The positive-reply count follows a correction, from now on.
        let mut stats = StatsDelta::default();
        if let (Some(campaign), Some(step)) = (reply.campaign_id, reply.step) {
            let delta = i64::from(reply.is_positive()) - i64::from(was_positive);
            // The variant is not on the reply: the correction moves the whole and the step.
            stats.count(
                campaign,
                now.date_naive(),
                &[crate::stats::Slice::Step(step)],
                Metric::PositiveReplies,
                delta,
            );
        }
        store.save_reply(&reply, expected, &stats).await?;
        Ok(reply)
    })
    .await?;
    if let (Some(lead), true) = (reply.lead_id, reply.is_reply()) {
        move_lead(
            store,
            caller.tenant_id,
            lead,
            lead_status_for(reply.classification),
            now,
        )
        .await?;
    }
    let mut reply = reply;
    reply.full_text = None;
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::RulesClassifier;
    use crate::operations::sending::tests::{World, rng, world};
    use crate::operations::sending::{SendOutcome, send_email};
    use crate::operations::test_support::now;
    use crate::ports::{ActivityStore, EmailStore, LeadStore, ReplyStore, StatsStore};
    use crate::stats::Scope;
    use std::collections::HashMap;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Files(Mutex<HashMap<String, Vec<u8>>>);

    #[async_trait::async_trait]
    impl MailFiles for Files {
        async fn read_mail(&self, key: &str, _limit: u64) -> Result<Vec<u8>, FileError> {
            self.0.lock().unwrap().get(key).cloned().ok_or(FileError::Missing)
        }
    }

    fn addresses() -> ReplyAddresses {
        ReplyAddresses::new(&[5; 32], "reply.example.com").unwrap()
    }

    async fn sent(w: &World) -> OutboundEmail {
        let outcome = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert!(matches!(outcome, SendOutcome::Sent { .. }));
        w.email().await
    }

    async fn receive_raw(w: &World, files: &Files, id: &str, raw: String) -> InboundOutcome {
        let key = format!("inbound/{id}");
        files.0.lock().unwrap().insert(key.clone(), raw.into_bytes());
        let addresses = addresses();
        let ctx = InboundContext {
            store: &w.store,
            files,
            addresses: &addresses,
            classifier: &RulesClassifier,
        };
        let mail = StoredMail {
            ses_message_id: id.to_string(),
            bucket: "inbound".into(),
            object_key: key,
            received_at: now() + TimeDelta::hours(1),
            recipients: Vec::new(),
        };
        receive(&ctx, &mail, now() + TimeDelta::hours(1)).await.unwrap()
    }

    fn reply_to_us(to: &str, in_reply_to: &str, body: &str) -> String {
        format!(
            "From: Ann <ann@prospect.io>\r\nTo: {to}\r\nSubject: Re: Hi\r\nIn-Reply-To: {in_reply_to}\r\n\
             Date: Mon, 2 Mar 2026 11:00:00 +0000\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"
        )
    }

    #[tokio::test]
    async fn a_reply_quoting_our_message_id_is_stored_once_counted_once_and_moves_the_lead() {
        let w = world().await;
        let email = sent(&w).await;
        let files = Files::default();
        let to = addresses().for_tenant(w.tenant);
        let raw = reply_to_us(
            &to,
            email.message_id.as_deref().unwrap(),
            "Sounds great, I'm interested. Let's talk.",
        );
        let first = receive_raw(&w, &files, "ses-1", raw.clone()).await;
        let InboundOutcome::Stored { reply, kind, matched } = first else {
            panic!("{first:?}")
        };
        assert_eq!((kind, matched), (MessageKind::Human, true));
        assert_eq!(
            receive_raw(&w, &files, "ses-1", raw).await,
            InboundOutcome::Duplicate(reply),
            "a redelivered notification stores nothing new"
        );
        let stored = w.store.get_reply(w.tenant, reply).await.unwrap().unwrap();
        assert_eq!(stored.match_method, Some(MatchMethod::References));
        assert_eq!(stored.matched_email_id, Some(email.id));
        let lead = w.store.get_lead(w.tenant, w.job.lead_id).await.unwrap().unwrap();
        assert_eq!(lead.status, LeadStatus::Interested);
        let counts = w
            .store
            .stats_totals(w.tenant, Scope::Campaign(w.campaign))
            .await
            .unwrap()
            .whole();
        assert_eq!(
            (counts.get(Metric::Replied), counts.get(Metric::PositiveReplies)),
            (1, 1)
        );
        let timeline = w
            .store
            .list_lead_activities(w.tenant, w.job.lead_id, &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(timeline.items[0].kind, crate::activity::ActivityKind::ReplyReceived);
        // A second reply to the same email is stored but the email is counted once.
        receive_raw(
            &w,
            &files,
            "ses-2",
            reply_to_us(&to, email.message_id.as_deref().unwrap(), "Also, Tuesday works."),
        )
        .await;
        let counts = w
            .store
            .stats_totals(w.tenant, Scope::Campaign(w.campaign))
            .await
            .unwrap()
            .whole();
        assert_eq!(counts.get(Metric::Replied), 1);
        assert!(
            w.store.get_emails(w.tenant, &[(w.job.lead_id, 1)]).await.unwrap()[0]
                .events
                .replied_at
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_message_for_no_tenant_is_kept_unrouted_and_another_tenants_token_is_refused() {
        let w = world().await;
        sent(&w).await;
        let files = Files::default();
        let stranger = reply_to_us("someone@reply.example.com", "<unknown@elsewhere.example>", "Hello?");
        assert_eq!(
            receive_raw(&w, &files, "ses-3", stranger).await,
            InboundOutcome::Unrouted
        );
        // A forged tenant address (another key) names no tenant either.
        let forged = ReplyAddresses::new(&[6; 32], "reply.example.com")
            .unwrap()
            .for_tenant(w.tenant);
        let raw = reply_to_us(&forged, "<x@y>", "Interested!");
        assert_eq!(receive_raw(&w, &files, "ses-4", raw).await, InboundOutcome::Unrouted);
        let inbox = w
            .store
            .list_replies(w.tenant, &ReplyFilter::default(), &PageRequest::first(10))
            .await
            .unwrap();
        assert!(inbox.items.is_empty());
    }

    #[tokio::test]
    async fn a_redelivery_after_a_correction_acts_on_the_correction() {
        let w = world().await;
        let email = sent(&w).await;
        let files = Files::default();
        let to = addresses().for_tenant(w.tenant);
        let raw = reply_to_us(&to, email.message_id.as_deref().unwrap(), "I'm interested, let's talk.");
        let InboundOutcome::Stored { reply, .. } = receive_raw(&w, &files, "ses-9", raw.clone()).await else {
            panic!("stored")
        };
        let corrected = ReplyPatch {
            read: None,
            classification: Some(ReplyClass::NotInterested),
        };
        update(&w.store, &w.caller, reply, corrected, now()).await.unwrap();
        assert_eq!(
            receive_raw(&w, &files, "ses-9", raw).await,
            InboundOutcome::Duplicate(reply)
        );
        let lead = w.store.get_lead(w.tenant, w.job.lead_id).await.unwrap().unwrap();
        assert_eq!(lead.status, LeadStatus::NotInterested, "the correction stands");
        let counts = w
            .store
            .stats_totals(w.tenant, Scope::Campaign(w.campaign))
            .await
            .unwrap()
            .whole();
        assert_eq!(counts.get(Metric::PositiveReplies), 0, "the correction took it back");
    }
}
