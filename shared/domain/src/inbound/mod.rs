//! Inbound mail: what a message that reached the reply domain is, what its
//! sender actually wrote, and what it means for the lead.
//!
//! [`analyze`] is the one entry point. It never fails and never panics on
//! input: every byte string yields an [`InboundAnalysis`], with
//! [`ParseReport`] saying how much of it could be read, so a message is never
//! lost (the raw MIME stays in S3 either way). The steps, each in its module:
//!
//! 1. [`parse`]: mail-parser reads the MIME (multipart, transfer encodings,
//!    charsets); HTML-only bodies become text with [`html`]; the headers that
//!    matching needs become a [`HeadersSummary`].
//! 2. [`kind`]: a delivery status notification ([`dsn`] reads it), an
//!    auto-reply, or a human reply, decided from headers first, then subject
//!    and body patterns.
//! 3. [`quotes`]: the visible text, without quoted history, forwarded blocks
//!    and signatures, keeping inline answers.
//! 4. A [`ReplyClassifier`] (the shipped one is [`RulesClassifier`]) says what
//!    the reply means, with a confidence and the rules that fired; [`dates`]
//!    reads an out-of-office return date.
//!
//! Every pattern and weight lives in [`rules`]. docs/inbound.md explains the
//! decisions and their limits.

mod classify;
pub mod dates;
mod dsn;
mod html;
mod kind;
mod parse;
mod quotes;
mod rules;
mod text;

pub use classify::{ReplyClassifier, ReplyFacts, RulesClassifier, Verdict};
pub use parse::mail_parser;
pub use quotes::visible_text;
pub use text::normalise_whitespace;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Raw messages larger than this are not parsed whole: their headers are, and
/// the body is read from the first [`MAX_PARSED_BYTES`] only. SES accepts
/// inbound messages up to 40 MB, so anything past this is an attachment-heavy
/// message whose text is at the start anyway.
pub const MAX_PARSED_BYTES: usize = 8 * 1024 * 1024;

/// Body text past this many bytes is neither stripped nor classified: a reply
/// the person typed is far shorter, and the work stays bounded for a 30 MB body.
pub const MAX_ANALYSED_TEXT_BYTES: usize = 256 * 1024;

/// `full_text` and `visible_text` are cut to this many bytes (at a character
/// boundary) so a stored reply stays well inside a DynamoDB item (400 KB).
pub const MAX_STORED_TEXT_BYTES: usize = 64 * 1024;

/// What a message is, decided before anything else: only `human` counts as a
/// reply; a bounce feeds suppression; an auto-reply is neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Human,
    AutoReply,
    Bounce,
}

impl MessageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::AutoReply => "auto_reply",
            Self::Bounce => "bounce",
        }
    }
}

/// What a reply means for the lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyClass {
    Interested,
    MeetingRequest,
    InformationRequest,
    NotInterested,
    DoNotContact,
    WrongPerson,
    OutOfOffice,
    AutoReplyOther,
    Bounce,
    /// A human reply no rule recognised (or a message that could not be read):
    /// it still counts as a reply, but not as a positive one, and is left for
    /// a person (or a smarter classifier) to label.
    Unclassified,
}

