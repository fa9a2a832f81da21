//! `GET /v1/campaigns/{id}/export.csv`: one CSV row per lead of a campaign
//! with what its emails did, written a page of leads at a time.
//!
//! The join without a read per lead: the campaign's emails are read first
//! (its email index, 500 a page) and folded into a few bytes per lead (the
//! last email's step, status and time, opened, clicked); the leads are then
//! read a page at a time and each page becomes one chunk of CSV. So memory
//! holds those summaries and one page, never the campaign's items, and the
//! reads are one Query per 500 emails and per 500 leads.

use crate::api_key::{Capability, Principal};
use crate::error::{DomainError, StoreError};
use crate::ids::{CampaignId, LeadId, TenantId};
use crate::inbound::{MessageKind, ReplyClass};
use crate::lead::{Lead, LeadStatus};
use crate::outbound::{EmailStatus, OutboundEmail};
use crate::page::{Cursor, MAX_PAGE_SIZE, PageRequest};
use crate::ports::Store;
use crate::reply::ReplyFilter;
use crate::scoring::ScoreTier;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashMap;

/// The columns, in order.
pub const COLUMNS: [&str; 15] = [
    "lead_id",
    "email",
    "first_name",
    "last_name",
    "company",
    "status",
    "score",
    "score_band",
    "last_email_status",
    "last_email_step",
    "last_email_sent_at",
    "opened",
    "clicked",
    "replied",
    "reply_classification",
];

/// What a lead's emails did, folded to a few bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct LeadMail {
    /// The highest step SES accepted: (step, status, sent at).
    last_sent: Option<(u32, EmailStatus, Option<DateTime<Utc>>)>,
    /// The highest step of any status (for a lead nothing was sent to yet).
    last_any: Option<(u32, EmailStatus)>,
    opened: bool,
    clicked: bool,
}

impl LeadMail {
    fn add(&mut self, email: &OutboundEmail) {
        if email.status.was_sent() && self.last_sent.is_none_or(|(step, _, _)| email.step > step) {
            self.last_sent = Some((email.step, email.status, email.sent_at));
        }
        if self.last_any.is_none_or(|(step, _)| email.step > step) {
            self.last_any = Some((email.step, email.status));
        }
        // People's opens and clicks only (machine ones are kept apart, see `engagement`).
        self.opened |= email.events.opens > 0 || email.events.clicks > 0;
        self.clicked |= email.events.clicks > 0;
    }

    /// The last email: the latest one sent, else the latest planned.
    fn last(&self) -> Option<(u32, EmailStatus, Option<DateTime<Utc>>)> {
        self.last_sent
            .or_else(|| self.last_any.map(|(step, status)| (step, status, None)))
    }
}

/// A campaign's export in progress: call [`CampaignExport::next_chunk`]
/// until it answers `None`.
#[derive(Debug)]
pub struct CampaignExport {
    tenant: TenantId,
    campaign: CampaignId,
    mail: HashMap<LeadId, LeadMail>,
    /// Each lead's latest reply (a person's), by classification.
    replies: HashMap<LeadId, ReplyClass>,
    cursor: Option<Cursor>,
    header_written: bool,
    done: bool,
    page_size: u32,
}

/// Starts the export of a campaign of the caller's tenant (404 for any
/// other): reads its emails, so that the leads can follow page by page.
pub async fn campaign_export(
    store: &dyn Store,
    caller: &Principal,
    campaign: CampaignId,
) -> Result<CampaignExport, DomainError> {
    caller.require(Capability::Read)?;
    let tenant = caller.tenant_id;
    store
        .get_campaign(tenant, campaign)
        .await?
        .ok_or(DomainError::NotFound { entity: "campaign" })?;
    let mut mail: HashMap<LeadId, LeadMail> = HashMap::new();
    let mut page = PageRequest::first(MAX_PAGE_SIZE);
    loop {
        let emails = store.list_campaign_emails(tenant, campaign, &page).await?;
        for email in &emails.items {
            mail.entry(email.lead_id).or_default().add(email);
        }
        match emails.next_cursor {
            Some(next) => page.cursor = Some(Cursor(next)),
            None => break,
        }
    }
    // People's replies to the campaign, newest first: far fewer than its leads.
    let mut replies: HashMap<LeadId, ReplyClass> = HashMap::new();
    let filter = ReplyFilter {
        campaign: Some(campaign),
        kind: Some(MessageKind::Human),
        ..ReplyFilter::default()
    };
    let mut page = PageRequest::first(MAX_PAGE_SIZE);
    loop {
        let found = store.list_replies(tenant, &filter, &page).await?;
        for reply in &found.items {
            if let Some(lead) = reply.lead_id {
                replies.entry(lead).or_insert(reply.classification);
            }
        }
        match found.next_cursor {
            Some(next) => page.cursor = Some(Cursor(next)),
            None => break,
        }
    }
    Ok(CampaignExport {
        tenant,
        campaign,
        mail,
        replies,
        cursor: None,
        header_written: false,
        done: false,
        page_size: MAX_PAGE_SIZE,
    })
}

