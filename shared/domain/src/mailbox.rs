//! Mailboxes: the sender identities of a tenant, with the limits the sender
//! keeps for each (daily cap, gap between sends with jitter, sending window and
//! time zone) and the verification state of the address at SES.
//!
//! Status: `pending_verification` → `verified` | `failed` (from SES), and a
//! verified mailbox can be `paused` and resumed. Only a `verified` mailbox
//! sends ([`Mailbox::can_send`]).

use crate::email::EmailAddress;
use crate::error::DomainError;
use crate::ids::{MailboxId, TenantId};
use crate::input::{self, Patch, Problems};
use crate::schedule::{MailboxCapacity, SendingWindow, Timezone};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

pub const MAX_DISPLAY_NAME: usize = 100;
pub const DEFAULT_DAILY_CAP: u32 = 50;
pub const MAX_DAILY_CAP: u32 = 2000;
pub const DEFAULT_MIN_GAP_SECONDS: u32 = 120;
pub const MAX_MIN_GAP_SECONDS: u32 = 86_400;
pub const MAX_JITTER_SECONDS: u32 = 3_600;
const CHECKED: &str = "every field was checked above";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MailboxStatus {
    /// SES was asked to verify the address; the owner has not confirmed yet.
    PendingVerification,
    /// SES confirmed the address: the mailbox may send.
    Verified,
    /// SES gave up (the confirmation link expired); `POST …/verify` asks again.
    Failed,
    /// Verified, but stopped by the tenant.
    Paused,
}

impl MailboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MailboxStatus::PendingVerification => "pending_verification",
            MailboxStatus::Verified => "verified",
            MailboxStatus::Failed => "failed",
            MailboxStatus::Paused => "paused",
        }
    }
}

impl fmt::Display for MailboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What SES says about an address (an identity of the AWS account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentityVerification {
    /// Waiting for the owner to follow the link (or SES retrying).
    Pending,
    Verified,
    /// The link expired or verification failed for good.
    Failed,
    /// SES knows the identity but no verification was started.
    NotStarted,
}

/// The moves a client can ask for, one route each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailboxAction {
    /// Stop sending from a verified mailbox.
    Pause,
    /// Send again from a paused mailbox.
    Resume,
    /// Ask SES again to verify the address (after a failure, or to resend the link).
    Verify,
}

impl MailboxAction {
    pub fn as_str(self) -> &'static str {
        match self {
            MailboxAction::Pause => "pause",
            MailboxAction::Resume => "resume",
            MailboxAction::Verify => "verify",
        }
    }

    /// The status this action leads to from `from`, if the move is legal.
    pub fn target(self, from: MailboxStatus) -> Option<MailboxStatus> {
        use MailboxStatus::*;
        match (self, from) {
            (MailboxAction::Pause, Verified | Paused) => Some(Paused),
            (MailboxAction::Resume, Paused | Verified) => Some(Verified),
            (MailboxAction::Verify, PendingVerification | Failed) => Some(PendingVerification),
            _ => None,
        }
    }
}

/// A sender identity of a tenant. The address is unique within the tenant
/// (compared case-insensitively) and cannot change: a new address is a new mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Mailbox {
    pub id: MailboxId,
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub tenant_id: TenantId,
    /// The From address.
    pub email: EmailAddress,
    /// The From display name, e.g. "Ann from Acme".
    pub display_name: Option<String>,
    /// Where replies should go, if not to `email`.
    pub reply_to: Option<EmailAddress>,
    /// At most this many emails per local day of the mailbox (1–2000).
    pub daily_cap: u32,
    /// Sends are at least this many seconds apart (0–86400).
    pub min_gap_seconds: u32,
    /// Up to this many random seconds added to each gap (0–3600).
    pub jitter_seconds: u32,
    /// When the mailbox sends, in its `timezone`.
    pub window: SendingWindow,
    pub timezone: Timezone,
    pub status: MailboxStatus,
    /// When SES confirmed the address.
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Incremented by every change; used for optimistic locking.
    pub version: u64,
}

/// `POST /v1/mailboxes` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMailbox {
    /// The From address; unique within the tenant.
    #[schema(format = Email)]
    pub email: String,
    /// At most 100 characters, one line.
    pub display_name: Option<String>,
    #[schema(format = Email)]
    pub reply_to: Option<String>,
    /// 1–2000, default 50.
    pub daily_cap: Option<u32>,
    /// 0–86400, default 120.
    pub min_gap_seconds: Option<u32>,
    /// 0–3600, default 0.
    pub jitter_seconds: Option<u32>,
    /// Default Monday to Friday, 09:00–17:00.
    #[schema(value_type = Option<SendingWindow>)]
    pub window: Option<Value>,
    /// IANA name, default UTC.
    #[schema(value_type = Option<String>, example = "Europe/Berlin")]
    pub timezone: Option<String>,
}

