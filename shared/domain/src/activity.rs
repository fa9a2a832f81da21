//! A lead's timeline: what happened to it, oldest first. Later issues add
//! email and reply events; webhooks, workflows and the live feed read it.

use crate::ids::{ImportJobId, LeadId, TenantId};
use crate::lead::Lead;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum ActivityKind {
    #[serde(rename = "lead.created")]
    LeadCreated,
    #[serde(rename = "email.sent")]
    EmailSent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Activity {
    /// Time-ordered; `lead.created` uses the lead's own id, so writing it
    /// again (a retried batch) lands on the same item.
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant_id: TenantId,
    pub lead_id: LeadId,
    pub kind: ActivityKind,
    pub at: DateTime<Utc>,
    /// Details of the event, e.g. its source or import.
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
}

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
            lead_id: lead.id,
            kind: ActivityKind::LeadCreated,
            at: lead.created_at,
            data,
        }
    }

    /// An email of the lead's sequence went out. Its id is the email's, so a
    /// retried send records it once.
    pub fn email_sent(email: &crate::outbound::OutboundEmail, at: DateTime<Utc>) -> Self {
        let mut data = Map::new();
        data.insert("campaign_id".into(), Value::String(email.campaign_id.to_string()));
        data.insert("email_id".into(), Value::String(email.id.to_string()));
        data.insert("step".into(), Value::from(email.step));
        if let Some(subject) = &email.subject {
            data.insert("subject".into(), Value::String(subject.clone()));
        }
        Self {
            id: *email.id.as_uuid(),
            tenant_id: email.tenant_id,
            lead_id: email.lead_id,
            kind: ActivityKind::EmailSent,
            at,
            data,
        }
    }
}