impl ReplyClass {
    pub const ALL: [ReplyClass; 10] = [
        Self::Interested,
        Self::MeetingRequest,
        Self::InformationRequest,
        Self::NotInterested,
        Self::DoNotContact,
        Self::WrongPerson,
        Self::OutOfOffice,
        Self::AutoReplyOther,
        Self::Bounce,
        Self::Unclassified,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Interested => "interested",
            Self::MeetingRequest => "meeting_request",
            Self::InformationRequest => "information_request",
            Self::NotInterested => "not_interested",
            Self::DoNotContact => "do_not_contact",
            Self::WrongPerson => "wrong_person",
            Self::OutOfOffice => "out_of_office",
            Self::AutoReplyOther => "auto_reply_other",
            Self::Bounce => "bounce",
            Self::Unclassified => "unclassified",
        }
    }

    /// The classes that count as a positive reply in the campaign KPIs.
    pub fn is_positive(self) -> bool {
        matches!(self, Self::Interested | Self::MeetingRequest | Self::InformationRequest)
    }

    /// Whether a classifier may give this class to a message of `kind`.
    /// [`analyze`] enforces it, so no classifier can turn a DSN into a reply.
    pub fn fits(self, kind: MessageKind) -> bool {
        match kind {
            MessageKind::Bounce => self == Self::Bounce,
            MessageKind::AutoReply => matches!(
                self,
                Self::OutOfOffice | Self::AutoReplyOther | Self::WrongPerson | Self::DoNotContact
            ),
            MessageKind::Human => self != Self::Bounce,
        }
    }
}

impl fmt::Display for ReplyClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A confidence in `0.0..=1.0`, kept to two decimals so stored values and
/// rationales read the same.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Confidence(f64);

impl Confidence {
    pub const ZERO: Confidence = Confidence(0.0);

    /// Clamps into `0..=1` (NaN becomes 0) and rounds to two decimals.
    pub fn new(value: f64) -> Self {
        let value = if value.is_nan() { 0.0 } else { value.clamp(0.0, 1.0) };
        Self((value * 100.0).round() / 100.0)
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Confidence {
    type Error = &'static str;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        if (0.0..=1.0).contains(&value) {
            Ok(Self::new(value))
        } else {
            Err("confidence must be between 0 and 1")
        }
    }
}

impl From<Confidence> for f64 {
    fn from(value: Confidence) -> Self {
        value.0
    }
}

/// Hard bounces suppress the address; soft ones (temporary failures, delays)
/// do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceType {
    Hard,
    Soft,
}

/// An RFC 3463 enhanced status code (`class.subject.detail`, class 2, 4 or 5).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusCode {
    class: u8,
    subject: u16,
    detail: u16,
}

impl StatusCode {
    /// Reads `5.1.1`; refuses anything else (other classes, missing parts,
    /// numbers past RFC 3463's three digits).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().splitn(3, '.');
        let class: u8 = parts.next()?.parse().ok()?;
        let subject: u16 = parts.next()?.parse().ok()?;
        let detail: u16 = parts.next()?.parse().ok()?;
        if !matches!(class, 2 | 4 | 5) || subject > 999 || detail > 999 {
            return None;
        }
        Some(Self { class, subject, detail })
    }

    pub fn class(self) -> u8 {
        self.class
    }

    /// Permanent failures are hard, except a full mailbox (x.2.2), which
    /// usually clears and which the big providers treat as temporary.
    pub fn bounce_type(self) -> BounceType {
        if self.class == 5 && !(self.subject == 2 && self.detail == 2) {
            BounceType::Hard
        } else {
            BounceType::Soft
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl fmt::Debug for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusCode({self})")
    }
}

impl Serialize for StatusCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StatusCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("status must look like 5.1.1"))
    }
}

/// What a bounce says about the failed delivery.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BounceInfo {
    #[serde(rename = "type")]
    pub bounce_type: BounceType,
    /// The enhanced status code when the bounce gives one (or one derived
    /// from a basic SMTP reply code such as `550`).
    pub status: Option<StatusCode>,
    /// The diagnostic (an SMTP response or the MTA's sentence), one line.
    pub reason: Option<String>,
    /// The address that failed, as the bounce names it.
    pub recipient: Option<String>,
    /// The Message-ID of the email that bounced, from the returned headers:
    /// how the caller finds the outbound email without a reply token.
    pub original_message_id: Option<String>,
}

impl fmt::Debug for BounceInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BounceInfo")
            .field("type", &self.bounce_type)
            .field("status", &self.status)
            .field("reason", &self.reason.as_ref().map(|r| r.len()))
            .field("recipient", &self.recipient.as_deref().map(redact))
            .finish()
    }
}