/// `PATCH /v1/mailboxes/{id}` body: absent leaves a field, `null` clears
/// `display_name` and `reply_to`. The address cannot change.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MailboxPatch {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub display_name: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Email)]
    pub reply_to: Patch<String>,
    pub daily_cap: Option<u32>,
    pub min_gap_seconds: Option<u32>,
    pub jitter_seconds: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Option<SendingWindow>)]
    pub window: Patch<Value>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub timezone: Patch<String>,
}

fn display_name(value: Option<String>) -> Result<Option<String>, String> {
    let name = input::optional_text(value, MAX_DISPLAY_NAME)?;
    if name.as_deref().is_some_and(|n| n.chars().any(char::is_control)) {
        return Err("must be one line of text".into());
    }
    Ok(name)
}

fn reply_to(value: Option<String>) -> Result<Option<EmailAddress>, String> {
    match value.filter(|v| !v.trim().is_empty()) {
        Some(v) => EmailAddress::parse(&v).map(Some).map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

fn in_range(value: u32, min: u32, max: u32) -> Result<u32, String> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(format!("must be between {min} and {max}"))
    }
}

fn timezone(name: &str) -> Result<Timezone, String> {
    Timezone::parse(name).map_err(|e| e.to_string())
}

/// Reads a window, adding its field errors (`/window/days`, …) to `p`.
fn window(p: &mut Problems, value: Value) -> Option<SendingWindow> {
    match SendingWindow::from_json(value, "/window") {
        Ok(window) => Some(window),
        Err(errors) => {
            for error in errors {
                let field = error.field.trim_start_matches('/').to_string();
                p.add(&field, error.message);
            }
            None
        }
    }
}

impl Mailbox {
    pub fn create(tenant_id: TenantId, input: NewMailbox, now: DateTime<Utc>) -> Result<Self, DomainError> {
        let mut p = Problems::at("");
        let email = p.check("email", EmailAddress::parse(&input.email));
        let display_name = p.check("display_name", display_name(input.display_name));
        let reply_to = p.check("reply_to", reply_to(input.reply_to));
        let daily_cap = p.check(
            "daily_cap",
            in_range(input.daily_cap.unwrap_or(DEFAULT_DAILY_CAP), 1, MAX_DAILY_CAP),
        );
        let min_gap_seconds = p.check(
            "min_gap_seconds",
            in_range(
                input.min_gap_seconds.unwrap_or(DEFAULT_MIN_GAP_SECONDS),
                0,
                MAX_MIN_GAP_SECONDS,
            ),
        );
        let jitter_seconds = p.check(
            "jitter_seconds",
            in_range(input.jitter_seconds.unwrap_or(0), 0, MAX_JITTER_SECONDS),
        );
        let window = match input.window {
            Some(value) => window(&mut p, value),
            None => Some(SendingWindow::default()),
        };
        let timezone = match input.timezone {
            Some(name) => p.check("timezone", timezone(&name)),
            None => Some(Timezone::UTC),
        };
        p.into_result().map_err(DomainError::Validation)?;
        Ok(Self {
            id: MailboxId::generate(),
            tenant_id,
            email: email.expect(CHECKED),
            display_name: display_name.flatten(),
            reply_to: reply_to.flatten(),
            daily_cap: daily_cap.expect(CHECKED),
            min_gap_seconds: min_gap_seconds.expect(CHECKED),
            jitter_seconds: jitter_seconds.expect(CHECKED),
            window: window.expect(CHECKED),
            timezone: timezone.expect(CHECKED),
            status: MailboxStatus::PendingVerification,
            verified_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        })
    }

