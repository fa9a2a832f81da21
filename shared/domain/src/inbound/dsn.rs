//! Delivery status notifications: the RFC 3464 `message/delivery-status`
//! fields when the MTA sends them, the status codes and recipient in the text
//! when it only writes prose (qmail, older Exim and Sendmail set-ups, some
//! Exchange servers).

use super::rules::{ENHANCED_STATUS, HARD_PHRASES, RETURNED_COPY, SMTP_CODE, SOFT_PHRASES};
use super::text::truncate_at_char;
use super::{BounceType, StatusCode};

/// RFC 3464 `Action` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Action {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
}

impl Action {
    fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "failed" => Some(Self::Failed),
            "delayed" => Some(Self::Delayed),
            "delivered" => Some(Self::Delivered),
            "relayed" => Some(Self::Relayed),
            "expanded" => Some(Self::Expanded),
            _ => None,
        }
    }

    /// Whether this recipient's report is a failure (now or for the time being).
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Delayed)
    }
}

/// One per-recipient block of a delivery-status part.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct RecipientReport {
    pub action: Option<Action>,
    pub status: Option<StatusCode>,
    pub recipient: Option<String>,
    pub diagnostic: Option<String>,
}

impl RecipientReport {
    pub fn is_failure(&self) -> bool {
        match self.action {
            Some(action) => action.is_failure(),
            None => self.status.is_some_and(|s| s.class() != 2),
        }
    }

    pub fn bounce_type(&self) -> BounceType {
        match (self.action, self.status) {
            (Some(Action::Delayed), _) => BounceType::Soft,
            (_, Some(status)) => status.bounce_type(),
            _ => BounceType::Hard,
        }
    }
}