impl CampaignExport {
    /// The name the download is saved under.
    pub fn file_name(&self) -> String {
        format!("campaign-{}.csv", self.campaign)
    }

    /// The next piece of the file: the header with the first page of leads,
    /// then one page of leads each; `None` once every lead was written (or
    /// after an error).
    pub async fn next_chunk(&mut self, store: &dyn Store) -> Result<Option<Vec<u8>>, DomainError> {
        if self.done {
            return Ok(None);
        }
        let page = PageRequest {
            cursor: self.cursor.clone(),
            limit: self.page_size,
        };
        let leads = match store.list_campaign_leads(self.tenant, self.campaign, None, &page).await {
            Ok(leads) => leads,
            Err(err) => {
                self.done = true;
                return Err(err.into());
            }
        };
        let mut out = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::with_capacity(leads.items.len() * 160 + 256));
        let written = (|| {
            if !self.header_written {
                out.write_record(COLUMNS)?;
            }
            for lead in &leads.items {
                out.write_record(row(lead, self.mail.get(&lead.id), self.replies.get(&lead.id).copied()))?;
            }
            out.flush()
        })();
        if let Err(err) = written {
            self.done = true;
            return Err(StoreError::backend("writing the export CSV", err).into());
        }
        self.header_written = true;
        match leads.next_cursor {
            Some(next) => self.cursor = Some(Cursor(next)),
            None => self.done = true,
        }
        Ok(Some(out.into_inner().unwrap_or_default()))
    }
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or
/// carriage return first) gets a leading `'`, so that an opened export
/// cannot execute what a lead's fields were given (OWASP's CSV injection).
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn flag(value: bool) -> String {
    if value { "true" } else { "false" }.to_string()
}