    /// Applies a PATCH; on any field error nothing changes.
    pub fn apply(&mut self, patch: MailboxPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        let mut next = self.clone();
        let mut p = Problems::at("");
        p.check(
            "display_name",
            patch
                .display_name
                .apply_optional(&mut next.display_name, |v| display_name(Some(v))),
        );
        p.check(
            "reply_to",
            patch.reply_to.apply_optional(&mut next.reply_to, |v| reply_to(Some(v))),
        );
        for (field, target, value, min, max) in [
            ("daily_cap", &mut next.daily_cap, patch.daily_cap, 1, MAX_DAILY_CAP),
            (
                "min_gap_seconds",
                &mut next.min_gap_seconds,
                patch.min_gap_seconds,
                0,
                MAX_MIN_GAP_SECONDS,
            ),
            (
                "jitter_seconds",
                &mut next.jitter_seconds,
                patch.jitter_seconds,
                0,
                MAX_JITTER_SECONDS,
            ),
        ] {
            if let Some(value) = value.and_then(|v| p.check(field, in_range(v, min, max))) {
                *target = value;
            }
        }
        match patch.window {
            Patch::Absent => {}
            Patch::Null => p.add("window", "must not be empty"),
            Patch::Value(value) => {
                if let Some(window) = window(&mut p, value) {
                    next.window = window;
                }
            }
        }
        p.check(
            "timezone",
            patch
                .timezone
                .apply_required(&mut next.timezone, |name| timezone(&name)),
        );
        p.into_result().map_err(DomainError::Validation)?;
        next.updated_at = now;
        next.version += 1;
        *self = next;
        Ok(())
    }

    /// Whether the sender may send from this mailbox now: only a verified one.
    pub fn can_send(&self) -> bool {
        self.status == MailboxStatus::Verified
    }

    /// Whether the status still waits for SES (and a read should ask it).
    pub fn awaits_verification(&self) -> bool {
        self.status == MailboxStatus::PendingVerification
    }

    /// Takes in what SES says about the address. Only a pending mailbox
    /// moves (to `verified` or `failed`); `true` when it changed.
    pub fn observe_verification(&mut self, verification: IdentityVerification, now: DateTime<Utc>) -> bool {
        if !self.awaits_verification() {
            return false;
        }
        let status = match verification {
            IdentityVerification::Verified => MailboxStatus::Verified,
            IdentityVerification::Failed => MailboxStatus::Failed,
            IdentityVerification::Pending | IdentityVerification::NotStarted => return false,
        };
        self.status = status;
        if status == MailboxStatus::Verified {
            self.verified_at = Some(now);
        }
        self.updated_at = now;
        self.version += 1;
        true
    }

    /// Applies a client's move; a move that makes no sense from the current
    /// status is a conflict naming it.
    pub fn transition(&mut self, action: MailboxAction, now: DateTime<Utc>) -> Result<(), DomainError> {
        let target = action.target(self.status).ok_or_else(|| DomainError::Conflict {
            message: format!("a {} mailbox cannot {}", self.status, action.as_str()),
            existing_id: None,
        })?;
        self.status = target;
        self.updated_at = now;
        self.version += 1;
        Ok(())
    }

    /// What the send planner needs to know about this mailbox (nothing booked yet).
    pub fn capacity(&self) -> MailboxCapacity {
        MailboxCapacity {
            min_gap_seconds: self.min_gap_seconds,
            jitter_seconds: self.jitter_seconds,
            window: Some(self.window.clone()),
            ..MailboxCapacity::new(self.id, self.daily_cap, self.timezone)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z").unwrap().to_utc()
    }

    fn new_mailbox(value: Value) -> Result<Mailbox, DomainError> {
        let input: NewMailbox = input::decode(value, "").unwrap();
        Mailbox::create(TenantId::generate(), input, now())
    }

    fn fields(err: DomainError) -> Vec<String> {
        let DomainError::Validation(errors) = err else {
            panic!("{err:?}")
        };
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn defaults_fill_what_the_client_leaves_out() {
        let m = new_mailbox(json!({"email": "Ann@Acme.COM"})).unwrap();
        assert_eq!(m.email.as_str(), "Ann@acme.com");
        assert_eq!((m.daily_cap, m.min_gap_seconds, m.jitter_seconds), (50, 120, 0));
        assert_eq!(m.window, SendingWindow::default());
        assert_eq!(m.timezone, Timezone::UTC);
        assert_eq!((m.status, m.version), (MailboxStatus::PendingVerification, 1));
        assert!(!m.can_send());
    }

    #[test]
    fn the_documented_shape_is_accepted() {
        let m = new_mailbox(json!({
            "email": "ann@acme.com", "display_name": "Ann from Acme", "daily_cap": 30, "min_gap_seconds": 300,
            "window": {"days": ["mon", "wed"], "start": "08:00", "end": "12:30"}, "timezone": "Europe/Berlin"
        }))
        .unwrap();
        assert_eq!(m.display_name.as_deref(), Some("Ann from Acme"));
        assert_eq!(m.timezone.name(), "Europe/Berlin");
        let body = serde_json::to_value(&m).unwrap();
        assert_eq!(
            body["window"],
            json!({"days": ["mon", "wed"], "start": "08:00", "end": "12:30"})
        );
        assert_eq!(body["status"], "pending_verification");
        assert!(body.get("tenant_id").is_none());
    }

    #[test]
    fn every_bad_field_is_named() {
        let err = new_mailbox(json!({
            "email": "nope", "display_name": "a\nb", "reply_to": "x@", "daily_cap": 0, "min_gap_seconds": 86401,
            "jitter_seconds": 3601, "window": {"days": [], "start": "17:00", "end": "09:00"}, "timezone": "Mars/Base"
        }))
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "/email",
                "/display_name",
                "/reply_to",
                "/daily_cap",
                "/min_gap_seconds",
                "/jitter_seconds",
                "/window/days",
                "/window/end",
                "/timezone"
            ]
        );
        let err = new_mailbox(json!({"email": "a@b.co", "daily_cap": 2001})).unwrap_err();
        assert_eq!(fields(err), ["/daily_cap"]);
        let err = new_mailbox(json!({"email": "a@b.co", "window": {"days": ["mon"], "start": "9", "end": "17:00"}}))
            .unwrap_err();
        assert_eq!(fields(err), ["/window/start"]);
    }

