//! Managing lead sources, and leads arriving through a webhook.

use crate::api_key::{Capability, Principal};
use crate::csv_import;
use crate::error::DomainError;
use crate::ids::LeadSourceId;
use crate::import::{ImportJob, RowLead};
use crate::input;
use crate::lead_source::{self, LeadSource, NewLeadSource, SourceType};
use crate::page::{Cursor, Page, PageRequest};
use crate::ports::{LeadBatchQueue, Store};
use chrono::{DateTime, Utc};
use serde_json::Value;

const NOT_FOUND: DomainError = DomainError::NotFound { entity: "lead source" };
/// Leads one webhook call may carry.
pub const MAX_LEADS_PER_HOOK: usize = 1000;

pub async fn create(
    store: &dyn Store,
    caller: &Principal,
    input: NewLeadSource,
    now: DateTime<Utc>,
) -> Result<LeadSource, DomainError> {
    caller.require(Capability::WriteData)?;
    let mut problems = input::Problems::at("");
    let name = problems.check("name", input::optional_text(input.name, 200)).flatten();
    for target in input.mapping.values() {
        let target = target.trim();
        let known = matches!(target, "ignore" | "")
            || target.strip_prefix("custom_fields.").is_some_and(|n| !n.is_empty())
            || csv_import::LeadField::from_key(target).is_some();
        if !known {
            problems.add(
                "mapping",
                format!("`{target}` is not a lead field (use a field, custom_fields.<name> or ignore)"),
            );
        }
    }
    let (url, poll_interval_seconds, secret) = match input.kind {
        SourceType::Webhook => (None, None, Some(lead_source::generate_secret())),
        SourceType::GoogleSheet => {
            let url = input
                .url
                .as_deref()
                .map(str::trim)
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
            if url.is_none() {
                problems.add(
                    "url",
                    "a google_sheet source needs the sheet's CSV export URL (https://...)",
                );
            }
            let interval = input.poll_interval_seconds.unwrap_or(300);
            if interval < 60 {
                problems.add("poll_interval_seconds", "must be at least 60");
            }
            (url.map(str::to_string), Some(interval), None)
        }
    };
    problems.into_result().map_err(DomainError::Validation)?;
    let campaign = store
        .get_campaign(caller.tenant_id, input.campaign_id)
        .await?
        .ok_or_else(|| DomainError::invalid("/campaign_id", "no such campaign"))?;
    let source = LeadSource {
        id: LeadSourceId::generate(),
        tenant_id: caller.tenant_id,
        kind: input.kind,
        campaign_id: campaign.id,
        name,
        mapping: input.mapping,
        secret,
        url,
        poll_interval_seconds,
        created_at: now,
        // A new sheet is polled on the next tick.
        next_poll_at: (input.kind == SourceType::GoogleSheet).then_some(now),
        last_poll: None,
        rows_seen: 0,
        seen_digest: None,
    };
    store.insert_lead_source(&source).await?;
    Ok(source)
}

pub async fn get(store: &dyn Store, caller: &Principal, id: LeadSourceId) -> Result<LeadSource, DomainError> {
    caller.require(Capability::Read)?;
    store.get_lead_source(caller.tenant_id, id).await?.ok_or(NOT_FOUND)
}

pub async fn list(store: &dyn Store, caller: &Principal, page: &PageRequest) -> Result<Page<LeadSource>, DomainError> {
    caller.require(Capability::Read)?;
    Ok(store.list_lead_sources(caller.tenant_id, page).await?)
}

pub async fn delete(store: &dyn Store, caller: &Principal, id: LeadSourceId) -> Result<(), DomainError> {
    caller.require(Capability::WriteData)?;
    let source = store.get_lead_source(caller.tenant_id, id).await?.ok_or(NOT_FOUND)?;
    store.delete_lead_source(&source).await?;
    Ok(())
}

/// How a webhook call proved itself.
pub enum HookAuth<'a> {
    /// `X-Signature: t=…,v1=…` over the raw body with the source's secret.
    Signature(&'a str),
    /// A tenant API key (manager or admin).
    Key(Principal),
}

