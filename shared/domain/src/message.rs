//! Outbound MIME messages: one rendered email turned into the RFC 5322 bytes
//! handed to SES `SendRawEmail`.
//!
//! What every message carries:
//! - our `Message-ID` ([`message_id_for`]), so replies can be matched to the
//!   email they answer; `In-Reply-To` and `References` for follow-ups sent in
//!   the same thread;
//! - one-click unsubscribe (RFC 8058): `List-Unsubscribe: <https://…>` and
//!   `List-Unsubscribe-Post: List-Unsubscribe=One-Click`, as Gmail and Yahoo
//!   require of bulk senders;
//! - a footer on every body part with the postal address (CAN-SPAM) and a
//!   visible unsubscribe link — the link is left out of a part whose body
//!   already shows the unsubscribe URL (a template that placed
//!   `{{ unsubscribe_url }}` itself);
//! - `multipart/alternative` with the text part first when both parts exist.
//!
//! Non-ASCII subjects and display names are encoded by mail-builder (RFC 2047);
//! line breaks in header values are replaced so that no value can add a header.

use crate::email::EmailAddress;
use crate::ids::{EmailId, LeadId, TenantId};
use chrono::{DateTime, Utc};
use mail_builder::MessageBuilder;
use mail_builder::headers::HeaderType;
use mail_builder::headers::address::Address;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::headers::url::URL;
use std::borrow::Cow;
use std::fmt;

/// A display name (optional) and an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: EmailAddress,
}

impl Mailbox {
    pub fn new(name: Option<&str>, address: EmailAddress) -> Self {
        Self {
            name: name.map(str::trim).filter(|n| !n.is_empty()).map(str::to_string),
            address,
        }
    }
}

/// A header other than those [`OutboundMessage`] writes itself (e.g.
/// `Feedback-ID`, `X-Campaign`). Checked when made, so it cannot break or
/// add headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraHeader {
    name: String,
    value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("a header name is 1–76 printable ASCII characters without `:` or spaces")]
    BadName,
    #[error("the {0} header is written by the message itself")]
    Reserved(String),
    #[error("a header value is one line of at most 998 characters")]
    BadValue,
}

/// Headers the message writes itself; an extra header may not repeat them.
const RESERVED: [&str; 18] = [
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "sender",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "return-path",
    "received",
];

