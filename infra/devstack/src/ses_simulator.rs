//! The local SES simulator: the emulator's SES accepts mail but publishes no
//! events, so locally the sender's mail service is wrapped by this one,
//! which, after each accepted message, publishes the events real SES would
//! (SNS → SQS → the ses-events function): `Send`, then what the SES mailbox
//! simulator addresses produce.
//!
//! - `bounce@simulator.amazonses.com`: a permanent bounce (5.1.1);
//! - `complaint@simulator.amazonses.com`: delivery, then a complaint;
//! - `suppressionlist@simulator.amazonses.com`: a permanent bounce with the
//!   subtype `OnAccountSuppressionList` (the address is on the account's
//!   suppression list, so SES did not try to deliver it);
//! - `ooto@simulator.amazonses.com`: delivery, then an out-of-the-office
//!   auto-reply received on the reply domain (see [`SimulatedSes::auto_reply`]);
//! - any other address (`success@…` included): delivery.
//!
//! As SES does, it publishes through the message's configuration set: the
//! set must exist (else the send is refused, as SES refuses it), and each
//! event goes to the SNS topic of every enabled event destination of the set
//! that takes its type. A message without a set publishes nothing.
//!
//! Opens and clicks happen when asked ([`SimulatedSes::open`],
//! [`SimulatedSes::click`], behind `POST /dev/simulate/{open,click}`): a
//! person's, a minute after delivery, from a desktop browser, with the same
//! `mail` object the message's other events carried. They happen only where
//! SES would have tracked them: an HTML part, a set that publishes Open
//! (SES inserted its pixel) or Click events, and for a click a link of the
//! HTML part without `ses:no-track` (SES rewrote it).

use crate::inbound_mail::LocalReceiving;
use async_trait::async_trait;
use aws_sdk_ses::error::ProvideErrorMetadata;
use aws_sdk_ses::types::ConfigurationSetAttribute;
use cc_domain::clock::Clock;
use cc_domain::ports::{MailSender, RawSend, SendError};
use cc_domain::tracking::{self, HtmlLink};
use chrono::{DateTime, TimeDelta, Utc};
use mail_parser::MessageParser;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Simulated opens and clicks come this long after delivery: well outside
/// the window in which they would count as a machine's (`engagement.rs`).
pub const READ_AFTER_DELIVERY: TimeDelta = TimeDelta::minutes(1);
/// A desktop browser (no scanner signature).
pub const BROWSER: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";
/// A documentation address (RFC 5737), outside Apple's privacy-proxy range.
pub const READER_IP: &str = "198.51.100.23";

/// An event destination of a configuration set, as SES keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub topic_arn: String,
    /// SES (API v1) event type names: `send`, `open`, `renderingFailure` …
    pub event_types: Vec<String>,
}

impl Destination {
    fn takes(&self, api_type: &str) -> bool {
        self.event_types.iter().any(|t| t.eq_ignore_ascii_case(api_type))
    }
}

/// What the simulator remembers of a message it sent.
#[derive(Debug, Clone)]
pub struct SentMessage {
    pub ses_message_id: String,
    /// The `mail` object of every event of this message.
    pub mail: Value,
    pub configuration_set: Option<String>,
    /// The set's event destinations (empty without a set).
    pub destinations: Vec<Destination>,
    /// Whether the message has an HTML part (SES tracks nothing in text).
    pub has_html: bool,
    /// The links of the HTML part.
    pub links: Vec<HtmlLink>,
    /// When it was delivered; `None` when it bounced.
    pub delivered_at: Option<DateTime<Utc>>,
}

impl SentMessage {
    fn publishes(&self, api_type: &str) -> bool {
        self.destinations.iter().any(|d| d.takes(api_type))
    }
}

/// Why a simulated open or click cannot happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimulateError {
    #[error("the SES simulator sent no email with this id (it knows the emails sent since the devstack started)")]
    UnknownEmail,
    /// SES would not have tracked it: the message has no pixel or the link was not rewritten.
    #[error("{0}")]
    NotTracked(String),
    #[error("the email was not delivered (it bounced), so nobody can open it")]
    NotDelivered,
    /// The link is not one of the email's.
    #[error("{0}")]
    NotALink(String),
    #[error("the event could not be published: {0}")]
    Publish(String),
}