/// The body of a webhook call: one lead object, an array of them, or a form.
pub enum HookBody {
    Json(Value),
    Form(Vec<(String, String)>),
}

/// Leads arriving at `/v1/hooks/leads/{source}`: checked, mapped like CSV
/// columns, and queued as an import job (source `webhook`).
pub async fn receive(
    store: &dyn Store,
    queue: &dyn LeadBatchQueue,
    source_id: LeadSourceId,
    auth: HookAuth<'_>,
    raw_body: &[u8],
    body: impl FnOnce() -> Result<HookBody, DomainError>,
    now: DateTime<Utc>,
) -> Result<ImportJob, DomainError> {
    let source = store
        .find_lead_source(source_id)
        .await?
        .filter(|s| s.kind == SourceType::Webhook);
    let source = match auth {
        HookAuth::Key(principal) => {
            let source = source.filter(|s| s.tenant_id == principal.tenant_id).ok_or(NOT_FOUND)?;
            principal.require(Capability::WriteData)?;
            source
        }
        HookAuth::Signature(header) => {
            // An unknown source and a bad signature look the same from outside.
            let source = source.ok_or(DomainError::InvalidCredentials)?;
            let secret = source.secret.as_deref().ok_or(DomainError::InvalidCredentials)?;
            lead_source::verify_signature(secret, header, raw_body, now)
                .map_err(|_| DomainError::InvalidCredentials)?;
            source
        }
    };
    queue_hook_leads(store, queue, &source, body()?, now).await
}

/// `POST /api/hooks`: the tenant's first webhook source takes the leads.
pub async fn receive_default(
    store: &dyn Store,
    queue: &dyn LeadBatchQueue,
    caller: &Principal,
    body: HookBody,
    now: DateTime<Utc>,
) -> Result<ImportJob, DomainError> {
    caller.require(Capability::WriteData)?;
    let mut page = PageRequest::first(crate::page::MAX_PAGE_SIZE);
    loop {
        let listed = store.list_lead_sources(caller.tenant_id, &page).await?;
        if let Some(source) = listed.items.into_iter().find(|s| s.kind == SourceType::Webhook) {
            return queue_hook_leads(store, queue, &source, body, now).await;
        }
        match listed.next_cursor {
            Some(next) => page.cursor = Some(Cursor(next)),
            None => {
                return Err(DomainError::Conflict {
                    message: "this tenant has no webhook lead source; create one at /v1/lead-sources".into(),
                    existing_id: None,
                });
            }
        }
    }
}

async fn queue_hook_leads(
    store: &dyn Store,
    queue: &dyn LeadBatchQueue,
    source: &LeadSource,
    body: HookBody,
    now: DateTime<Utc>,
) -> Result<ImportJob, DomainError> {
    let items: Vec<Value> = match body {
        HookBody::Json(Value::Array(items)) => items,
        HookBody::Json(Value::Object(object)) => match object.get("leads") {
            Some(Value::Array(items)) if object.len() == 1 => items.clone(),
            _ => vec![Value::Object(object)],
        },
        HookBody::Json(_) => {
            return Err(DomainError::invalid(
                "/",
                "send a lead object, an array of leads or a form",
            ));
        }
        HookBody::Form(pairs) => {
            vec![Value::Object(
                pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect(),
            )]
        }
    };
    if items.is_empty() || items.len() > MAX_LEADS_PER_HOOK {
        return Err(DomainError::invalid(
            "/",
            format!("send 1 to {MAX_LEADS_PER_HOOK} leads per call"),
        ));
    }
    let campaign = super::campaigns::taking_leads(store, source.tenant_id, source.campaign_id).await?;
    // Items are numbered from 1, like the rows of a file without a header.
    let rows = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let lead = match item {
                Value::Object(object) => csv_import::map_object(object, &source.mapping).map(RowLead::from_value),
                _ => Err("each lead must be a JSON object".to_string()),
            };
            (i as u32 + 1, lead)
        })
        .collect();
    super::imports::queue_rows(store, queue, &campaign, rows, "webhook", now).await
}
