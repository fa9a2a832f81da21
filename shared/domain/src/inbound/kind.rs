//! Bounce, auto-reply or human: decided before anything else, because only a
//! human reply counts as a reply and only a bounce may suppress an address.
//!
//! Order: an RFC 3464 report is decisive; then bounce evidence from the
//! sender, subject and text; then RFC 3834 and vendor headers, subject and
//! body patterns for auto-replies. Evidence combines as `1 − Π(1 − w)`
//! against a threshold (weights in [`super::rules`]).

use super::dsn::{self, RecipientReport};
use super::parse::ParsedMail;
use super::rules::{self, AUTO_BODY, AUTO_SUBJECT, BOUNCE_BODY, BOUNCE_FROM, BOUNCE_SUBJECT};
use super::text::truncate_at_char;
use super::{BounceInfo, BounceType, Confidence, MessageKind};

pub(super) struct KindDecision {
    pub kind: MessageKind,
    pub confidence: Confidence,
    pub rationale: Vec<String>,
    pub bounce: Option<BounceInfo>,
}

pub(super) fn decide(mail: &ParsedMail, visible: &str) -> KindDecision {
    if let Some(decision) = from_report(mail) {
        return decision;
    }
    if let Some(decision) = from_bounce_evidence(mail) {
        return decision;
    }
    if let Some(decision) = from_auto_evidence(mail, visible) {
        return decision;
    }
    KindDecision {
        kind: MessageKind::Human,
        confidence: Confidence::new(0.9),
        rationale: vec!["kind: no bounce or auto-reply evidence".to_owned()],
        bounce: None,
    }
}

fn signal<'a>(mail: &'a ParsedMail, name: &str) -> Option<&'a str> {
    mail.signals.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
}

fn null_return_path(mail: &ParsedMail) -> bool {
    signal(mail, "return-path").is_some_and(|v| {
        v.trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace())
            .is_empty()
    })
}

/// multipart/report: delivery-status (a DSN) or disposition-notification (a
/// read receipt).
fn from_report(mail: &ParsedMail) -> Option<KindDecision> {
    let is_report = mail.content_type == "multipart/report";
    match (is_report, mail.report_type.as_deref()) {
        (true, Some("disposition-notification")) => Some(KindDecision {
            kind: MessageKind::AutoReply,
            confidence: Confidence::new(0.97),
            rationale: vec!["kind: multipart/report; report-type=disposition-notification (read receipt)".to_owned()],
            bounce: None,
        }),
        (true, Some("feedback-report")) => Some(KindDecision {
            kind: MessageKind::AutoReply,
            confidence: Confidence::new(0.9),
            rationale: vec!["kind: multipart/report; report-type=feedback-report (ARF)".to_owned()],
            bounce: None,
        }),
        _ => {
            let fields = mail.delivery_status.as_deref()?;
            let reports = dsn::parse_delivery_status(fields);
            let mut rationale = vec![format!(
                "kind: {} with a message/delivery-status part",
                if is_report { "multipart/report" } else { "message" }
            )];
            if !reports.is_empty() && !reports.iter().any(RecipientReport::is_failure) {
                rationale.push("kind: every recipient reported delivered, relayed or expanded".to_owned());
                return Some(KindDecision {
                    kind: MessageKind::AutoReply,
                    confidence: Confidence::new(0.95),
                    rationale,
                    bounce: None,
                });
            }
            let failed = reports.iter().find(|r| r.is_failure()).cloned().unwrap_or_default();
            let text_report = dsn::read_text(dsn::report_text(&mail.text));
            let status = failed.status.or(text_report.status);
            let bounce_type = if failed.action.is_some() || failed.status.is_some() {
                failed.bounce_type()
            } else {
                text_report.bounce_type.unwrap_or(BounceType::Hard)
            };
            rationale.push(match (failed.action, failed.status) {
                (Some(action), Some(status)) => format!("bounce: Action {action:?}, Status {status}"),
                (Some(action), None) => format!("bounce: Action {action:?}"),
                (None, Some(status)) => format!("bounce: Status {status}"),
                (None, None) => "bounce: no per-recipient fields; read the text".to_owned(),
            });
            Some(KindDecision {
                kind: MessageKind::Bounce,
                confidence: Confidence::new(0.99),
                rationale,
                bounce: Some(BounceInfo {
                    bounce_type,
                    status,
                    reason: failed.diagnostic.or(text_report.reason),
                    recipient: failed.recipient.or_else(|| text_recipient(mail)),
                    original_message_id: mail.returned_message_id.clone(),
                }),
            })
        }
    }
}

