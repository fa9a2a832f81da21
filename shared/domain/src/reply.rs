//! An inbound message as stored (seed R9): what it is, what it says, which
//! email it answers, and how its classification was corrected.

use crate::ids::{ApiKeyId, CampaignId, EmailId, LeadId, ReplyId, TenantId};
use crate::inbound::{BounceInfo, InboundAnalysis, MessageKind, ParseOutcome, Referral, ReplyClass};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How the email a message answers was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchMethod {
    /// The signed `Reply-To` address of the email.
    Token,
    /// `In-Reply-To` / `References` (or a bounce's returned headers) naming our Message-ID.
    References,
    /// The sender is a lead the tenant emailed: its latest sent email.
    Sender,
}

/// A person's correction of the classification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Correction {
    #[schema(value_type = String)]
    pub from: ReplyClass,
    #[schema(value_type = String)]
    pub to: ReplyClass,
    /// The API key that made it.
    pub by: ApiKeyId,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reply {
    pub id: ReplyId,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant_id: TenantId,
    /// `human`, `auto_reply` or `bounce`.
    #[schema(value_type = String)]
    pub kind: MessageKind,
    /// The current classification (corrections included).
    #[schema(value_type = String)]
    pub classification: ReplyClass,
    pub confidence: f64,
    pub rationale: Vec<String>,
    pub visible_text: String,
    /// Only in `GET /v1/replies/{id}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_text: Option<String>,
    pub matched_email_id: Option<EmailId>,
    #[serde(rename = "match")]
    pub match_method: Option<MatchMethod>,
    pub lead_id: Option<LeadId>,
    pub campaign_id: Option<CampaignId>,
    pub step: Option<u32>,
    /// Out of office: the day the sender is back, when stated.
    pub return_date: Option<NaiveDate>,
    /// Out of office: the day the lead's sequence resumes.
    pub resume_on: Option<NaiveDate>,
    #[schema(value_type = Option<Object>)]
    pub bounce: Option<BounceInfo>,
    /// Wrong person: who the reply points to, when it names someone.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub referral: Option<Referral>,
    pub from: Option<String>,
    /// The message's own recipients and threading headers (the headers summary).
    #[serde(default)]
    pub to: Vec<String>,
    #[serde(default)]
    pub cc: Vec<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    #[serde(default)]
    pub in_reply_to: Option<String>,
    /// The message's `Date` header.
    #[serde(default)]
    pub date: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    /// `complete`, `partial` or `unparseable`.
    #[schema(value_type = String)]
    pub parse: ParseOutcome,
    pub read: bool,
    pub corrections: Vec<Correction>,
    /// SES's id of the received message (the raw MIME is kept in S3 under it).
    pub ses_message_id: String,
    #[serde(skip_serializing, default)]
    #[schema(ignore)]
    pub object_key: String,
    pub version: u64,
}

/// Where a message came from and what it was matched to.
#[derive(Debug, Clone)]
pub struct Received {
    pub ses_message_id: String,
    pub object_key: String,
    pub received_at: DateTime<Utc>,
}

/// What a message was matched to.
#[derive(Debug, Clone, Copy)]
pub struct Matched {
    pub email: EmailId,
    pub lead: LeadId,
    pub campaign: CampaignId,
    pub step: u32,
    pub method: MatchMethod,
}

impl Reply {
    /// One reply per SES message: the id is derived from it, so a redelivered
    /// notification lands on the same item.
    pub fn id_for(ses_message_id: &str, received_at: DateTime<Utc>) -> ReplyId {
        ReplyId::from_uuid(crate::activity::stable_id(
            received_at,
            &format!("reply:{ses_message_id}"),
        ))
    }

    pub fn new(tenant: TenantId, received: &Received, analysis: &InboundAnalysis, matched: Option<Matched>) -> Self {
        let resume_on = (analysis.classification == ReplyClass::OutOfOffice)
            .then(|| analysis.return_date.and_then(crate::inbound::resume_on))
            .flatten();
        Self {
            id: Self::id_for(&received.ses_message_id, received.received_at),
            tenant_id: tenant,
            kind: analysis.kind,
            classification: analysis.classification,
            confidence: analysis.confidence.value(),
            rationale: analysis.rationale.clone(),
            visible_text: analysis.visible_text.clone(),
            full_text: Some(analysis.full_text.clone()),
            matched_email_id: matched.map(|m| m.email),
            match_method: matched.map(|m| m.method),
            lead_id: matched.map(|m| m.lead),
            campaign_id: matched.map(|m| m.campaign),
            step: matched.map(|m| m.step),
            return_date: analysis.return_date,
            resume_on,
            bounce: analysis.bounce.clone(),
            referral: analysis.referral.clone(),
            from: analysis.headers.from.clone(),
            to: analysis.headers.to.clone(),
            cc: analysis.headers.cc.clone(),
            subject: analysis.headers.subject.clone(),
            message_id: analysis.headers.message_id.clone(),
            in_reply_to: analysis.headers.in_reply_to.clone(),
            date: analysis.headers.date.map(|d| d.to_utc()),
            received_at: received.received_at,
            parse: analysis.parse.outcome,
            read: false,
            corrections: Vec::new(),
            ses_message_id: received.ses_message_id.clone(),
            object_key: received.object_key.clone(),
            version: 1,
        }
    }

    /// A person replied (auto-replies and bounces are not replies).
    pub fn is_reply(&self) -> bool {
        self.kind == MessageKind::Human
    }

    pub fn is_positive(&self) -> bool {
        self.is_reply() && self.classification.is_positive()
    }

    /// Corrects the classification; a correction to the same class is no change.
    pub fn correct(&mut self, to: ReplyClass, by: ApiKeyId, now: DateTime<Utc>) -> Result<bool, crate::DomainError> {
        if to == self.classification {
            return Ok(false);
        }
        if !to.fits(self.kind) {
            return Err(crate::DomainError::invalid(
                "/classification",
                format!("{to} does not apply to a message of kind {}", self.kind.as_str()),
            ));
        }
        self.corrections.push(Correction {
            from: self.classification,
            to,
            by,
            at: now,
        });
        self.classification = to;
        self.version += 1;
        Ok(true)
    }
}

/// `GET /v1/replies` filters.
#[derive(Debug, Clone, Default)]
pub struct ReplyFilter {
    pub campaign: Option<CampaignId>,
    /// `None`: every kind.
    pub kind: Option<MessageKind>,
    pub classification: Option<ReplyClass>,
    pub unread: Option<bool>,
    pub matched: Option<bool>,
}

impl ReplyFilter {
    pub fn accepts(&self, reply: &Reply) -> bool {
        self.campaign.is_none_or(|c| reply.campaign_id == Some(c))
            && self.kind.is_none_or(|k| reply.kind == k)
            && self.classification.is_none_or(|c| reply.classification == c)
            && self.unread.is_none_or(|u| u != reply.read)
            && self.matched.is_none_or(|m| m == reply.matched_email_id.is_some())
    }
}