    #[test]
    fn a_patch_changes_all_or_nothing() {
        let mut m = new_mailbox(json!({"email": "a@b.co", "display_name": "A"})).unwrap();
        let bad: MailboxPatch =
            input::decode(json!({"daily_cap": 10, "timezone": "Nowhere", "window": null}), "").unwrap();
        assert_eq!(fields(m.apply(bad, now()).unwrap_err()), ["/window", "/timezone"]);
        assert_eq!((m.daily_cap, m.version), (50, 1));
        let good: MailboxPatch = input::decode(
            json!({"daily_cap": 10, "display_name": null, "timezone": "Asia/Tokyo",
                   "window": {"days": ["sat"], "start": "10:00", "end": "11:00"}}),
            "",
        )
        .unwrap();
        m.apply(good, now()).unwrap();
        assert_eq!((m.daily_cap, m.display_name.as_deref(), m.version), (10, None, 2));
        assert_eq!(m.timezone.name(), "Asia/Tokyo");
        let email: Result<MailboxPatch, _> = input::decode(json!({"email": "new@b.co"}), "");
        assert_eq!(email.unwrap_err().field, "/email", "the address cannot change");
    }

    #[test]
    fn only_a_pending_mailbox_takes_the_ses_verdict_and_only_a_verified_one_sends() {
        let mut m = new_mailbox(json!({"email": "a@b.co"})).unwrap();
        assert!(!m.observe_verification(IdentityVerification::Pending, now()));
        assert!(!m.observe_verification(IdentityVerification::NotStarted, now()));
        assert!(m.observe_verification(IdentityVerification::Verified, now()));
        assert_eq!(
            (m.status, m.verified_at, m.version),
            (MailboxStatus::Verified, Some(now()), 2)
        );
        assert!(m.can_send());
        assert!(!m.observe_verification(IdentityVerification::Failed, now()));

        m.transition(MailboxAction::Pause, now()).unwrap();
        assert!(!m.can_send());
        assert!(matches!(
            m.transition(MailboxAction::Verify, now()),
            Err(DomainError::Conflict { .. })
        ));
        m.transition(MailboxAction::Resume, now()).unwrap();
        assert!(m.can_send());

        let mut failed = new_mailbox(json!({"email": "a@b.co"})).unwrap();
        assert!(failed.observe_verification(IdentityVerification::Failed, now()));
        assert_eq!(failed.status, MailboxStatus::Failed);
        assert!(matches!(
            failed.transition(MailboxAction::Pause, now()),
            Err(DomainError::Conflict { .. })
        ));
        failed.transition(MailboxAction::Verify, now()).unwrap();
        assert!(failed.awaits_verification());
    }

    #[test]
    fn capacity_carries_the_limits() {
        let m = new_mailbox(json!({"email": "a@b.co", "daily_cap": 30, "jitter_seconds": 60})).unwrap();
        let c = m.capacity();
        assert_eq!(
            (c.id, c.daily_cap, c.min_gap_seconds, c.jitter_seconds),
            (m.id, 30, 120, 60)
        );
        assert_eq!(c.window, Some(SendingWindow::default()));
    }
}