/// Prose bounces: who sent it, what the subject says, what the text says.
fn from_bounce_evidence(mail: &ParsedMail) -> Option<KindDecision> {
    let mut weights = Vec::new();
    let mut rationale = Vec::new();
    let from = mail.headers.from.as_deref().unwrap_or("");
    let from_name = mail.headers.from_name.as_deref().unwrap_or("");
    let sender = format!("{from}\n{from_name}");
    if let Some(rule) = BOUNCE_FROM.matching(&sender).next() {
        weights.push(rule.weight);
        rationale.push(format!("bounce: sender ({})", rule.id));
    }
    let subject = mail.headers.subject.as_deref().unwrap_or("");
    if let Some(rule) = BOUNCE_SUBJECT.matching(subject).next() {
        weights.push(rule.weight);
        rationale.push(format!("bounce: subject ({})", rule.id));
    }
    // Cheap signals first: a human reply with none of them is not read further.
    let failed_header = signal(mail, "x-failed-recipients");
    if weights.is_empty() && failed_header.is_none() {
        return None;
    }
    let report = dsn::report_text(&mail.text);
    let window = truncate_at_char(report, rules::BOUNCE_BODY_WINDOW);
    for rule in BOUNCE_BODY.matching(window) {
        weights.push(rule.weight);
        rationale.push(format!("bounce: text ({})", rule.id));
    }
    if failed_header.is_some() {
        weights.push(rules::BOUNCE_FAILED_RECIPIENTS_HEADER);
        rationale.push("bounce: X-Failed-Recipients header".to_owned());
    }
    if null_return_path(mail) {
        weights.push(rules::NULL_RETURN_PATH);
        rationale.push("bounce: null Return-Path".to_owned());
    }
    let text_report = dsn::read_text(window);
    if text_report.status.is_some() {
        weights.push(rules::BOUNCE_STATUS_IN_TEXT);
        rationale.push(format!("bounce: {}", text_report.rationale));
    }
    let score = rules::combine(weights);
    if score < rules::BOUNCE_THRESHOLD {
        return None;
    }
    let recipient = failed_header
        .and_then(|v| v.split(',').next())
        .map(|a| a.trim().trim_matches(['<', '>']).to_lowercase())
        .filter(|a| a.contains('@'))
        .or_else(|| text_recipient(mail));
    let bounce_type = text_report.bounce_type.unwrap_or_else(|| {
        // "Delay" subjects without a code are warnings, not failures.
        if BOUNCE_SUBJECT.matching(subject).any(|r| r.id == "subject.delay") {
            BounceType::Soft
        } else {
            BounceType::Hard
        }
    });
    rationale.push(format!(
        "bounce: {bounce_type:?} ({})",
        text_report.rationale_or_default()
    ));
    Some(KindDecision {
        kind: MessageKind::Bounce,
        confidence: Confidence::new(score),
        rationale,
        bounce: Some(BounceInfo {
            bounce_type,
            status: text_report.status,
            reason: text_report.reason,
            recipient,
            original_message_id: mail
                .returned_message_id
                .clone()
                .or_else(|| returned_id_in_text(&mail.text, report.len())),
        }),
    })
}

impl dsn::TextReport {
    fn rationale_or_default(&self) -> &'static str {
        if self.rationale.is_empty() {
            "no code or wording; assumed permanent"
        } else {
            self.rationale
        }
    }
}

/// The Message-ID in a returned copy pasted into a prose bounce.
fn returned_id_in_text(text: &str, copy_start: usize) -> Option<String> {
    let copy = text.get(copy_start..)?;
    let at = copy.find('\n').map_or(copy.len(), |i| i + 1);
    super::parse::message_id_in_headers(copy.get(at..)?.trim_start_matches('\n'))
}

/// The failed address named in a prose bounce: the first address in the
/// report that is neither the bounce's sender nor its recipients (us).
fn text_recipient(mail: &ParsedMail) -> Option<String> {
    let report = dsn::report_text(&mail.text);
    let ours: Vec<&str> = mail
        .headers
        .to
        .iter()
        .chain(&mail.headers.delivered_to)
        .chain(mail.headers.from.as_ref())
        .map(String::as_str)
        .collect();
    rules::EMAIL_IN_TEXT
        .find_iter(truncate_at_char(report, rules::BOUNCE_BODY_WINDOW))
        .map(|m| m.as_str().trim_end_matches('.').to_lowercase())
        .find(|address| {
            let local = address.split('@').next().unwrap_or("");
            !ours.contains(&address.as_str()) && !matches!(local, "mailer-daemon" | "postmaster")
        })
}

fn from_auto_evidence(mail: &ParsedMail, visible: &str) -> Option<KindDecision> {
    let mut weights = Vec::new();
    let mut rationale = Vec::new();
    if let Some(value) = signal(mail, "auto-submitted") {
        let value = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if value != "no" && !value.is_empty() {
            weights.push(rules::AUTO_SUBMITTED);
            rationale.push(format!("auto-reply: Auto-Submitted: {value} (RFC 3834)"));
        }
    }
    for (name, values, weight) in rules::AUTO_HEADERS {
        let Some(value) = signal(mail, name) else { continue };
        let value = value.to_ascii_lowercase();
        let hit = match values {
            None => true,
            Some(values) => value.split([',', ' ', ';']).any(|v| values.contains(&v.trim())),
        };
        // One weight per header: the first (strongest) row that matches.
        if hit && !rationale.iter().any(|r: &String| r.contains(&format!("header {name}"))) {
            weights.push(*weight);
            rationale.push(format!("auto-reply: header {name}: {}", truncate_at_char(&value, 40)));
        }
    }
    let subject = mail.headers.subject.as_deref().unwrap_or("");
    if let Some(rule) = AUTO_SUBJECT.matching(subject).next() {
        weights.push(rule.weight);
        rationale.push(format!("auto-reply: subject ({})", rule.id));
    }
    let opening = truncate_at_char(visible, 4 * 1024);
    if let Some(rule) = AUTO_BODY.matching(opening).next() {
        weights.push(rule.weight);
        rationale.push(format!("auto-reply: text ({})", rule.id));
    }
    if weights.is_empty() {
        return None;
    }
    if let Some(rule) = rules::first_ooo_rule(opening) {
        weights.push(rules::AUTO_BODY_OOO);
        rationale.push(format!("auto-reply: text ({})", rule.rule.id));
    }
    if null_return_path(mail) {
        weights.push(rules::NULL_RETURN_PATH);
        rationale.push("auto-reply: null Return-Path".to_owned());
    }
    let score = rules::combine(weights);
    if score < rules::AUTO_THRESHOLD {
        return None;
    }
    Some(KindDecision {
        kind: MessageKind::AutoReply,
        confidence: Confidence::new(score),
        rationale,
        bounce: None,
    })
}