impl ExtraHeader {
    pub fn new(name: &str, value: &str) -> Result<Self, HeaderError> {
        let valid_name =
            !name.is_empty() && name.len() <= 76 && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if !valid_name {
            return Err(HeaderError::BadName);
        }
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(HeaderError::Reserved(name.to_string()));
        }
        if value.chars().count() > 998 || value.chars().any(|c| c.is_control()) {
            return Err(HeaderError::BadValue);
        }
        Ok(Self {
            name: name.to_string(),
            value: value.trim().to_string(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

/// One email ready to be written as MIME.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundMessage {
    pub from: Mailbox,
    pub to: Mailbox,
    pub reply_to: Option<EmailAddress>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    /// Ours, with or without angle brackets: see [`message_id_for`].
    pub message_id: String,
    /// The Message-ID of the email this one follows up in the same thread.
    pub in_reply_to: Option<String>,
    /// The thread so far, oldest first. `in_reply_to` is added at the end when missing.
    pub references: Vec<String>,
    /// The RFC 8058 one-click URL (HTTPS); also the footer's link.
    pub list_unsubscribe_url: String,
    /// An optional `mailto:` alternative in `List-Unsubscribe`.
    pub list_unsubscribe_mailto: Option<String>,
    /// The sender's postal address (may span lines); shown in the footer.
    pub postal_address: Option<String>,
    pub headers: Vec<ExtraHeader>,
}

/// Our Message-ID of an email: `<email-id@domain>`, the domain being the
/// sending domain (so it is unique and ours).
pub fn message_id_for(email_id: EmailId, domain: &str) -> String {
    format!(
        "<{email_id}@{}>",
        domain.trim().trim_start_matches('@').to_ascii_lowercase()
    )
}

/// Our `Message-ID` for a sequence email: it names the email, the lead, the
/// step and the tenant, so a reply quoting it in `In-Reply-To`/`References`
/// finds the email it answers without a lookup.
pub fn sequence_message_id(tenant: TenantId, lead: LeadId, step: u32, email_id: EmailId, domain: &str) -> String {
    format!(
        "<{email_id}.{lead}.{step}.{tenant}@{}>",
        domain.trim().trim_start_matches('@').to_ascii_lowercase()
    )
}

/// What one of our sequence Message-IDs names (`None` for anyone else's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceMessage {
    pub tenant: TenantId,
    pub lead: LeadId,
    pub step: u32,
    pub email: EmailId,
}

pub fn read_sequence_message_id(id: &str) -> Option<SequenceMessage> {
    let bare = bare_id(id)?;
    let (local, _domain) = bare.rsplit_once('@')?;
    let mut parts = local.split('.');
    let email = parts.next()?.parse().ok()?;
    let lead = parts.next()?.parse().ok()?;
    let step = parts.next()?.parse().ok()?;
    let tenant = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(SequenceMessage {
        tenant,
        lead,
        step,
        email,
    })
}

/// A message id without angle brackets, whitespace or control characters.
fn bare_id(id: &str) -> Option<String> {
    let bare: String = id
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control() && *c != '<' && *c != '>')
        .collect();
    (!bare.is_empty()).then_some(bare)
}

/// A header value on one line: every line break and control character becomes a space.
fn one_line(value: &str) -> String {
    let mut line = String::with_capacity(value.len());
    for word in value.split(|c: char| c.is_whitespace() || c.is_control()) {
        if !word.is_empty() {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    line
}

/// A URL for a header: no whitespace, control characters or angle brackets.
fn header_url(url: &str) -> String {
    url.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control() && *c != '<' && *c != '>')
        .collect()
}

/// Escapes text for HTML content and attribute values.
fn escape_html(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn address(mailbox: &Mailbox) -> Address<'_> {
    let name = mailbox.name.as_deref().map(one_line).filter(|n| !n.is_empty());
    Address::new_address(name, mailbox.address.as_str())
}

impl OutboundMessage {
    /// The text part with its footer.
    pub fn text_with_footer(&self) -> Option<String> {
        let body = self.text.as_deref()?;
        let mut out = String::with_capacity(body.len() + 200);
        out.push_str(body.trim_end());
        out.push_str("\n\n");
        if let Some(postal) = self.postal_address.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            out.push_str(postal);
            out.push('\n');
        }
        let url = header_url(&self.list_unsubscribe_url);
        if !url.is_empty() && !body.contains(&url) {
            out.push_str("Unsubscribe: ");
            out.push_str(&url);
            out.push('\n');
        }
        Some(out)
    }

    /// The HTML part with its footer, placed before `</body>` when there is one.
    pub fn html_with_footer(&self) -> Option<String> {
        let body = self.html.as_deref()?;
        let url = header_url(&self.list_unsubscribe_url);
        let escaped_url = escape_html(&url);
        let mut footer = String::with_capacity(300);
        footer.push_str("\n<div style=\"margin-top:24px;font-size:12px;line-height:1.5;color:#888888\">");
        let mut lines = 0;
        if let Some(postal) = self.postal_address.as_deref() {
            for line in postal.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if lines > 0 {
                    footer.push_str("<br>");
                }
                footer.push_str(&escape_html(line));
                lines += 1;
            }
        }
        if !url.is_empty() && !body.contains(&url) && !body.contains(escaped_url.as_ref()) {
            if lines > 0 {
                footer.push_str("<br>");
            }
            // Never rewritten by SES's click tracking: opting out is not engagement.
            footer.push_str("<a ses:no-track href=\"");
            footer.push_str(&escaped_url);
            footer.push_str("\" style=\"color:#888888\">Unsubscribe</a>");
            lines += 1;
        }
        footer.push_str("</div>\n");
        if lines == 0 {
            return Some(body.to_string());
        }
        let at = body
            .as_bytes()
            .windows(7)
            .rposition(|w| w.eq_ignore_ascii_case(b"</body>"))
            .unwrap_or(body.len());
        let mut out = String::with_capacity(body.len() + footer.len());
        out.push_str(&body[..at]);
        out.push_str(&footer);
        out.push_str(&body[at..]);
        Some(out)
    }

