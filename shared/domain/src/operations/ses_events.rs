//! SES events applied to the emails they are about (the core of the
//! ses-events function): the email is found through the message tags the
//! sender set (or, for SES's older notifications, which carry no tags,
//! through the pointer the sender wrote from the SES message id), its status
//! only moves forward, a redelivered event changes nothing, and bounces and
//! complaints protect the address.
//!
//! - Send: resolves a claim whose outcome was lost (`sending → sent`).
//! - Hard bounce: the address goes on the tenant's suppression list, the lead
//!   becomes bounced and its waiting emails are cancelled. Soft bounces are
//!   recorded; the third on the same lead counts as a hard one.
//! - Complaint: suppressed, the lead unsubscribed, its waiting emails cancelled.

use super::with_optimistic_retry;
use crate::activity::Activity;
use crate::campaign::CampaignStatus;
use crate::email::EmailAddress;
use crate::error::{DomainError, StoreError};
use crate::ids::{CampaignId, EmailId, LeadId, TenantId};
use crate::lead::LeadStatus;
use crate::outbound::{
    BounceKind, BounceRecord, EmailEvent, EmailStatus, OutboundEmail, SesMessageId, SesMessagePointer,
};
use crate::ports::{EmailEventsCommit, Store};
use crate::ses_event::{BounceType, SesEventDetail, SesEventRecord};
use crate::stats::{Metric, Scope, StatsDelta, email_slices};
use crate::suppression::{Suppression, SuppressionReason, SuppressionSource, SuppressionTarget};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const NO_TAGS: &str = "the message carries no email tags and no email of ours has its SES message id";