fn row(lead: &Lead, mail: Option<&LeadMail>, reply: Option<ReplyClass>) -> [String; 15] {
    let mail = mail.copied().unwrap_or_default();
    let last = mail.last();
    let band = lead.score_tier.or(lead.score.map(ScoreTier::of));
    let replied = reply.is_some()
        || matches!(
            lead.status,
            LeadStatus::Replied | LeadStatus::Interested | LeadStatus::NotInterested
        );
    [
        lead.id.to_string(),
        cell(lead.email.as_ref().map_or("", |e| e.as_str())),
        cell(lead.first_name.as_deref().unwrap_or("")),
        cell(lead.last_name.as_deref().unwrap_or("")),
        cell(lead.company_name.as_deref().unwrap_or("")),
        lead.status.as_str().to_string(),
        lead.score.map(|s| s.to_string()).unwrap_or_default(),
        band.map(|b| match b {
            ScoreTier::Hot => "hot",
            ScoreTier::Warm => "warm",
            ScoreTier::Cold => "cold",
        })
        .unwrap_or_default()
        .to_string(),
        last.map(|(_, status, _)| status.as_str().to_string())
            .unwrap_or_default(),
        last.map(|(step, _, _)| step.to_string()).unwrap_or_default(),
        last.and_then(|(_, _, at)| at)
            .map(|at| at.to_rfc3339_opts(SecondsFormat::Secs, true))
            .unwrap_or_default(),
        flag(mail.opened),
        flag(mail.clicked),
        flag(replied),
        reply.map(|class| class.as_str().to_string()).unwrap_or_default(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operations::sending::tests::{rng, world};
    use crate::operations::sending::{SendOutcome, send_email};
    use crate::operations::test_support::{admin, now};
    use crate::outbound::EmailEvent;
    use crate::ports::EmailStore;

    async fn all(store: &dyn Store, export: &mut CampaignExport) -> String {
        let mut out = Vec::new();
        while let Some(chunk) = export.next_chunk(store).await.unwrap() {
            out.extend(chunk);
        }
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn a_sent_and_opened_email_shows_on_its_leads_row() {
        let w = world().await;
        let outcome = send_email(&w.ctx(), &w.job, now(), &mut rng()).await.unwrap();
        assert!(matches!(outcome, SendOutcome::Sent { .. }), "{outcome:?}");
        let mut email = w.email().await;
        let expected = email.version;
        let read_at = now() + chrono::TimeDelta::minutes(5);
        email.apply_event(
            "sns-1",
            &EmailEvent::Opened {
                at: read_at,
                user_agent: Some("Mozilla/5.0 (Macintosh)".into()),
                ip: Some("198.51.100.1".into()),
            },
            read_at,
        );
        w.store.save_email(&email, expected).await.unwrap();

        let campaign = email.campaign_id;
        let mut export = campaign_export(&w.store, &w.caller, campaign).await.unwrap();
        assert_eq!(export.file_name(), format!("campaign-{campaign}.csv"));
        let csv = all(&w.store, &mut export).await;
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], COLUMNS.join(","));
        assert_eq!(lines.len(), 2, "{csv}");
        let sent_at = email.sent_at.unwrap().to_rfc3339_opts(SecondsFormat::Secs, true);
        assert_eq!(
            lines[1],
            format!(
                "{},ann@prospect.io,Ann,,,contacted,{},{},opened,1,{sent_at},true,false,false,",
                w.job.lead_id,
                email_score(&w.store, &w.caller, w.job.lead_id).await.0,
                email_score(&w.store, &w.caller, w.job.lead_id).await.1,
            )
        );
        assert_eq!(export.next_chunk(&w.store).await.unwrap(), None, "finished");
    }

    async fn email_score(store: &dyn Store, caller: &Principal, lead: LeadId) -> (String, String) {
        let lead = store.get_lead(caller.tenant_id, lead).await.unwrap().unwrap();
        let band = lead.score_tier.or(lead.score.map(ScoreTier::of));
        (
            lead.score.map(|s| s.to_string()).unwrap_or_default(),
            band.map(|b| format!("{b:?}").to_lowercase()).unwrap_or_default(),
        )
    }

    #[tokio::test]
    async fn pages_of_leads_become_chunks_and_fields_are_quoted_and_defused() {
        let store = crate::memory::MemoryStore::new();
        let (caller, _) = admin(&store).await;
        let campaign = crate::operations::campaigns::create(
            &store,
            &caller,
            crate::campaign::NewCampaign {
                name: "Q1".into(),
                description: None,
                settings: Default::default(),
            },
            now(),
        )
        .await
        .unwrap()
        .id;
        let leads: Vec<serde_json::Value> = (0..5)
            .map(|n| {
                serde_json::json!({"email": format!("p{n}@prospect.io"), "first_name": "=HYPERLINK(\"x\")",
                                   "company_name": "Acme, \"Inc\"\nBerlin"})
            })
            .collect();
        crate::operations::leads::add(
            &store,
            &caller,
            campaign,
            leads,
            crate::operations::leads::Addressing::Batch,
            now(),
        )
        .await
        .unwrap();
        let mut export = campaign_export(&store, &caller, campaign).await.unwrap();
        export.page_size = 2;
        let mut chunks = Vec::new();
        while let Some(chunk) = export.next_chunk(&store).await.unwrap() {
            chunks.push(String::from_utf8(chunk).unwrap());
        }
        assert_eq!(chunks.len(), 3, "{chunks:?}");
        assert!(chunks[0].starts_with("lead_id,email,"));
        assert!(!chunks[1].starts_with("lead_id"), "one header");
        let file = chunks.concat();
        let mut reader = csv::Reader::from_reader(file.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 5);
        for row in &rows {
            assert_eq!(&row[2], "'=HYPERLINK(\"x\")", "a formula is defused");
            assert_eq!(&row[4], "Acme, \"Inc\"\nBerlin", "quoted, not broken");
            assert_eq!((&row[5], &row[8], &row[11]), ("new", "", "false"));
        }

        // Another tenant's caller finds no such campaign; a viewer may export.
        let (other, _) = admin(&store).await;
        assert!(matches!(
            campaign_export(&store, &other, campaign).await.unwrap_err(),
            DomainError::NotFound { entity: "campaign" }
        ));
    }
}