/// The per-recipient blocks of a `message/delivery-status` body. Field
/// names are case-insensitive and values may be folded (RFC 3464 §2.1).
pub(super) fn parse_delivery_status(body: &str) -> Vec<RecipientReport> {
    let mut reports = Vec::new();
    let mut current = RecipientReport::default();
    let mut has_fields = false;
    let mut field: Option<(String, String)> = None;
    let flush_field = |field: &mut Option<(String, String)>, report: &mut RecipientReport| {
        if let Some((name, value)) = field.take() {
            apply_field(report, &name, &value);
        }
    };
    for line in body.lines() {
        if line.trim().is_empty() {
            flush_field(&mut field, &mut current);
            if has_fields && (current.action.is_some() || current.status.is_some() || current.recipient.is_some()) {
                reports.push(std::mem::take(&mut current));
            } else {
                // The per-message block (Reporting-MTA, Arrival-Date): nothing we keep.
                current = RecipientReport::default();
            }
            has_fields = false;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = field.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        flush_field(&mut field, &mut current);
        if let Some((name, value)) = line.split_once(':') {
            field = Some((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            has_fields = true;
        }
    }
    flush_field(&mut field, &mut current);
    if has_fields && (current.action.is_some() || current.status.is_some() || current.recipient.is_some()) {
        reports.push(current);
    }
    reports
}

fn apply_field(report: &mut RecipientReport, name: &str, value: &str) {
    match name {
        "action" => report.action = Action::parse(value),
        // "5.1.1" or "5.1.1 (bad destination mailbox address)".
        "status" => report.status = value.split_whitespace().next().and_then(StatusCode::parse),
        "final-recipient" => report.recipient = typed_value(value).map(|a| a.to_lowercase()),
        "original-recipient" if report.recipient.is_none() => {
            report.recipient = typed_value(value).map(|a| a.to_lowercase())
        }
        "diagnostic-code" => report.diagnostic = typed_value(value).map(one_line),
        _ => {}
    }
}

/// `rfc822; user@example.com` → `user@example.com` (the type is optional in the wild).
fn typed_value(value: &str) -> Option<String> {
    let value = value.split_once(';').map_or(value, |(_, v)| v).trim();
    let value = value.trim_matches(['<', '>']);
    (!value.is_empty()).then(|| value.to_owned())
}

/// A diagnostic on one line, bounded.
pub(super) fn one_line(text: impl AsRef<str>) -> String {
    let joined = text.as_ref().split_whitespace().collect::<Vec<_>>().join(" ");
    truncate_at_char(&joined, 500).to_owned()
}

/// What a prose bounce says: read from the text before the returned copy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct TextReport {
    pub status: Option<StatusCode>,
    /// The line the status (or SMTP code) was found on.
    pub reason: Option<String>,
    pub bounce_type: Option<BounceType>,
    pub rationale: &'static str,
}

/// The report part of a prose bounce: everything before the returned copy.
pub(super) fn report_text(text: &str) -> &str {
    match RETURNED_COPY.find(text) {
        Some(m) if m.start() > 0 => &text[..m.start()],
        _ => text,
    }
}

pub(super) fn read_text(report: &str) -> TextReport {
    if let Some(caps) = ENHANCED_STATUS.captures(report)
        && let Some(code) = caps.get(1)
        && let Some(status) = StatusCode::parse(code.as_str())
        && status.class() != 2
    {
        return TextReport {
            status: Some(status),
            reason: Some(line_around(report, code.start())),
            bounce_type: Some(status.bounce_type()),
            rationale: "enhanced status code in the text",
        };
    }
    if let Some(caps) = SMTP_CODE.captures(report)
        && let Some(code) = caps.get(1)
    {
        // A basic reply code says only the class: 550 → 5.0.0, 450 → 4.0.0.
        let class = if code.as_str().starts_with('5') {
            "5.0.0"
        } else {
            "4.0.0"
        };
        let status = StatusCode::parse(class);
        return TextReport {
            status,
            reason: Some(line_around(report, code.start())),
            bounce_type: status.map(StatusCode::bounce_type),
            rationale: "SMTP reply code in the text",
        };
    }
    if let Some(m) = SOFT_PHRASES.find(report) {
        return TextReport {
            status: None,
            reason: Some(line_around(report, m.start())),
            bounce_type: Some(BounceType::Soft),
            rationale: "temporary-failure wording",
        };
    }
    if let Some(m) = HARD_PHRASES.find(report) {
        return TextReport {
            status: None,
            reason: Some(line_around(report, m.start())),
            bounce_type: Some(BounceType::Hard),
            rationale: "permanent-failure wording",
        };
    }
    TextReport::default()
}

/// The whole line around byte `at`, on one line.
fn line_around(text: &str, at: usize) -> String {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    one_line(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_recipient_blocks_with_folding() {
        let body = "Reporting-MTA: dns; mx.example.net\nArrival-Date: Mon, 2 Dec 2024 10:00:00 +0000\n\n\
                    Final-Recipient: rfc822; Gone@Example.com\nAction: failed\nStatus: 5.1.1\n\
                    Diagnostic-Code: smtp; 550 5.1.1 <gone@example.com>:\n  Recipient address rejected\n";
        let reports = parse_delivery_status(body);
        assert_eq!(reports.len(), 1);
        let report = &reports[0];
        assert_eq!(report.action, Some(Action::Failed));
        assert_eq!(report.status.map(|s| s.to_string()).as_deref(), Some("5.1.1"));
        assert_eq!(report.recipient.as_deref(), Some("gone@example.com"));
        assert_eq!(
            report.diagnostic.as_deref(),
            Some("550 5.1.1 <gone@example.com>: Recipient address rejected")
        );
        assert_eq!(report.bounce_type(), BounceType::Hard);
    }

    #[test]
    fn delayed_is_soft_and_full_mailbox_is_soft() {
        let delayed = parse_delivery_status("Final-Recipient: rfc822;a@b.c\nAction: delayed\nStatus: 4.4.7\n");
        assert_eq!(delayed[0].bounce_type(), BounceType::Soft);
        let full = parse_delivery_status("Final-Recipient: rfc822;a@b.c\nAction: failed\nStatus: 5.2.2\n");
        assert_eq!(full[0].bounce_type(), BounceType::Soft);
    }

    #[test]
    fn prose_codes_ignore_ip_addresses_and_the_returned_copy() {
        let text = "host 10.4.5.1 said: 550 5.1.1 user unknown\n--- Below this line is a copy of the message.\n4.2.2";
        let report = read_text(report_text(text));
        assert_eq!(report.status.map(|s| s.to_string()).as_deref(), Some("5.1.1"));
        assert_eq!(
            report.reason.as_deref(),
            Some("host 10.4.5.1 said: 550 5.1.1 user unknown")
        );
        let qmail = read_text("Sorry, I couldn't find any host named x.invalid. (#5.1.2)\n");
        assert_eq!(qmail.status.map(|s| s.to_string()).as_deref(), Some("5.1.2"));
    }
}