/// Who a wrong-person reply points to, when it names someone.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    pub name: Option<String>,
    pub email: Option<String>,
}

impl fmt::Debug for Referral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Referral")
            .field("name", &self.name.as_ref().map(|_| "<redacted>"))
            .field("email", &self.email.as_deref().map(redact))
            .finish()
    }
}

/// The headers the caller matches on and shows. Addresses are lower-cased as
/// given (not validated: a bounce's From may be `MAILER-DAEMON`).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadersSummary {
    pub from: Option<String>,
    pub from_name: Option<String>,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// `Delivered-To` and `X-Original-To`: where the reply domain received it,
    /// which carries the signed reply token.
    pub delivered_to: Vec<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub date: Option<DateTime<FixedOffset>>,
}

impl fmt::Debug for HeadersSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeadersSummary")
            .field("from", &self.from.as_deref().map(redact))
            .field("to", &self.to.len())
            .field("subject", &self.subject.as_ref().map(|s| s.len()))
            .field("message_id", &self.message_id)
            .field("in_reply_to", &self.in_reply_to)
            .field("references", &self.references.len())
            .field("date", &self.date)
            .finish()
    }
}

/// How much of the message could be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParseOutcome {
    /// Parsed whole.
    Complete,
    /// Parsed, with something left out or guessed (see the problems).
    Partial,
    /// Not an RFC 5322 message: nothing was analysed; `full_text` holds the
    /// start of the bytes as lossy UTF-8 so a person can look.
    Unparseable,
}

/// Something the parser had to work around.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ParseProblem {
    /// A text part declared a charset no decoder knows; its bytes were read
    /// as UTF-8 with replacement characters.
    UnknownCharset { charset: String },
    /// The raw message was larger than [`MAX_PARSED_BYTES`]: headers were read
    /// whole, the body from the first bytes only.
    MessageTruncated { size: usize },
    /// The body text was longer than [`MAX_ANALYSED_TEXT_BYTES`]; only its
    /// start was stripped and classified.
    TextTruncated { size: usize },
    /// A part's transfer encoding or structure was broken; mail-parser kept
    /// what it could.
    BrokenPart,
    /// No text or HTML body at all.
    NoTextBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseReport {
    pub outcome: ParseOutcome,
    pub problems: Vec<ParseProblem>,
    pub raw_size: usize,
}

/// Everything the `inbound` function stores about a message, and the facts it
/// matches on. Serialises with the field names the inbox API uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboundAnalysis {
    pub kind: MessageKind,
    pub classification: ReplyClass,
    pub confidence: Confidence,
    /// Which rules fired, in order: the kind's evidence, then the classifier's.
    pub rationale: Vec<String>,
    pub visible_text: String,
    pub full_text: String,
    /// The day an out-of-office sender says they are back (see [`resume_on`]).
    pub return_date: Option<NaiveDate>,
    pub bounce: Option<BounceInfo>,
    pub referral: Option<Referral>,
    pub headers: HeadersSummary,
    pub parse: ParseReport,
}

/// The day to resume a paused lead: the day after the stated return date, so
/// the follow-up does not land in the pile the person finds on their first day
/// back. `None` only at the end of the calendar.
pub fn resume_on(return_date: NaiveDate) -> Option<NaiveDate> {
    return_date.succ_opt()
}