/// Soft bounces on one lead after which its address is treated as bouncing.
pub const SOFT_BOUNCE_LIMIT: u32 = 3;

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventOutcome {
    Applied,
    /// Applied before (a redelivery): nothing changed, the effects were re-checked.
    Duplicate,
    /// Not about one of our emails (no or foreign tags, or the email is gone).
    Unmatched(&'static str),
    /// An event the emails do not keep (delivery delay, subscription, unknown).
    Ignored,
}

/// The email event of a record, or `None` for events emails do not keep.
fn email_event(record: &SesEventRecord) -> Option<EmailEvent> {
    let event = &record.event;
    let at = event.occurred_at();
    Some(match &event.detail {
        SesEventDetail::Send => EmailEvent::Sent {
            ses_message_id: event.ses_message_id().to_string(),
        },
        SesEventDetail::Delivery(_) => EmailEvent::Delivered { at },
        SesEventDetail::Open(open) => EmailEvent::Opened {
            at,
            user_agent: open.user_agent.clone(),
            ip: open.ip_address.clone(),
        },
        SesEventDetail::Click(click) => EmailEvent::Clicked {
            at,
            link: click.link.clone(),
            user_agent: click.user_agent.clone(),
            ip: click.ip_address.clone(),
        },
        SesEventDetail::Bounce(bounce) => {
            let recipient = bounce.bounced_recipients.first();
            EmailEvent::Bounced(BounceRecord {
                // Undetermined bounces are treated as soft: they are not proof the address is dead.
                kind: if bounce.bounce_type == BounceType::Permanent {
                    BounceKind::Hard
                } else {
                    BounceKind::Soft
                },
                subtype: bounce.bounce_sub_type.as_ref().map(|s| s.as_str().to_string()),
                status: recipient.and_then(|r| r.status.clone()),
                diagnostic: recipient.and_then(|r| r.diagnostic_code.as_ref().map(|d| d.as_str().to_string())),
                at,
            })
        }
        SesEventDetail::Complaint(complaint) => EmailEvent::Complained {
            feedback_type: complaint
                .complaint_feedback_type
                .as_ref()
                .map(|t| t.as_str().to_string()),
            at,
        },
        SesEventDetail::Reject(reject) => EmailEvent::Rejected {
            reason: format!(
                "SES rejected it: {}",
                reject.reason.as_deref().unwrap_or("no reason given")
            ),
        },
        SesEventDetail::RenderingFailure(failure) => EmailEvent::RenderingFailed {
            reason: format!(
                "SES could not render it: {}",
                failure.error_message.as_deref().unwrap_or("no reason given")
            ),
        },
        SesEventDetail::DeliveryDelay(_) | SesEventDetail::Subscription(_) | SesEventDetail::Unknown => return None,
    })
}

/// The key a redelivery of the same event shares: the SNS message id, else
/// (raw delivery) the SES message id, type and time.
fn event_id(record: &SesEventRecord) -> String {
    match &record.sns_message_id {
        Some(id) => id.clone(),
        None => format!(
            "{}:{}:{}",
            record.event.ses_message_id(),
            record.event.event_type.as_str(),
            record.event.occurred_at().timestamp_millis()
        ),
    }
}

/// One event, resolved to the email it is about.
struct Target {
    index: usize,
    lead: LeadId,
    step: u32,
    email_id: EmailId,
    /// Set when the email was found through its SES message id (no tags):
    /// the email must still carry that id.
    via_pointer: Option<SesMessageId>,
    event_id: String,
    event: EmailEvent,
    day: NaiveDate,
}

/// The email a record's message tags name: tenant, lead, step and email id.
fn tagged_email(record: &SesEventRecord) -> Option<(TenantId, LeadId, u32, EmailId)> {
    let tag = |name| record.event.tag(name);
    Some((
        tag("tenant_id")?.parse().ok()?,
        tag("lead_id")?.parse().ok()?,
        tag("step")?.parse().ok()?,
        tag("email_id")?.parse().ok()?,
    ))
}

/// Applies one event (a batch of one).
pub async fn apply(
    store: &dyn Store,
    record: &SesEventRecord,
    now: DateTime<Utc>,
) -> Result<EventOutcome, Arc<DomainError>> {
    apply_batch(store, std::slice::from_ref(record), now)
        .await
        .pop()
        .expect("one outcome per record")
}

/// Applies a batch of events, then their effects. Each tenant's share is one
/// read of its emails and one all-or-nothing write of the emails, their
/// timeline entries and the counters, so a redelivered batch (every event
/// already applied) changes nothing and no count is lost or doubled.
/// Returns one outcome per record, in order.
pub async fn apply_batch(
    store: &dyn Store,
    records: &[SesEventRecord],
    now: DateTime<Utc>,
) -> Vec<Result<EventOutcome, Arc<DomainError>>> {
    let mut outcomes: Vec<Option<Result<EventOutcome, Arc<DomainError>>>> = vec![None; records.len()];
    let mut by_tenant: BTreeMap<TenantId, Vec<Target>> = BTreeMap::new();
    // Records without tags (SES's older notification format), found through their SES message id.
    let mut untagged: Vec<(usize, SesMessageId, EmailEvent)> = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let Some(event) = email_event(record) else {
            outcomes[index] = Some(Ok(EventOutcome::Ignored));
            continue;
        };
        let Some((tenant, lead, step, email_id)) = tagged_email(record) else {
            match SesMessageId::parse(record.event.ses_message_id()) {
                Some(id) => untagged.push((index, id, event)),
                None => outcomes[index] = Some(Ok(EventOutcome::Unmatched(NO_TAGS))),
            }
            continue;
        };
        by_tenant.entry(tenant).or_default().push(Target {
            index,
            lead,
            step,
            email_id,
            via_pointer: None,
            event_id: event_id(record),
            event,
            day: record.event.occurred_at().date_naive(),
        });
    }
    if !untagged.is_empty() {
        let mut ids: Vec<SesMessageId> = untagged.iter().map(|(_, id, _)| id.clone()).collect();
        ids.sort();
        ids.dedup();
        match store.find_ses_messages(&ids).await {
            Ok(pointers) => {
                let pointers: BTreeMap<SesMessageId, SesMessagePointer> = pointers
                    .into_iter()
                    .filter(|p| p.expires_at > now)
                    .map(|p| (p.ses_message_id.clone(), p))
                    .collect();
                for (index, id, event) in untagged {
                    let Some(pointer) = pointers.get(&id) else {
                        outcomes[index] = Some(Ok(EventOutcome::Unmatched(NO_TAGS)));
                        continue;
                    };
                    // The pointer names the tenant: the email is read under it, and nowhere else.
                    by_tenant.entry(pointer.tenant_id).or_default().push(Target {
                        index,
                        lead: pointer.lead_id,
                        step: pointer.step,
                        email_id: pointer.email_id,
                        via_pointer: Some(id),
                        event_id: event_id(&records[index]),
                        event,
                        day: records[index].event.occurred_at().date_naive(),
                    });
                }
            }
            Err(err) => {
                let err = Arc::new(DomainError::from(err));
                for (index, _, _) in untagged {
                    outcomes[index] = Some(Err(err.clone()));
                }
            }
        }
    }
    for (tenant, mut targets) in by_tenant {
        // In the batch's order, whichever way each email was found.
        targets.sort_by_key(|t| t.index);
        match apply_for_tenant(store, tenant, &targets, now).await {
            Ok(results) => {
                for (target, outcome) in targets.iter().zip(results) {
                    outcomes[target.index] = Some(Ok(outcome));
                }
            }
            Err(err) => {
                let err = Arc::new(err);
                for target in &targets {
                    outcomes[target.index] = Some(Err(err.clone()));
                }
            }
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every record has an outcome"))
        .collect()
}

async fn apply_for_tenant(
    store: &dyn Store,
    tenant: TenantId,
    targets: &[Target],
    now: DateTime<Utc>,
) -> Result<Vec<EventOutcome>, DomainError> {
    let (outcomes, protect_campaigns) = with_optimistic_retry(|| async {
        let mut keys: Vec<(LeadId, u32)> = targets.iter().map(|t| (t.lead, t.step)).collect();
        keys.sort();
        keys.dedup();
        let mut emails: BTreeMap<(LeadId, u32), (OutboundEmail, u64)> = store
            .get_emails(tenant, &keys)
            .await?
            .into_iter()
            .map(|e| ((e.lead_id, e.step), (e.clone(), e.version)))
            .collect();
        let mut outcomes = Vec::with_capacity(targets.len());
        let mut activities = Vec::new();
        let mut stats = StatsDelta::default();
        let mut protect_campaigns = BTreeSet::new();
        let mut pointers = Vec::new();
        for target in targets {
            let Some((email, _)) = emails
                .get_mut(&(target.lead, target.step))
                .filter(|(e, _)| e.id == target.email_id)
            else {
                outcomes.push(EventOutcome::Unmatched("no such email"));
                continue;
            };
            if let Some(id) = &target.via_pointer
                && email.ses_message_id.as_deref() != Some(id.as_str())
            {
                outcomes.push(EventOutcome::Unmatched("the email no longer has this SES message id"));
                continue;
            }
            let had_ses_id = email.ses_message_id.is_some();
            let changes = email.apply_event(&target.event_id, &target.event, now);
            if !changes.applied {
                outcomes.push(EventOutcome::Duplicate);
                continue;
            }
            if !had_ses_id {
                pointers.extend(email.ses_pointer());
            }
            for metric in changes.metrics() {
                stats.count(email.campaign_id, target.day, &email_slices(email), metric, 1);
            }
            // A rate can cross its limit by a bounce, a complaint, or the send that reaches the minimum sample.
            if changes.hard_bounce || changes.complained || changes.sent {
                protect_campaigns.insert(email.campaign_id);
            }
            let machine = changes.machine_open || changes.machine_click;
            activities.extend(Activity::email_event(
                email,
                &target.event_id,
                &target.event,
                machine,
                now,
            ));
            if changes.sent {
                let sent_at = email.sent_at.unwrap_or(now);
                activities.push(Activity::email_sent(email, sent_at));
            }
            outcomes.push(EventOutcome::Applied);
        }
        let changed: Vec<(OutboundEmail, u64)> = emails
            .into_values()
            .filter(|(email, expected)| email.version != *expected)
            .collect();
        if !changed.is_empty() {
            store
                .commit_email_events(&EmailEventsCommit {
                    tenant,
                    emails: changed,
                    activities,
                    stats,
                    pointers,
                })
                .await?;
        }
        Ok((outcomes, protect_campaigns))
    })
    .await?;
    // Idempotent, so a redelivery after a crash finishes what the first try began.
    for (target, outcome) in targets.iter().zip(&outcomes) {
        if matches!(outcome, EventOutcome::Applied | EventOutcome::Duplicate) {
            protect_address(store, tenant, target.lead, &target.event, now).await?;
        }
    }
    for campaign in protect_campaigns {
        protect_campaign(store, tenant, campaign, now).await?;
    }
    Ok(outcomes)
}

/// Bounce protection: pauses an active campaign whose hard-bounce or
/// complaint rate went over its limit, and says so in the live feed.
pub async fn protect_campaign(
    store: &dyn Store,
    tenant: TenantId,
    campaign: CampaignId,
    now: DateTime<Utc>,
) -> Result<Option<String>, DomainError> {
    let totals = store.stats_totals(tenant, Scope::Campaign(campaign)).await?.whole();
    let counted = |m| u64::try_from(totals.get(m)).unwrap_or(0);
    // No rate is over any limit without a bounce or a complaint: the common case stops at one read.
    if counted(Metric::BouncedHard) == 0 && counted(Metric::Complained) == 0 {
        return Ok(None);
    }
    let paused = with_optimistic_retry(|| async {
        let Some(mut current) = store.get_campaign(tenant, campaign).await? else {
            return Ok(None);
        };
        if current.status != CampaignStatus::Active {
            return Ok(None);
        }
        let protection = current.sending_settings().bounce_protection;
        let Some(reason) = protection.verdict(
            counted(Metric::Sent),
            counted(Metric::BouncedHard),
            counted(Metric::Complained),
        ) else {
            return Ok(None);
        };
        let expected = current.version;
        current.auto_pause(reason.clone(), now)?;
        store.replace_campaign(&current, expected).await?;
        Ok(Some((current, reason)))
    })
    .await?;
    let Some((campaign, reason)) = paused else {
        return Ok(None);
    };
    tracing::warn!(campaign_id = %campaign.id, reason = %reason, "bounce protection paused a campaign");
    store
        .append_activities(&[Activity::campaign_auto_paused(&campaign, &reason, now)])
        .await?;
    Ok(Some(reason))
}

/// Bounce and complaint effects: suppress, change the lead, stop its sequence.
pub(crate) async fn protect_address(
    store: &dyn Store,
    tenant: TenantId,
    lead: LeadId,
    event: &EmailEvent,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    let (reason, lead_status, note) = match event {
        EmailEvent::Bounced(bounce) => {
            let hard = bounce.kind == BounceKind::Hard
                || store
                    .list_lead_emails(tenant, lead)
                    .await?
                    .iter()
                    .map(|e| e.events.soft_bounces)
                    .sum::<u32>()
                    >= SOFT_BOUNCE_LIMIT;
            if !hard {
                return Ok(());
            }
            let note = match &bounce.status {
                Some(status) => format!("SES bounce {status}"),
                None => "SES bounce".to_string(),
            };
            (SuppressionReason::Bounced, LeadStatus::Bounced, note)
        }
        EmailEvent::Complained { .. } => (
            SuppressionReason::Complained,
            LeadStatus::Unsubscribed,
            "SES complaint".to_string(),
        ),
        _ => return Ok(()),
    };
    let Some(current) = store.get_lead(tenant, lead).await? else {
        return Ok(());
    };
    // A lead whose address was removed since (phone only now) has nothing to suppress; its status still moves.
    if let Some(address) = current.email.clone() {
        let address: EmailAddress = address;
        store
            .add_suppression(&Suppression {
                tenant_id: tenant,
                target: SuppressionTarget::Address(address),
                reason,
                source: SuppressionSource::SesEvent,
                note: Some(note),
                created_at: now,
            })
            .await?;
    }
    with_optimistic_retry(|| async {
        let Some(previous) = store.get_lead(tenant, lead).await? else {
            return Ok(());
        };
        // A bounced or unsubscribed lead stays as it is.
        if previous.status.is_final() {
            return Ok(());
        }
        let mut changed = previous.clone();
        changed.change_status(lead_status)?;
        changed.updated_at = now;
        changed.version += 1;
        let _ = store.replace_lead(&changed, &previous).await?;
        Ok(())
    })
    .await?;
    for mut email in store.list_lead_emails(tenant, lead).await? {
        if email.status != EmailStatus::Scheduled {
            continue;
        }
        let expected = email.version;
        let stop = if reason == SuppressionReason::Bounced {
            "the address bounced"
        } else {
            "the recipient complained"
        };
        email.stop(EmailStatus::Suppressed, stop, now)?;
        match store.save_email(&email, expected).await {
            Ok(()) | Err(StoreError::VersionConflict) => {}
            Err(err) => return Err(err.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::sending::tests::{rng, world};
    use crate::operations::sending::{SendOutcome, send_email};
    use crate::operations::test_support::now;
    use crate::ports::{LeadStore, SendError, SuppressionStore};
    use crate::ses_event::decode_sqs_body;
    use chrono::TimeDelta;
    use serde_json::{Value, json};

    /// An SNS-wrapped SES record about the world's email.
    fn record(
        w: &crate::operations::sending::tests::World,
        sns_id: &str,
        kind: &str,
        detail: Option<(&str, Value)>,
    ) -> SesEventRecord {
        let mut event = json!({
            "eventType": kind,
            "mail": {
                "timestamp": "2026-03-02T10:00:00.000Z",
                "messageId": "ses-1",
                "source": "sam@acme.io",
                "destination": ["ann@prospect.io"],
                "tags": {
                    "tenant_id": [w.tenant.to_string()],
                    "lead_id": [w.job.lead_id.to_string()],
                    "step": ["1"],
                    "email_id": [w.job.email_id.to_string()]
                }
            }
        });
        if let Some((key, value)) = detail {
            event[key] = value;
        }
        let body = json!({
            "Type": "Notification",
            "MessageId": sns_id,
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
            "Message": event.to_string(),
            "Timestamp": "2026-03-02T10:00:01.000Z"
        });
        decode_sqs_body(&body.to_string()).unwrap()
    }

    fn at(minutes: i64) -> String {
        (now() + TimeDelta::minutes(minutes)).to_rfc3339()
    }

    async fn sent_world() -> crate::operations::sending::tests::World {
        let w = world().await;
        let outcome = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert!(matches!(outcome, SendOutcome::Sent { .. }));
        w
    }

    #[tokio::test]
    async fn statuses_only_move_forward_and_a_redelivered_event_counts_once() {
        let w = sent_world().await;
        let delivery = record(
            &w,
            "sns-1",
            "Delivery",
            Some((
                "delivery",
                json!({"timestamp": at(1), "recipients": ["ann@prospect.io"]}),
            )),
        );
        let open = record(
            &w,
            "sns-2",
            "Open",
            Some(("open", json!({"timestamp": at(5), "userAgent": "Mozilla"}))),
        );
        let click = record(
            &w,
            "sns-3",
            "Click",
            Some(("click", json!({"timestamp": at(6), "link": "https://acme.io/demo"}))),
        );
        assert_eq!(apply(&w.store, &open, now()).await.unwrap(), EventOutcome::Applied);
        assert_eq!(apply(&w.store, &delivery, now()).await.unwrap(), EventOutcome::Applied);
        assert_eq!(
            w.email().await.status,
            EmailStatus::Opened,
            "a late delivery does not move it back"
        );
        assert_eq!(apply(&w.store, &open, now()).await.unwrap(), EventOutcome::Duplicate);
        apply(&w.store, &click, now()).await.unwrap();
        let email = w.email().await;
        assert_eq!(email.status, EmailStatus::Clicked);
        assert_eq!((email.events.opens, email.events.clicks), (1, 1));
        assert_eq!(email.events.clicked_links, ["https://acme.io/demo"]);
        assert!(email.events.delivered_at.is_some());
    }

    #[tokio::test]
    async fn machine_opens_and_clicks_are_kept_apart_and_do_not_open_the_email() {
        let w = sent_world().await;
        let delivered = at(1);
        apply(
            &w.store,
            &record(&w, "d", "Delivery", Some(("delivery", json!({"timestamp": delivered})))),
            now(),
        )
        .await
        .unwrap();
        // A gateway follows the link two seconds after delivery; Apple's proxy fetches the pixel.
        let scan = json!({"timestamp": (now() + TimeDelta::minutes(1) + TimeDelta::seconds(2)).to_rfc3339(),
            "link": "https://acme.io/demo", "userAgent": "Mozilla/5.0", "ipAddress": "198.51.100.4"});
        apply(&w.store, &record(&w, "c", "Click", Some(("click", scan))), now())
            .await
            .unwrap();
        let proxy = json!({"timestamp": at(30), "userAgent": "Mozilla/5.0", "ipAddress": "17.58.1.1"});
        apply(&w.store, &record(&w, "o", "Open", Some(("open", proxy))), now())
            .await
            .unwrap();
        let email = w.email().await;
        assert_eq!(email.status, EmailStatus::Delivered);
        assert_eq!((email.events.opens, email.events.clicks), (0, 0));
        assert_eq!((email.events.machine_opens, email.events.machine_clicks), (1, 1));
    }

    #[tokio::test]
    async fn a_send_event_resolves_a_claim_whose_outcome_was_lost() {
        let w = world().await;
        w.mailer
            .failures
            .lock()
            .unwrap()
            .push(SendError::Unknown("timed out".into()));
        send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert_eq!(w.email().await.status, EmailStatus::Sending);
        apply(
            &w.store,
            &record(&w, "sns-send", "Send", Some(("send", json!({})))),
            now(),
        )
        .await
        .unwrap();
        let email = w.email().await;
        assert_eq!(email.status, EmailStatus::Sent);
        assert_eq!(email.ses_message_id.as_deref(), Some("ses-1"));
    }

    #[tokio::test]
    async fn a_hard_bounce_suppresses_the_address_and_bounces_the_lead() {
        let w = sent_world().await;
        let bounce = json!({"bounceType": "Permanent", "bounceSubType": "General", "timestamp": at(2),
            "bouncedRecipients": [{"emailAddress": "ann@prospect.io", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]});
        let outcome = apply(
            &w.store,
            &record(&w, "sns-b", "Bounce", Some(("bounce", bounce))),
            now(),
        )
        .await;
        assert_eq!(outcome.unwrap(), EventOutcome::Applied);
        let email = w.email().await;
        assert_eq!(email.status, EmailStatus::Bounced);
        let recorded = email.events.bounce.unwrap();
        assert_eq!(
            (recorded.kind, recorded.status.as_deref()),
            (BounceKind::Hard, Some("5.1.1"))
        );
        let address = EmailAddress::parse("ann@prospect.io").unwrap();
        let entry = w
            .store
            .suppressed(w.tenant, &address)
            .await
            .unwrap()
            .expect("suppressed");
        assert_eq!(entry.reason, SuppressionReason::Bounced);
        let lead = w.store.get_lead(w.tenant, w.job.lead_id).await.unwrap().unwrap();
        assert_eq!(lead.status, LeadStatus::Bounced);
        // A late delivery never moves it back.
        let delivery = record(&w, "sns-d", "Delivery", Some(("delivery", json!({"timestamp": at(3)}))));
        apply(&w.store, &delivery, now()).await.unwrap();
        assert_eq!(w.email().await.status, EmailStatus::Bounced);
    }

    #[tokio::test]
    async fn three_soft_bounces_suppress_the_address_and_a_later_complaint_is_recorded() {
        let w = sent_world().await;
        for n in 0..2 {
            let bounce = json!({"bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": at(n)});
            apply(
                &w.store,
                &record(&w, &format!("soft-{n}"), "Bounce", Some(("bounce", bounce))),
                now(),
            )
            .await
            .unwrap();
        }
        let address = EmailAddress::parse("ann@prospect.io").unwrap();
        assert!(
            w.store.suppressed(w.tenant, &address).await.unwrap().is_none(),
            "two soft bounces are not enough"
        );
        assert_eq!(w.email().await.status, EmailStatus::Sent);
        let bounce = json!({"bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": at(3)});
        apply(
            &w.store,
            &record(&w, "soft-2", "Bounce", Some(("bounce", bounce))),
            now(),
        )
        .await
        .unwrap();
        assert!(
            w.store.suppressed(w.tenant, &address).await.unwrap().is_some(),
            "the third suppresses"
        );

        let complaint = json!({"timestamp": at(9), "complaintFeedbackType": "abuse",
            "complainedRecipients": [{"emailAddress": "ann@prospect.io"}]});
        apply(
            &w.store,
            &record(&w, "sns-c", "Complaint", Some(("complaint", complaint))),
            now(),
        )
        .await
        .unwrap();
        let email = w.email().await;
        assert_eq!(email.status, EmailStatus::Complained);
        assert_eq!(email.events.complaint_feedback_type.as_deref(), Some("abuse"));
    }

    #[tokio::test]
    async fn a_complaint_on_a_fresh_lead_unsubscribes_it() {
        let w = sent_world().await;
        let complaint = json!({"timestamp": at(9), "complainedRecipients": [{"emailAddress": "ann@prospect.io"}]});
        apply(
            &w.store,
            &record(&w, "sns-c", "Complaint", Some(("complaint", complaint))),
            now(),
        )
        .await
        .unwrap();
        let lead = w.store.get_lead(w.tenant, w.job.lead_id).await.unwrap().unwrap();
        assert_eq!(lead.status, LeadStatus::Unsubscribed);
        let address = EmailAddress::parse("ann@prospect.io").unwrap();
        let entry = w.store.suppressed(w.tenant, &address).await.unwrap().unwrap();
        assert_eq!(entry.reason, SuppressionReason::Complained);
    }

    #[tokio::test]
    async fn an_event_without_our_tags_is_unmatched() {
        let w = sent_world().await;
        let mut foreign = record(&w, "sns-x", "Open", Some(("open", json!({"timestamp": at(1)}))));
        foreign.event.mail.tags.clear();
        assert_eq!(
            apply(&w.store, &foreign, now()).await.unwrap(),
            EventOutcome::Unmatched(NO_TAGS)
        );
    }

    /// SES's older notification format (set on the identity): `notificationType`, no tags.
    fn notification(ses_message_id: &str, sns_id: &str, kind: &str, detail: (&str, Value)) -> SesEventRecord {
        let mut message = json!({
            "notificationType": kind,
            "mail": {
                "timestamp": "2026-03-02T10:00:00.000Z",
                "messageId": ses_message_id,
                "source": "sam@acme.io",
                "sourceIp": "192.0.2.1",
                "destination": ["ann@prospect.io"]
            }
        });
        message[detail.0] = detail.1;
        let body = json!({"Type": "Notification", "MessageId": sns_id, "Message": message.to_string()});
        decode_sqs_body(&body.to_string()).unwrap()
    }

    #[tokio::test]
    async fn an_older_format_bounce_without_tags_lands_through_the_ses_message_id() {
        let w = sent_world().await;
        let ses_id = w.email().await.ses_message_id.unwrap();
        let bounce = json!({"bounceType": "Permanent", "bounceSubType": "General", "timestamp": at(2),
            "bouncedRecipients": [{"emailAddress": "ann@prospect.io", "status": "5.1.1"}]});
        let record = notification(&ses_id, "sns-old-b", "Bounce", ("bounce", bounce));
        assert!(record.event.mail.tags.is_empty());
        let outcomes = apply_batch(&w.store, std::slice::from_ref(&record), now()).await;
        assert_eq!(outcomes[0].as_ref().unwrap(), &EventOutcome::Applied);
        assert_eq!(w.email().await.status, EmailStatus::Bounced);
        let address = EmailAddress::parse("ann@prospect.io").unwrap();
        assert!(w.store.suppressed(w.tenant, &address).await.unwrap().is_some());
        let lead = w.store.get_lead(w.tenant, w.job.lead_id).await.unwrap().unwrap();
        assert_eq!(lead.status, LeadStatus::Bounced);
        assert_eq!(campaign_counts(&w).await.bounced_hard, 1);
        assert_eq!(apply(&w.store, &record, now()).await.unwrap(), EventOutcome::Duplicate);
        assert_eq!(campaign_counts(&w).await.bounced_hard, 1, "a redelivery counts nothing");

        // An id no email of ours has (another system's mail on the account) finds nothing.
        let delivery = json!({"timestamp": at(1), "recipients": ["ann@prospect.io"]});
        let foreign = notification("ses-of-someone-else", "sns-old-d", "Delivery", ("delivery", delivery));
        assert_eq!(
            apply(&w.store, &foreign, now()).await.unwrap(),
            EventOutcome::Unmatched(NO_TAGS)
        );
    }

    #[tokio::test]
    async fn a_send_event_that_resolves_a_lost_claim_makes_the_email_findable_by_its_ses_id() {
        let w = world().await;
        w.mailer
            .failures
            .lock()
            .unwrap()
            .push(SendError::Unknown("timed out".into()));
        send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        let complaint = json!({"timestamp": at(9), "complaintFeedbackType": "abuse",
            "complainedRecipients": [{"emailAddress": "ann@prospect.io"}]});
        let early = notification("ses-1", "sns-old-c0", "Complaint", ("complaint", complaint.clone()));
        assert_eq!(
            apply(&w.store, &early, now()).await.unwrap(),
            EventOutcome::Unmatched(NO_TAGS),
            "the sender never learnt the id"
        );
        apply(
            &w.store,
            &record(&w, "sns-send", "Send", Some(("send", json!({})))),
            now(),
        )
        .await
        .unwrap();
        let late = notification("ses-1", "sns-old-c", "Complaint", ("complaint", complaint));
        assert_eq!(apply(&w.store, &late, now()).await.unwrap(), EventOutcome::Applied);
        assert_eq!(w.email().await.status, EmailStatus::Complained);
        let lead = w.store.get_lead(w.tenant, w.job.lead_id).await.unwrap().unwrap();
        assert_eq!(lead.status, LeadStatus::Unsubscribed);
    }

    async fn campaign_counts(w: &crate::operations::sending::tests::World) -> crate::stats::StatCounts {
        use crate::ports::StatsStore;
        let tally = w
            .store
            .stats_totals(w.tenant, Scope::Campaign(w.campaign))
            .await
            .unwrap();
        crate::stats::StatCounts::from_counts(&tally.whole())
    }

    #[tokio::test]
    async fn a_batch_out_of_order_counts_each_email_once_and_replaying_it_changes_nothing() {
        use crate::ports::ActivityStore;
        let w = sent_world().await;
        let batch = vec![
            record(
                &w,
                "sns-o",
                "Open",
                Some(("open", json!({"timestamp": at(5), "userAgent": "Mozilla/5.0"}))),
            ),
            record(&w, "sns-d", "Delivery", Some(("delivery", json!({"timestamp": at(1)})))),
            record(
                &w,
                "sns-k",
                "Click",
                Some(("click", json!({"timestamp": at(6), "link": "https://acme.io/a"}))),
            ),
            record(
                &w,
                "sns-k",
                "Click",
                Some(("click", json!({"timestamp": at(6), "link": "https://acme.io/a"}))),
            ),
            record(
                &w,
                "sns-k2",
                "Click",
                Some(("click", json!({"timestamp": at(7), "link": "https://acme.io/b"}))),
            ),
            record(&w, "sns-s", "Send", None),
        ];
        let outcomes: Vec<EventOutcome> = apply_batch(&w.store, &batch, now())
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            outcomes,
            [
                EventOutcome::Applied,
                EventOutcome::Applied,
                EventOutcome::Applied,
                EventOutcome::Duplicate,
                EventOutcome::Applied,
                EventOutcome::Applied
            ]
        );
        let email = w.email().await;
        assert_eq!(email.status, EmailStatus::Clicked);
        assert_eq!(email.events.clicks, 2);
        let counts = campaign_counts(&w).await;
        assert_eq!(
            (counts.sent, counts.delivered, counts.opened, counts.clicked),
            (1, 1, 1, 1),
            "unique per email: two clicks count one clicked email"
        );
        assert_eq!(counts.scheduled, 1);
        assert_eq!(counts.leads, 1);

        let again = apply_batch(&w.store, &batch, now()).await;
        assert!(again.into_iter().all(|o| o.unwrap() == EventOutcome::Duplicate));
        assert_eq!(campaign_counts(&w).await, counts, "a replayed batch changes no counter");

        let timeline = w
            .store
            .list_lead_activities(w.tenant, w.job.lead_id, &crate::page::PageRequest::first(50))
            .await
            .unwrap()
            .items;
        let kinds: Vec<String> = timeline
            .iter()
            .map(|a| serde_json::to_value(a.kind).unwrap().as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            kinds,
            [
                "email.clicked",
                "email.clicked",
                "email.opened",
                "email.delivered",
                "email.sent",
                "lead.created"
            ],
            "newest first, one entry per event"
        );
    }

    #[tokio::test]
    async fn a_late_delivery_after_a_hard_bounce_keeps_the_bounce_and_counts_both_once() {
        let w = sent_world().await;
        let bounce = json!({"bounceType": "Permanent", "bounceSubType": "General", "timestamp": at(2),
            "bouncedRecipients": [{"emailAddress": "ann@prospect.io", "status": "5.1.1"}]});
        let batch = vec![
            record(&w, "sns-b", "Bounce", Some(("bounce", bounce.clone()))),
            record(&w, "sns-d", "Delivery", Some(("delivery", json!({"timestamp": at(1)})))),
        ];
        for outcome in apply_batch(&w.store, &batch, now()).await {
            outcome.unwrap();
        }
        assert_eq!(w.email().await.status, EmailStatus::Bounced);
        let counts = campaign_counts(&w).await;
        assert_eq!((counts.bounced_hard, counts.bounced, counts.delivered), (1, 1, 1));
        // A second bounce notice for the same email (another SNS message) is not a second bounced email.
        apply(
            &w.store,
            &record(&w, "sns-b2", "Bounce", Some(("bounce", bounce))),
            now(),
        )
        .await
        .unwrap();
        assert_eq!(campaign_counts(&w).await.bounced_hard, 1);
        let lead = w.store.get_lead(w.tenant, w.job.lead_id).await.unwrap().unwrap();
        assert_eq!(lead.status, LeadStatus::Bounced);
        let counts = campaign_counts(&w).await;
        assert_eq!(
            counts.leads, 1,
            "the lead moved between status gauges, it was not added"
        );
    }

    #[tokio::test]
    async fn bounce_protection_waits_for_fifty_sends_then_pauses_with_the_reason() {
        use crate::campaign::CampaignStatus;
        use crate::ports::{ActivityStore, CampaignStore, StatsStore};
        use crate::stats::{Metric, StatsDelta};
        let w = sent_world().await;
        let day = now().date_naive();
        let mut delta = StatsDelta::default();
        delta.count(w.campaign, day, &[], Metric::Sent, 48);
        delta.count(w.campaign, day, &[], Metric::BouncedHard, 9);
        w.store.add_stats(w.tenant, &delta).await.unwrap();
        // The 49th send and the 10th bounce arrive as events: 49 sends are below the minimum.
        apply(&w.store, &record(&w, "sns-s", "Send", None), now())
            .await
            .unwrap();
        let bounce = json!({"bounceType": "Permanent", "timestamp": at(2)});
        apply(
            &w.store,
            &record(&w, "sns-b", "Bounce", Some(("bounce", bounce))),
            now(),
        )
        .await
        .unwrap();
        let campaign = w.store.get_campaign(w.tenant, w.campaign).await.unwrap().unwrap();
        assert_eq!(campaign.status, CampaignStatus::Active, "49 sends: not yet judged");

        let mut one_more = StatsDelta::default();
        one_more.count(w.campaign, day, &[], Metric::Sent, 1);
        w.store.add_stats(w.tenant, &one_more).await.unwrap();
        let reason = protect_campaign(&w.store, w.tenant, w.campaign, now()).await.unwrap();
        assert_eq!(
            reason.as_deref(),
            Some("bounce rate 20.00% (10 of 50 emails) is above the limit of 5%")
        );
        let campaign = w.store.get_campaign(w.tenant, w.campaign).await.unwrap().unwrap();
        assert_eq!(campaign.status, CampaignStatus::Paused);
        assert_eq!(campaign.paused_reason, reason);
        let feed = w
            .store
            .activity_feed(w.tenant, None, now() + chrono::TimeDelta::minutes(1), 50)
            .await
            .unwrap();
        let paused = feed
            .iter()
            .find(|a| a.kind == crate::activity::ActivityKind::CampaignAutoPaused)
            .expect("the auto-pause is in the live feed");
        assert_eq!(paused.campaign_id, Some(w.campaign));
        assert!(
            protect_campaign(&w.store, w.tenant, w.campaign, now())
                .await
                .unwrap()
                .is_none(),
            "a paused campaign is not paused twice"
        );
    }
}
