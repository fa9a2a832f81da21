//! Lead sources: where leads arrive from on their own — a webhook (forms,
//! ads, n8n) or a Google Sheet polled on a schedule.

use crate::ids::{CampaignId, LeadSourceId, TenantId};
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    Webhook,
    GoogleSheet,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeadSource {
    pub id: LeadSourceId,
    pub tenant_id: TenantId,
    #[serde(rename = "type")]
    pub kind: SourceType,
    pub campaign_id: CampaignId,
    pub name: Option<String>,
    /// Incoming field or column → lead field, `custom_fields.<name>` or `ignore`.
    pub mapping: BTreeMap<String, String>,
    /// The webhook's signing secret (HMAC needs it in clear; the table is encrypted at rest).
    pub secret: Option<String>,
    /// The sheet's CSV export URL.
    pub url: Option<String>,
    pub poll_interval_seconds: Option<u32>,
    pub created_at: DateTime<Utc>,
    /// Sheets: when the scheduler polls next.
    #[serde(default)]
    pub next_poll_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub last_poll: Option<PollOutcome>,
    /// Sheets: data rows already taken, and a digest of them, so a poll
    /// ingests only rows added since (and everything again if earlier rows changed).
    #[serde(default)]
    pub rows_seen: u32,
    #[serde(default)]
    pub seen_digest: Option<String>,
}

/// What the last poll of a sheet did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PollOutcome {
    pub at: DateTime<Utc>,
    /// `ok` or `error`.
    pub status: String,
    pub new_rows: u32,
    pub import_id: Option<crate::ids::ImportJobId>,
    pub error: Option<String>,
}

/// A source as listed: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LeadSourceView {
    pub id: LeadSourceId,
    #[serde(rename = "type")]
    pub kind: SourceType,
    pub campaign_id: CampaignId,
    pub name: Option<String>,
    pub mapping: BTreeMap<String, String>,
    pub url: Option<String>,
    pub poll_interval_seconds: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub next_poll_at: Option<DateTime<Utc>>,
    pub last_poll: Option<PollOutcome>,
}

impl From<LeadSource> for LeadSourceView {
    fn from(s: LeadSource) -> Self {
        Self {
            id: s.id,
            kind: s.kind,
            campaign_id: s.campaign_id,
            name: s.name,
            mapping: s.mapping,
            url: s.url,
            poll_interval_seconds: s.poll_interval_seconds,
            created_at: s.created_at,
            next_poll_at: s.next_poll_at,
            last_poll: s.last_poll,
        }
    }
}

/// `POST /v1/lead-sources` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLeadSource {
    #[serde(rename = "type")]
    pub kind: SourceType,
    pub campaign_id: CampaignId,
    pub name: Option<String>,
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
    /// google_sheet: the sheet's CSV export URL.
    pub url: Option<String>,
    /// google_sheet: 60 or more; default 300.
    pub poll_interval_seconds: Option<u32>,
}

pub fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// How far a signature's timestamp may be from now.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-Signature header must read t=<unix seconds>,v1=<hex HMAC-SHA256>")]
    Malformed,
    #[error("the signature's timestamp is more than 5 minutes away from now")]
    Expired,
    #[error("the signature does not match the body")]
    Mismatch,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `v1` of a body signed at `timestamp`: hex HMAC-SHA256(secret, "<t>.<body>").
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex(&mac.finalize().into_bytes())
}

/// Checks `X-Signature: t=<unix seconds>,v1=<hex>` (several v1 are allowed,
/// for secret rotation); the comparison is constant-time.
pub fn verify_signature(secret: &str, header: &str, body: &[u8], now: DateTime<Utc>) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v.trim().to_ascii_lowercase()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now.timestamp() - timestamp).abs() > SIGNATURE_TOLERANCE_SECONDS {
        return Err(SignatureError::Expired);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    let matches = signatures.iter().any(|candidate| {
        let bytes: Option<Vec<u8>> = (0..candidate.len())
            .step_by(2)
            .map(|i| candidate.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect();
        bytes.is_some_and(|b| subtle::ConstantTimeEq::ct_eq(b.as_slice(), expected.as_slice()).into())
    });
    if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_within_the_window_only() {
        let now = Utc::now();
        let body = br#"{"email":"a@b.co"}"#;
        let t = now.timestamp();
        let header = format!("t={t},v1={}", sign("whsec_x", t, body));
        assert_eq!(verify_signature("whsec_x", &header, body, now), Ok(()));
        assert_eq!(
            verify_signature("whsec_y", &header, body, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature("whsec_x", &header, b"{}", now),
            Err(SignatureError::Mismatch)
        );
        let old = t - 301;
        let stale = format!("t={old},v1={}", sign("whsec_x", old, body));
        assert_eq!(
            verify_signature("whsec_x", &stale, body, now),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify_signature("whsec_x", "garbage", body, now),
            Err(SignatureError::Malformed)
        );
        let rotated = format!("t={t},v1=00ff,v1={}", sign("whsec_x", t, body));
        assert_eq!(verify_signature("whsec_x", &rotated, body, now), Ok(()));
    }
}