pub struct SimulatedSes {
    inner: Arc<dyn MailSender>,
    sns: aws_sdk_sns::Client,
    ses: aws_sdk_ses::Client,
    clock: Arc<dyn Clock>,
    /// By email id (the sender's `email_id` tag).
    sent: Mutex<HashMap<String, SentMessage>>,
    /// Configuration sets already described, with their destinations.
    sets: Mutex<HashMap<String, Vec<Destination>>>,
    /// Local SES receiving, for the auto-replies (set once the stack is wired).
    receiving: OnceLock<LocalReceiving>,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The SES (API v1) name of an event type, as event destinations list them.
fn api_event_type(event_type: &str) -> String {
    let mut chars = event_type.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// The `mail` object SES puts in every event of a message.
pub fn mail_object(
    ses_message_id: &str,
    from: &str,
    to: &str,
    tags: &[(&'static str, String)],
    configuration_set: Option<&str>,
    sent_at: DateTime<Utc>,
) -> Value {
    let mut tags: serde_json::Map<String, Value> = tags
        .iter()
        .map(|(name, value)| (name.to_string(), json!([value])))
        .collect();
    // What SES adds to the sender's own tags.
    if let Some(set) = configuration_set {
        tags.insert("ses:configuration-set".into(), json!([set]));
    }
    if let Some((_, domain)) = from.rsplit_once('@') {
        tags.insert("ses:from-domain".into(), json!([domain]));
    }
    tags.insert("ses:caller-identity".into(), json!(["devstack"]));
    json!({
        "timestamp": stamp(sent_at),
        "source": from,
        "sendingAccountId": "123456789012",
        "messageId": ses_message_id,
        "destination": [to],
        "headersTruncated": false,
        "tags": tags,
    })
}

fn event(kind: &str, key: &str, mail: &Value, detail: Value) -> Value {
    let mut event = json!({"eventType": kind, "mail": mail});
    event[key] = detail;
    event
}

/// The events real SES publishes for a message to `to`, in order, and when
/// it was delivered (`None` for a bounce).
pub fn simulated_events(mail: &Value, to: &str, sent_at: DateTime<Utc>) -> (Vec<Value>, Option<DateTime<Utc>>) {
    let ses_message_id = mail["messageId"].as_str().unwrap_or_default();
    let later = |seconds| stamp(sent_at + TimeDelta::seconds(seconds));
    let mut events = vec![event("Send", "send", mail, json!({}))];
    let bounce = |sub_type: &str, diagnostic: &str| {
        event(
            "Bounce",
            "bounce",
            mail,
            json!({"bounceType": "Permanent", "bounceSubType": sub_type, "timestamp": later(1),
                   "feedbackId": format!("{ses_message_id}-bounce"),
                   "bouncedRecipients": [{"emailAddress": to, "action": "failed", "status": "5.1.1",
                                          "diagnosticCode": diagnostic}]}),
        )
    };
    let delivery = event(
        "Delivery",
        "delivery",
        mail,
        json!({"timestamp": later(1), "processingTimeMillis": 1000, "recipients": [to],
               "smtpResponse": "250 2.6.0 Message received", "reportingMTA": "a8-70.smtp-out.amazonses.com"}),
    );
    let delivered_at = Some(sent_at + TimeDelta::seconds(1));
    match to.to_ascii_lowercase().as_str() {
        "bounce@simulator.amazonses.com" => {
            events.push(bounce("General", "smtp; 550 5.1.1 user unknown"));
            return (events, None);
        }
        "suppressionlist@simulator.amazonses.com" => {
            events.push(bounce(
                "OnAccountSuppressionList",
                "Amazon SES did not send the message to this address because it is on the suppression list for your account.",
            ));
            return (events, None);
        }
        "complaint@simulator.amazonses.com" => {
            events.push(delivery);
            events.push(event(
                "Complaint",
                "complaint",
                mail,
                json!({"timestamp": later(60), "complaintFeedbackType": "abuse", "userAgent": "Amazon SES Mailbox Simulator",
                       "feedbackId": format!("{ses_message_id}-complaint"),
                       "complainedRecipients": [{"emailAddress": to}]}),
            ));
        }
        // ooto@ and success@ and everyone else: delivered.
        _ => events.push(delivery),
    }
    (events, delivered_at)
}

/// The HTML part of a raw message, decoded from its transfer encoding.
pub fn html_part(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse(raw)?;
    message.html_bodies().find_map(|part| match &part.body {
        mail_parser::PartType::Html(html) => Some(html.to_string()),
        _ => None,
    })
}

impl SimulatedSes {
    pub fn new(inner: Arc<dyn MailSender>, config: &aws_config::SdkConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner,
            sns: aws_sdk_sns::Client::new(config),
            ses: aws_sdk_ses::Client::new(config),
            clock,
            sent: Mutex::default(),
            sets: Mutex::default(),
            receiving: OnceLock::new(),
        }
    }

    /// What the simulator sent for an email (by its id), if it did.
    pub fn sent(&self, email_id: &str) -> Option<SentMessage> {
        self.sent.lock().expect("not poisoned").get(email_id).cloned()
    }

    /// The set's event destinations, as the emulator's SES keeps them.
    /// `Err` with SES's error code when the set does not exist.
    async fn destinations(&self, set: &str) -> Result<Vec<Destination>, SendError> {
        if let Some(known) = self.sets.lock().expect("not poisoned").get(set) {
            return Ok(known.clone());
        }
        let described = self
            .ses
            .describe_configuration_set()
            .configuration_set_name(set)
            .configuration_set_attribute_names(ConfigurationSetAttribute::EventDestinations)
            .send()
            .await
            .map_err(|err| match err.code() {
                Some(code @ "ConfigurationSetDoesNotExist") => SendError::Rejected(code.to_string()),
                _ => SendError::Transient(format!("the emulator's SES: {err}")),
            })?;
        let destinations: Vec<Destination> = described
            .event_destinations()
            .iter()
            .filter(|d| d.enabled())
            .filter_map(|d| {
                Some(Destination {
                    topic_arn: d.sns_destination()?.topic_arn().to_string(),
                    event_types: d
                        .matching_event_types()
                        .iter()
                        .map(|t| t.as_str().to_string())
                        .collect(),
                })
            })
            .collect();
        // A set is given its destination right after it is made: only a complete one is kept.
        if !destinations.is_empty() {
            self.sets
                .lock()
                .expect("not poisoned")
                .insert(set.to_string(), destinations.clone());
        }
        Ok(destinations)
    }

    /// Publishes `event` to every destination that takes its type.
    async fn publish(&self, destinations: &[Destination], event: &Value) -> Result<(), String> {
        let api_type = api_event_type(event["eventType"].as_str().unwrap_or_default());
        for destination in destinations.iter().filter(|d| d.takes(&api_type)) {
            self.sns
                .publish()
                .topic_arn(&destination.topic_arn)
                .message(event.to_string())
                .send()
                .await
                .map_err(|err| err.to_string())?;
        }
        Ok(())
    }

    /// Where SES receiving goes locally: the simulator's auto-replies are received there.
    pub fn receive_replies_with(&self, receiving: LocalReceiving) {
        let _ = self.receiving.set(receiving);
    }

    /// SES's mailbox simulator answers `ooto@simulator.amazonses.com` with an
    /// out-of-the-office auto-reply: here one that says it is back in five
    /// days, to the message's `Reply-To` (else its sender), quoting its
    /// Message-ID, received on the reply domain as SES would receive it.
    async fn auto_reply(&self, raw: &[u8], from: &str, to: &str) {
        if !to.eq_ignore_ascii_case("ooto@simulator.amazonses.com") {
            return;
        }
        let Some(receiving) = self.receiving.get() else {
            return;
        };
        let Some(headers) = MessageParser::default().parse_headers(raw) else {
            return;
        };
        let reply_to = headers
            .reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or(from)
            .to_string();
        let message_id = headers.message_id().map(|id| format!("<{id}>")).unwrap_or_default();
        let subject = headers.subject().unwrap_or_default().to_string();
        let now = self.clock.now();
        let back = (now + TimeDelta::days(5)).format("%-d %B").to_string();
        let auto_reply = format!(
            "From: Out of Office <ooto@simulator.amazonses.com>\r\nTo: {reply_to}\r\n\
             Subject: Automatic reply: {subject}\r\nDate: {}\r\n\
             Message-ID: <{}@simulator.amazonses.com>\r\nIn-Reply-To: {message_id}\r\nReferences: {message_id}\r\n\
             Auto-Submitted: auto-replied\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Thank you for your message. I am out of the office and back on {back}.\r\n",
            now.to_rfc2822(),
            uuid::Uuid::new_v4().simple()
        );
        if let Err(err) = receiving.receive(auto_reply.into_bytes(), now).await {
            tracing::warn!(error = %err, "the SES simulator could not send its auto-reply");
        }
    }

    /// A person opens the email (SES's pixel loads).
    pub async fn open(&self, email_id: &str) -> Result<DateTime<Utc>, SimulateError> {
        let message = self.sent(email_id).ok_or(SimulateError::UnknownEmail)?;
        let delivered_at = message.delivered_at.ok_or(SimulateError::NotDelivered)?;
        if !message.has_html {
            return Err(SimulateError::NotTracked(
                "the email has no HTML part: SES inserts its open pixel in HTML only".into(),
            ));
        }
        if !message.publishes("open") {
            return Err(SimulateError::NotTracked(format!(
                "the campaign does not track opens: the email went through the configuration set {}, \
                 which publishes no Open events, so SES inserted no open pixel",
                message.configuration_set.as_deref().unwrap_or("(none)")
            )));
        }
        let at = self.clock.now().max(delivered_at + READ_AFTER_DELIVERY);
        let open = event(
            "Open",
            "open",
            &message.mail,
            json!({"ipAddress": READER_IP, "timestamp": stamp(at), "userAgent": BROWSER}),
        );
        self.publish(&message.destinations, &open)
            .await
            .map_err(SimulateError::Publish)?;
        Ok(at)
    }

    /// A person clicks `link` in the email (SES's redirect is followed).
    pub async fn click(&self, email_id: &str, link: &str) -> Result<DateTime<Utc>, SimulateError> {
        let message = self.sent(email_id).ok_or(SimulateError::UnknownEmail)?;
        let delivered_at = message.delivered_at.ok_or(SimulateError::NotDelivered)?;
        if !message.publishes("click") {
            return Err(SimulateError::NotTracked(format!(
                "the campaign does not track clicks: the email went through the configuration set {}, \
                 which publishes no Click events, so SES rewrote no link",
                message.configuration_set.as_deref().unwrap_or("(none)")
            )));
        }
        let matching: Vec<&HtmlLink> = message.links.iter().filter(|l| l.href == link.trim()).collect();
        if matching.is_empty() {
            let known = message.links.len();
            return Err(SimulateError::NotALink(format!(
                "not a link of the email's HTML part (it has {known} link{}); SES tracks links in the HTML part only",
                if known == 1 { "" } else { "s" }
            )));
        }
        if matching.iter().all(|l| !l.tracked) {
            return Err(SimulateError::NotTracked(format!(
                "the link carries {}: the campaign does not track clicks (or it is the unsubscribe link), \
                 so SES did not rewrite it",
                tracking::NO_TRACK
            )));
        }
        let at = self.clock.now().max(delivered_at + READ_AFTER_DELIVERY);
        let click = event(
            "Click",
            "click",
            &message.mail,
            json!({"ipAddress": READER_IP, "timestamp": stamp(at), "userAgent": BROWSER,
                   "link": link.trim(), "linkTags": {}}),
        );
        self.publish(&message.destinations, &click)
            .await
            .map_err(SimulateError::Publish)?;
        Ok(at)
    }
}

#[async_trait]
impl MailSender for SimulatedSes {
    async fn send_raw(&self, message: RawSend<'_>) -> Result<String, SendError> {
        // SES refuses a send that names a set it does not have.
        let destinations = match &message.configuration_set {
            Some(set) => self.destinations(set).await?,
            None => Vec::new(),
        };
        let from = message.from.as_str().to_string();
        let to = message.to.as_str().to_string();
        let tags = message.tags.to_vec();
        let configuration_set = message.configuration_set.clone();
        let html = html_part(message.raw);
        let raw = message.raw.to_vec();
        let id = self.inner.send_raw(message).await?;
        let sent_at = self.clock.now();
        let mail = mail_object(&id, &from, &to, &tags, configuration_set.as_deref(), sent_at);
        let (events, delivered_at) = simulated_events(&mail, &to, sent_at);
        let sent = SentMessage {
            ses_message_id: id.clone(),
            mail,
            configuration_set,
            destinations,
            has_html: html.is_some(),
            links: html.as_deref().map(tracking::html_links).unwrap_or_default(),
            delivered_at,
        };
        if let Some((_, email_id)) = tags.iter().find(|(name, _)| *name == "email_id") {
            self.sent
                .lock()
                .expect("not poisoned")
                .insert(email_id.clone(), sent.clone());
        }
        for event in events {
            // The message was sent: a lost event is logged, not turned into a failed send.
            if let Err(err) = self.publish(&sent.destinations, &event).await {
                tracing::warn!(error = %err, "the SES simulator could not publish an event");
            }
        }
        self.auto_reply(&raw, &from, &to).await;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cc_domain::email::EmailAddress;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn kinds(to: &str) -> (Vec<String>, Option<DateTime<Utc>>) {
        let sent_at = at("2026-03-02T09:00:00Z");
        let mail = mail_object(
            "ses-1",
            "sam@acme.example",
            to,
            &[("email_id", "e-1".into())],
            Some("cc-dev-t"),
            sent_at,
        );
        let (events, delivered) = simulated_events(&mail, to, sent_at);
        for event in &events {
            cc_domain::ses_event::SesEvent::from_json(&event.to_string()).expect("the domain decodes it");
            assert_eq!(event["mail"]["tags"]["email_id"], json!(["e-1"]));
            assert_eq!(event["mail"]["tags"]["ses:configuration-set"], json!(["cc-dev-t"]));
        }
        let kinds = events
            .iter()
            .map(|e| e["eventType"].as_str().unwrap().to_string())
            .collect();
        (kinds, delivered)
    }

    #[test]
    fn each_mailbox_simulator_address_gives_what_ses_gives() {
        let delivered = Some(at("2026-03-02T09:00:01Z"));
        assert_eq!(
            kinds("success@simulator.amazonses.com"),
            (vec!["Send".into(), "Delivery".into()], delivered)
        );
        assert_eq!(
            kinds("ooto@simulator.amazonses.com"),
            (vec!["Send".into(), "Delivery".into()], delivered)
        );
        assert_eq!(
            kinds("ann@prospect.io"),
            (vec!["Send".into(), "Delivery".into()], delivered)
        );
        assert_eq!(
            kinds("bounce@simulator.amazonses.com"),
            (vec!["Send".into(), "Bounce".into()], None)
        );
        assert_eq!(
            kinds("complaint@simulator.amazonses.com"),
            (vec!["Send".into(), "Delivery".into(), "Complaint".into()], delivered)
        );
        let sent_at = at("2026-03-02T09:00:00Z");
        let to = "SuppressionList@simulator.amazonses.com";
        let (events, delivered) = simulated_events(&mail_object("s", "a@b.c", to, &[], None, sent_at), to, sent_at);
        assert_eq!(delivered, None);
        assert_eq!(events[1]["bounce"]["bounceType"], "Permanent");
        assert_eq!(events[1]["bounce"]["bounceSubType"], "OnAccountSuppressionList");
    }

    #[test]
    fn event_types_are_named_as_destinations_list_them() {
        assert_eq!(api_event_type("Open"), "open");
        assert_eq!(api_event_type("DeliveryDelay"), "deliveryDelay");
        let destination = Destination {
            topic_arn: "arn".into(),
            event_types: vec!["send".into(), "renderingFailure".into()],
        };
        assert!(destination.takes("send") && destination.takes("renderingfailure") && !destination.takes("open"));
    }

    #[test]
    fn the_html_part_is_read_through_its_transfer_encoding() {
        let message = cc_domain::message::OutboundMessage {
            from: cc_domain::message::Mailbox::new(None, EmailAddress::parse("sam@acme.example").unwrap()),
            to: cc_domain::message::Mailbox::new(None, EmailAddress::parse("ann@prospect.io").unwrap()),
            reply_to: None,
            subject: "Hi".into(),
            text: Some("Hello".into()),
            html: Some(format!(
                "<p>{} <a ses:no-track href=\"https://acme.example/a?b=1&amp;c=2\">x</a></p>",
                "long line ".repeat(20)
            )),
            message_id: "<1@acme.example>".into(),
            in_reply_to: None,
            references: Vec::new(),
            list_unsubscribe_url: "https://api.example/v1/u/tok".into(),
            list_unsubscribe_mailto: None,
            postal_address: None,
            headers: Vec::new(),
        };
        let raw = message.to_rfc5322(at("2026-03-02T09:00:00Z"));
        let html = html_part(&raw).expect("an HTML part");
        let links = tracking::html_links(&html);
        assert_eq!(links.len(), 2, "{html}");
        assert_eq!(links[0].href, "https://acme.example/a?b=1&c=2");
        assert!(links.iter().all(|l| !l.tracked));
        let text_only = cc_domain::message::OutboundMessage { html: None, ..message };
        assert_eq!(html_part(&text_only.to_rfc5322(at("2026-03-02T09:00:00Z"))), None);
    }
}