/// Reads, sorts, strips and classifies one raw RFC 5322 message. Never panics
/// on input and always returns an analysis (see [`ParseReport`]).
pub fn analyze(raw: &[u8], classifier: &dyn ReplyClassifier) -> InboundAnalysis {
    let Some(mail) = parse::parse(raw) else {
        return unparseable(raw);
    };
    let visible = quotes::visible_text(&mail.text);
    let kind = kind::decide(&mail, &visible);
    let facts = ReplyFacts {
        kind: kind.kind,
        subject: mail.headers.subject.as_deref().unwrap_or(""),
        visible_text: &visible,
        full_text: &mail.text,
        date: mail.headers.date,
        bounce: kind.bounce.as_ref(),
        from: mail.headers.from.as_deref(),
    };
    let verdict = classifier.classify(&facts);
    let mut rationale = kind.rationale;
    let (classification, confidence) = if verdict.classification.fits(kind.kind) {
        rationale.extend(verdict.rationale);
        (verdict.classification, verdict.confidence)
    } else {
        let fallback = match kind.kind {
            MessageKind::Bounce => ReplyClass::Bounce,
            MessageKind::AutoReply => ReplyClass::AutoReplyOther,
            MessageKind::Human => ReplyClass::Unclassified,
        };
        rationale.push(format!(
            "classifier said {} for a {} message; kept as {}",
            verdict.classification,
            kind.kind.as_str(),
            fallback
        ));
        (fallback, Confidence::new(kind.confidence.value().min(0.5)))
    };
    let return_date = verdict
        .return_date
        .filter(|_| classification == ReplyClass::OutOfOffice);
    let referral = verdict.referral.filter(|_| classification == ReplyClass::WrongPerson);
    let mut problems = mail.problems;
    let full_text = text::truncate_at_char(&mail.full_text, MAX_STORED_TEXT_BYTES).to_owned();
    let outcome = if problems.is_empty() {
        ParseOutcome::Complete
    } else {
        ParseOutcome::Partial
    };
    problems.dedup();
    InboundAnalysis {
        kind: kind.kind,
        classification,
        confidence,
        rationale,
        visible_text: text::truncate_at_char(&visible, MAX_STORED_TEXT_BYTES).to_owned(),
        full_text,
        return_date,
        bounce: kind.bounce,
        referral,
        headers: mail.headers,
        parse: ParseReport {
            outcome,
            problems,
            raw_size: raw.len(),
        },
    }
}

/// Compiles every pattern now instead of on the first message (≈ 40 ms of CPU
/// in a release build, most of it the class rule set): call once at cold
/// start so no message pays for it. Runs one message down each path.
pub fn warm_up() {
    const MESSAGES: [&[u8]; 3] = [
        b"From: a@example.com\r\nSubject: Re: hi\r\n\r\nThanks, call me Tuesday 3 December.\r\n\r\nOn Mon, 2 Dec 2024, b@example.com wrote:\r\n> hi\r\n",
        b"From: a@example.com\r\nSubject: Out of office\r\nDate: Mon, 2 Dec 2024 10:00:00 +0000\r\nAuto-Submitted: auto-replied\r\n\r\nI am away, back on 9/12/2024.\r\n",
        b"From: MAILER-DAEMON@example.com\r\nSubject: failure notice\r\n\r\nI wasn't able to deliver your message.\r\n<x@example.org>:\r\n550 5.1.1 no such user\r\n",
    ];
    for raw in MESSAGES {
        let _ = analyze(raw, &RulesClassifier);
    }
}

fn unparseable(raw: &[u8]) -> InboundAnalysis {
    let start = &raw[..raw.len().min(MAX_STORED_TEXT_BYTES)];
    InboundAnalysis {
        kind: MessageKind::Human,
        classification: ReplyClass::Unclassified,
        confidence: Confidence::ZERO,
        rationale: vec!["not an RFC 5322 message: kept unread for a person to look at".to_owned()],
        visible_text: String::new(),
        full_text: String::from_utf8_lossy(start).into_owned(),
        return_date: None,
        bounce: None,
        referral: None,
        headers: HeadersSummary::default(),
        parse: ParseReport {
            outcome: ParseOutcome::Unparseable,
            problems: Vec::new(),
            raw_size: raw.len(),
        },
    }
}

/// An address for logs: the domain only.
fn redact(address: &str) -> String {
    let domain = address.rsplit_once('@').map(|(_, domain)| domain).unwrap_or("");
    format!("<redacted>@{domain}")
}
