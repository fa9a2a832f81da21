//! What happened, as a lead's timeline (`GET /v1/leads/{id}/activities`,
//! newest first) and as the tenant's live feed (`GET /v1/activity?since=`,
//! in the order it was recorded). Webhooks and workflows read it later.

use crate::campaign::Campaign;
use crate::ids::{CampaignId, ImportJobId, LeadId, TenantId};
use crate::lead::Lead;
use crate::outbound::{BounceKind, EmailEvent, OutboundEmail};
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ActivityKind {
    #[serde(rename = "lead.created")]
    LeadCreated,
    #[serde(rename = "email.sent")]
    EmailSent,
    #[serde(rename = "email.delivered")]
    EmailDelivered,
    #[serde(rename = "email.opened")]
    EmailOpened,
    #[serde(rename = "email.clicked")]
    EmailClicked,
    #[serde(rename = "email.bounced")]
    EmailBounced,
    #[serde(rename = "email.complained")]
    EmailComplained,
    #[serde(rename = "email.rejected")]
    EmailRejected,
    #[serde(rename = "email.failed")]
    EmailFailed,
    #[serde(rename = "campaign.auto_paused")]
    CampaignAutoPaused,
    /// An inbound message matched to the lead: a reply, an auto-reply or a bounce (`data.kind`).
    #[serde(rename = "reply.received")]
    ReplyReceived,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Activity {
    /// Time-ordered (UUIDv7 of the time it happened) and derived from the
    /// event, so recording it again (a redelivery) lands on the same item.
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant_id: TenantId,
    /// Absent for campaign events (e.g. `campaign.auto_paused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_id: Option<LeadId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<CampaignId>,
    pub kind: ActivityKind,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// When we learnt of it: the live feed's order.
    #[serde(default)]
    pub recorded_at: Option<DateTime<Utc>>,
    /// Details of the event, e.g. its source, import, step or link.
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

/// A time-ordered id that the same `key` always gets: UUIDv7 layout, with the
/// time of `at` and bits from a hash of the key in place of random ones.
pub fn stable_id(at: DateTime<Utc>, key: &str) -> Uuid {
    let hash = Sha256::digest(key.as_bytes());
    let mut bits = [0u8; 10];
    bits.copy_from_slice(&hash[..10]);
    let millis = u64::try_from(at.timestamp_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &bits).into_uuid()
}

/// The position of an activity in the live feed; also the feed's cursor.
pub fn feed_position(recorded_at: DateTime<Utc>, id: Uuid) -> String {
    format!("{:013}.{id}", recorded_at.timestamp_millis().max(0))
}

/// How long the feed waits before showing what was recorded: index updates
/// and concurrent writers land within it, so a poller never skips an item.
pub const FEED_SETTLE: TimeDelta = TimeDelta::seconds(2);

impl Activity {
    /// The first entry of every lead's timeline. Not stored on its own: the
    /// lead item records it (one write per imported lead, not two).
    pub fn lead_created(lead: &Lead) -> Self {
        let import: Option<ImportJobId> = lead.origin.map(|o| o.import_id);
        let mut data = Map::new();
        data.insert("campaign_id".into(), Value::String(lead.campaign_id.to_string()));
        if let Some(source) = &lead.source {
            data.insert("source".into(), Value::String(source.clone()));
        }
        if let Some(import) = import {
            data.insert("import_id".into(), Value::String(import.to_string()));
        }
        Self {
            id: *lead.id.as_uuid(),
            tenant_id: lead.tenant_id,
            lead_id: Some(lead.id),
            campaign_id: Some(lead.campaign_id),
            kind: ActivityKind::LeadCreated,
            at: lead.created_at,
            recorded_at: Some(lead.created_at),
            data,
        }
    }

    fn about_email(
        email: &OutboundEmail,
        kind: ActivityKind,
        key: &str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut data = Map::new();
        data.insert("campaign_id".into(), Value::String(email.campaign_id.to_string()));
        data.insert("email_id".into(), Value::String(email.id.to_string()));
        data.insert("step".into(), Value::from(email.step));
        data.insert("variant".into(), Value::from(email.variant));
        Self {
            id: stable_id(at, key),
            tenant_id: email.tenant_id,
            lead_id: Some(email.lead_id),
            campaign_id: Some(email.campaign_id),
            kind,
            at,
            recorded_at: Some(now),
            data,
        }
    }

    /// An email of the lead's sequence went out. Keyed by the email, so a
    /// retried send (or SES's Send event after it) records it once.
    pub fn email_sent(email: &OutboundEmail, at: DateTime<Utc>) -> Self {
        let mut activity = Self::about_email(email, ActivityKind::EmailSent, &format!("sent:{}", email.id), at, at);
        if let Some(subject) = &email.subject {
            activity.data.insert("subject".into(), Value::String(subject.clone()));
        }
        activity
    }

    /// What an SES event did to an email; `event_id` makes it idempotent.
    /// `None` for the Send event, which `email_sent` records.
    pub fn email_event(
        email: &OutboundEmail,
        event_id: &str,
        event: &EmailEvent,
        machine: bool,
        now: DateTime<Utc>,
    ) -> Option<Self> {
        let key = format!("event:{event_id}");
        let (kind, at) = match event {
            EmailEvent::Sent { .. } => return None,
            EmailEvent::Delivered { at } => (ActivityKind::EmailDelivered, *at),
            EmailEvent::Opened { at, .. } => (ActivityKind::EmailOpened, *at),
            EmailEvent::Clicked { at, .. } => (ActivityKind::EmailClicked, *at),
            EmailEvent::Bounced(bounce) => (ActivityKind::EmailBounced, bounce.at),
            EmailEvent::Complained { at, .. } => (ActivityKind::EmailComplained, *at),
            EmailEvent::Rejected { .. } => (ActivityKind::EmailRejected, now),
            EmailEvent::RenderingFailed { .. } => (ActivityKind::EmailFailed, now),
        };
        let mut activity = Self::about_email(email, kind, &key, at, now);
        let data = &mut activity.data;
        match event {
            EmailEvent::Opened { .. } => {
                data.insert("machine".into(), Value::Bool(machine));
            }
            EmailEvent::Clicked { link, .. } => {
                data.insert("machine".into(), Value::Bool(machine));
                data.insert("link".into(), Value::String(link.clone()));
            }
            EmailEvent::Bounced(bounce) => {
                let kind = if bounce.kind == BounceKind::Hard {
                    "hard"
                } else {
                    "soft"
                };
                data.insert("bounce_type".into(), Value::String(kind.into()));
                if let Some(status) = &bounce.status {
                    data.insert("status".into(), Value::String(status.clone()));
                }
            }
            EmailEvent::Complained { feedback_type, .. } => {
                if let Some(feedback) = feedback_type {
                    data.insert("feedback_type".into(), Value::String(feedback.clone()));
                }
            }
            EmailEvent::Rejected { reason } | EmailEvent::RenderingFailed { reason } => {
                data.insert("reason".into(), Value::String(reason.clone()));
            }
            EmailEvent::Sent { .. } | EmailEvent::Delivered { .. } => {}
        }
        Some(activity)
    }

    /// Bounce protection paused the campaign.
    pub fn campaign_auto_paused(campaign: &Campaign, reason: &str, now: DateTime<Utc>) -> Self {
        let mut data = Map::new();
        data.insert("reason".into(), Value::String(reason.to_string()));
        Self {
            id: stable_id(now, &format!("auto_paused:{}:{}", campaign.id, campaign.version)),
            tenant_id: campaign.tenant_id,
            lead_id: None,
            campaign_id: Some(campaign.id),
            kind: ActivityKind::CampaignAutoPaused,
            at: now,
            recorded_at: Some(now),
            data,
        }
    }

    /// An inbound message matched to one of the lead's emails.
    pub fn reply_received(reply: &crate::reply::Reply, lead: LeadId, campaign: CampaignId, now: DateTime<Utc>) -> Self {
        let mut data = Map::new();
        data.insert("reply_id".into(), Value::String(reply.id.to_string()));
        data.insert("kind".into(), Value::String(reply.kind.as_str().to_string()));
        data.insert(
            "classification".into(),
            Value::String(reply.classification.as_str().to_string()),
        );
        if let Some(email) = reply.matched_email_id {
            data.insert("email_id".into(), Value::String(email.to_string()));
        }
        Self {
            id: stable_id(reply.received_at, &format!("reply:{}", reply.id)),
            tenant_id: reply.tenant_id,
            lead_id: Some(lead),
            campaign_id: Some(campaign),
            kind: ActivityKind::ReplyReceived,
            at: reply.received_at,
            recorded_at: Some(now),
            data,
        }
    }

    /// Where it sits in the live feed.
    pub fn feed_position(&self) -> String {
        feed_position(self.recorded_at.unwrap_or(self.at), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_are_time_ordered_and_repeatable() {
        let t = Utc::now();
        let a = stable_id(t, "event:1");
        assert_eq!(a, stable_id(t, "event:1"));
        assert_ne!(a, stable_id(t, "event:2"));
        let later = stable_id(t + TimeDelta::milliseconds(5), "event:0");
        assert!(later.to_string() > a.to_string(), "text order is time order");
        assert_eq!(a.get_version_num(), 7);
    }

    #[test]
    fn feed_positions_sort_by_recording_time() {
        let t = Utc::now();
        let id = Uuid::now_v7();
        assert!(feed_position(t, id) < feed_position(t + TimeDelta::milliseconds(1), Uuid::nil()));
    }
}