    /// The message as RFC 5322 bytes (CRLF line ends), dated `date`.
    pub fn to_rfc5322(&self, date: DateTime<Utc>) -> Vec<u8> {
        let mut builder = MessageBuilder::new().from(address(&self.from)).to(address(&self.to));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.as_str());
        }
        builder = builder
            .subject(Text::new(one_line(&self.subject)))
            .date(date.timestamp());
        if let Some(id) = bare_id(&self.message_id) {
            builder = builder.message_id(MessageId::new(id));
        }
        let in_reply_to = self.in_reply_to.as_deref().and_then(bare_id);
        let mut references: Vec<String> = self.references.iter().filter_map(|r| bare_id(r)).collect();
        if let Some(parent) = &in_reply_to {
            if !references.contains(parent) {
                references.push(parent.clone());
            }
            builder = builder.in_reply_to(MessageId::new(parent.clone()));
        }
        if !references.is_empty() {
            builder = builder.references(MessageId::from(references));
        }
        let mut unsubscribe = vec![header_url(&self.list_unsubscribe_url)];
        if let Some(mailto) = self.list_unsubscribe_mailto.as_deref().map(header_url) {
            unsubscribe.push(mailto);
        }
        unsubscribe.retain(|u| !u.is_empty());
        if !unsubscribe.is_empty() {
            builder = builder
                .header("List-Unsubscribe", URL::from(unsubscribe))
                .header("List-Unsubscribe-Post", Raw::new("List-Unsubscribe=One-Click"));
        }
        for extra in &self.headers {
            builder = builder.header(extra.name.as_str(), HeaderType::Text(Text::new(extra.value.as_str())));
        }
        if let Some(text) = self.text_with_footer() {
            builder = builder.text_body(text);
        }
        if let Some(html) = self.html_with_footer() {
            builder = builder.html_body(html);
        }
        let mut out = Vec::with_capacity(self.html.as_ref().map_or(0, String::len) * 2 + 2048);
        builder
            .write_to(&mut out)
            .expect("writing a message into a Vec cannot fail");
        out
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.address.as_str()),
            None => f.write_str(self.address.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use mail_parser::{HeaderValue, MessageParser};

    fn addr(a: &str) -> EmailAddress {
        EmailAddress::parse(a).unwrap()
    }

    fn message() -> OutboundMessage {
        OutboundMessage {
            from: Mailbox::new(Some("Jörg Müller"), addr("joerg@sender.example")),
            to: Mailbox::new(Some("Ann Lee"), addr("ann@acme.example")),
            reply_to: Some(addr("replies@sender.example")),
            subject: "Grüße aus Köln – quick question".into(),
            text: Some("Hi Ann,\n\nshort note.\n".into()),
            html: Some("<html><body><p>Hi Ann,</p><p>short note.</p></body></html>".into()),
            message_id: "<0190a1b2-0000-7000-8000-000000000001@sender.example>".into(),
            in_reply_to: None,
            references: Vec::new(),
            list_unsubscribe_url: "https://u.example/unsub?t=abc&x=1".into(),
            list_unsubscribe_mailto: None,
            postal_address: Some("Acme GmbH\nHauptstr. 1 <Hof>\n50667 Köln".into()),
            headers: Vec::new(),
        }
    }

    fn date() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap()
    }

    fn ids(value: &HeaderValue<'_>) -> Vec<String> {
        match value {
            HeaderValue::Text(t) => vec![t.to_string()],
            HeaderValue::TextList(list) => list.iter().map(|t| t.to_string()).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn headers_are_present_and_exact() {
        let raw = message().to_rfc5322(date());
        let text = String::from_utf8(raw.clone()).unwrap();
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(parsed.subject(), Some("Grüße aus Köln – quick question"));
        let from = parsed.from().and_then(|a| a.first()).unwrap();
        assert_eq!(
            (from.name(), from.address()),
            (Some("Jörg Müller"), Some("joerg@sender.example"))
        );
        let to = parsed.to().and_then(|a| a.first()).unwrap();
        assert_eq!((to.name(), to.address()), (Some("Ann Lee"), Some("ann@acme.example")));
        let reply_to = parsed.reply_to().and_then(|a| a.first()).unwrap();
        assert_eq!(reply_to.address(), Some("replies@sender.example"));
        assert_eq!(
            parsed.message_id(),
            Some("0190a1b2-0000-7000-8000-000000000001@sender.example")
        );
        assert!(text.contains("\r\nMessage-ID: <0190a1b2-0000-7000-8000-000000000001@sender.example>\r\n"));
        assert_eq!(parsed.date().map(|d| d.to_timestamp()), Some(date().timestamp()));
        assert!(
            text.contains("\r\nList-Unsubscribe: <https://u.example/unsub?t=abc&x=1>\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
        assert_eq!(
            parsed.header_raw("List-Unsubscribe-Post").map(str::trim),
            Some("List-Unsubscribe=One-Click")
        );
        assert!(text.contains("\r\nMIME-Version: 1.0\r\n"));
        // No threading headers on a first email.
        assert!(parsed.header("In-Reply-To").is_none());
        assert!(parsed.header("References").is_none());
        // The raw subject is encoded, never 8-bit.
        assert!(
            raw.split(|&b| b == b'\n')
                .take_while(|l| l.len() > 1)
                .all(|l| l.is_ascii())
        );
    }

    #[test]
    fn both_parts_are_alternatives_and_carry_the_footer() {
        let raw = message().to_rfc5322(date());
        let parsed = MessageParser::default().parse(&raw).unwrap();
        let content_type = parsed.header_raw("Content-Type").unwrap();
        assert!(
            content_type.trim_start().starts_with("multipart/alternative"),
            "{content_type}"
        );
        assert_eq!((parsed.text_body_count(), parsed.html_body_count()), (1, 1));
        let text = parsed.body_text(0).unwrap().replace("\r\n", "\n");
        assert!(
            text.starts_with("Hi Ann,\n\nshort note.\n\nAcme GmbH\nHauptstr. 1 <Hof>\n50667 Köln\n"),
            "{text}"
        );
        assert!(text.contains("Unsubscribe: https://u.example/unsub?t=abc&x=1"));
        let html = parsed.body_html(0).unwrap().replace("\r\n", "\n");
        assert!(
            html.contains(
                "Acme GmbH<br>Hauptstr. 1 &lt;Hof&gt;<br>50667 Köln<br>\
                 <a ses:no-track href=\"https://u.example/unsub?t=abc&amp;x=1\" style=\"color:#888888\">Unsubscribe</a></div>\n</body></html>"
            ),
            "{html}"
        );
    }

    #[test]
    fn a_body_that_shows_the_unsubscribe_url_gets_no_second_link() {
        let mut m = message();
        m.text = Some("Stop: https://u.example/unsub?t=abc&x=1".into());
        m.html = Some("<p><a href=\"https://u.example/unsub?t=abc&amp;x=1\">stop</a></p>".into());
        m.postal_address = None;
        assert_eq!(m.text_with_footer().unwrap().matches("https://u.example").count(), 1);
        assert_eq!(
            m.html_with_footer().unwrap(),
            "<p><a href=\"https://u.example/unsub?t=abc&amp;x=1\">stop</a></p>"
        );
        m.postal_address = Some("1 Main St".into());
        assert!(m.html_with_footer().unwrap().ends_with("1 Main St</div>\n"));
    }

    #[test]
    fn single_part_messages() {
        let mut m = message();
        m.html = None;
        let parsed_raw = m.to_rfc5322(date());
        let parsed = MessageParser::default().parse(&parsed_raw).unwrap();
        assert!(
            parsed
                .header_raw("Content-Type")
                .unwrap()
                .trim_start()
                .starts_with("text/plain")
        );
        let mut m = message();
        m.text = None;
        let raw = m.to_rfc5322(date());
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert!(
            parsed
                .header_raw("Content-Type")
                .unwrap()
                .trim_start()
                .starts_with("text/html")
        );
    }

    #[test]
    fn follow_ups_thread_with_in_reply_to_and_references() {
        let mut m = message();
        m.in_reply_to = Some("<second@sender.example>".into());
        m.references = vec!["<first@sender.example>".into()];
        let raw = m.to_rfc5322(date());
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(ids(parsed.in_reply_to()), ["second@sender.example"]);
        assert_eq!(
            ids(parsed.references()),
            ["first@sender.example", "second@sender.example"]
        );

        let mut m = message();
        m.in_reply_to = Some("parent@sender.example".into());
        let raw = m.to_rfc5322(date());
        let parsed = MessageParser::default().parse(&raw).unwrap();
        assert_eq!(ids(parsed.in_reply_to()), ["parent@sender.example"]);
        assert_eq!(ids(parsed.references()), ["parent@sender.example"]);
    }

    #[test]
    fn header_values_cannot_inject_headers() {
        let mut m = message();
        m.subject = "Hello\r\nBcc: victim@example.com".into();
        m.to = Mailbox::new(Some("Ann\r\nBcc: x@y.z"), addr("ann@acme.example"));
        m.list_unsubscribe_url = "https://u.example/a>\r\nX-Evil: 1".into();
        let text = String::from_utf8(m.to_rfc5322(date())).unwrap();
        assert!(!text.contains("\r\nBcc:"), "{text}");
        assert!(!text.contains("\r\nX-Evil"), "{text}");
        let parsed = MessageParser::default().parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.subject(), Some("Hello Bcc: victim@example.com"));
    }

    #[test]
    fn extra_headers_are_checked() {
        assert_eq!(
            ExtraHeader::new("Subject", "x"),
            Err(HeaderError::Reserved("Subject".into()))
        );
        assert_eq!(ExtraHeader::new("Bad Name", "x"), Err(HeaderError::BadName));
        assert_eq!(ExtraHeader::new("X-Ok", "a\r\nb"), Err(HeaderError::BadValue));
        let mut m = message();
        m.headers = vec![
            ExtraHeader::new("Feedback-ID", "c1:t1:cc").unwrap(),
            ExtraHeader::new("X-Note", "Grüße").unwrap(),
        ];
        m.list_unsubscribe_mailto = Some("mailto:unsub@sender.example?subject=unsubscribe".into());
        let raw = m.to_rfc5322(date());
        let text = String::from_utf8(raw.clone()).unwrap();
        assert!(text.contains("\r\nFeedback-ID: c1:t1:cc\r\n"));
        assert!(
            text.contains(
                "List-Unsubscribe: <https://u.example/unsub?t=abc&x=1>,\r\n\t<mailto:unsub@sender.example?subject=unsubscribe>"
            ) || text.contains(
                "List-Unsubscribe: <https://u.example/unsub?t=abc&x=1>, <mailto:unsub@sender.example?subject=unsubscribe>"
            ),
            "{text}"
        );
        let parsed = MessageParser::default().parse(&raw).unwrap();
        // Non-ASCII values are RFC 2047 encoded.
        assert_eq!(
            parsed.header_raw("X-Note").map(str::trim),
            Some("=?utf-8?B?R3LDvMOfZQ==?=")
        );
    }

    #[test]
    fn message_ids_are_ours() {
        let id = EmailId::generate();
        assert_eq!(message_id_for(id, " Sender.Example "), format!("<{id}@sender.example>"));
    }
}
