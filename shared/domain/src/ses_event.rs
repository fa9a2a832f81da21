//! Amazon SES event publishing records as they reach the `ses-events` queue:
//! SES → SNS → SQS. With raw message delivery off the SQS body is an SNS
//! notification whose `Message` holds the SES JSON as a string; with it on, the
//! body is the SES JSON itself. [`decode_sqs_body`] accepts both.
//!
//! The types follow the SES Developer Guide ("Contents of event data that
//! Amazon SES publishes to Amazon SNS") and also read the older feedback
//! notification format (`notificationType` instead of `eventType`). Unknown
//! fields are ignored and enums keep values they do not know, so a field or
//! value AWS adds later never fails decoding. Addresses and texts that may
//! quote them are kept out of `Debug` output and out of [`SesEventError`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// Declares a string enum that maps unknown values to `Other(value)` instead of
/// failing, so a value AWS adds later still decodes.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident = $text:literal $(| $alias:literal)* , )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$variant_meta])* $variant, )*
            /// A value this code does not know yet, kept as AWS sent it.
            Other(String),
        }

        impl $name {
            /// The value as AWS spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $text, )*
                    Self::Other(text) => text,
                }
            }

            pub fn from_aws(text: &str) -> Self {
                match text {
                    $( $text $(| $alias)* => Self::$variant, )*
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Ok(Self::from_aws(&text))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
    };
}

open_enum! {
    /// The `eventType` (or, in the older format, `notificationType`) of a record.
    pub enum SesEventType {
        Send = "Send",
        Reject = "Reject",
        Bounce = "Bounce",
        Complaint = "Complaint",
        Delivery = "Delivery",
        Open = "Open",
        Click = "Click",
        // The guide spells it with a space; the API's event-type name has none.
        RenderingFailure = "Rendering Failure" | "RenderingFailure",
        DeliveryDelay = "DeliveryDelay",
        Subscription = "Subscription",
    }
}

open_enum! {
    /// `bounce.bounceType`.
    pub enum BounceType {
        /// Hard bounce: never send to the address again.
        Permanent = "Permanent",
        /// Soft bounce that SES stopped retrying.
        Transient = "Transient",
        Undetermined = "Undetermined",
    }
}

open_enum! {
    /// `bounce.bounceSubType`.
    pub enum BounceSubType {
        Undetermined = "Undetermined",
        General = "General",
        NoEmail = "NoEmail",
        /// On the SES global suppression list.
        Suppressed = "Suppressed",
        /// On the account-level suppression list; does not count toward the bounce rate.
        OnAccountSuppressionList = "OnAccountSuppressionList",
        MailboxFull = "MailboxFull",
        MessageTooLarge = "MessageTooLarge",
        ContentRejected = "ContentRejected",
        AttachmentRejected = "AttachmentRejected",
    }
}

open_enum! {
    /// `complaint.complaintFeedbackType`, as the reporting ISP assigns it (IANA MARF types).
    pub enum ComplaintFeedbackType {
        Abuse = "abuse",
        AuthFailure = "auth-failure",
        Fraud = "fraud",
        NotSpam = "not-spam",
        /// The registered type `other` (an unregistered value is `Other(..)`).
        OtherFeedback = "other",
        Virus = "virus",
    }
}

open_enum! {
    /// `deliveryDelay.delayType`.
    pub enum DelayType {
        InternalFailure = "InternalFailure",
        General = "General",
        MailboxFull = "MailboxFull",
        SpamDetected = "SpamDetected",
        RecipientServerError = "RecipientServerError",
        IpFailure = "IPFailure",
        TransientCommunicationFailure = "TransientCommunicationFailure",
        ByoipHostNameLookupUnavailable = "BYOIPHostNameLookupUnavailable",
        Undetermined = "Undetermined",
        SendingDeferral = "SendingDeferral",
    }
}

open_enum! {
    /// A topic's status in a subscription event.
    pub enum SubscriptionStatus {
        OptIn = "OptIn",
        OptOut = "OptOut",
    }
}

/// An address as SES reports it: not validated (a DSN's `Final-Recipient`, or
/// `Name <addr>` for a source). Personal data, so `Debug` shows only the domain.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportedAddress(String);

impl ReportedAddress {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address validated as the rest of the domain stores addresses.
    pub fn to_email_address(&self) -> Result<crate::email::EmailAddress, crate::email::EmailError> {
        crate::email::EmailAddress::parse(&self.0)
    }
}

impl fmt::Debug for ReportedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let domain = self
            .0
            .rsplit_once('@')
            .map(|(_, domain)| domain.trim_end_matches('>'))
            .unwrap_or("");
        write!(f, "ReportedAddress(<redacted>@{domain})")
    }
}

/// Free text from SES that may quote an address or a name (a diagnostic code,
/// an SMTP response, a subject line); `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonalText(String);

impl PersonalText {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PersonalText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonalText(<{} bytes>)", self.0.len())
    }
}

/// The SNS notification that carries an SES record in an SQS body (raw message
/// delivery off). Signature fields are not read: SQS, not the public internet,
/// delivers it, and the queue policy only admits the topic.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnsEnvelope {
    /// `Notification` for published messages; `SubscriptionConfirmation` and
    /// `UnsubscribeConfirmation` carry no SES record.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Unique per published message and kept across redeliveries: the idempotency key.
    pub message_id: String,
    #[serde(default)]
    pub topic_arn: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    /// The SES record, as a JSON string.
    pub message: String,
    #[serde(default)]
    pub timestamp: Option<DateTime<Utc>>,
}

/// One decoded SQS body.
#[derive(Debug, Clone, PartialEq)]
pub struct SesEventRecord {
    /// The SNS `MessageId`; absent with raw message delivery, where the caller
    /// has to key on something else (e.g. the SES message id and event type).
    pub sns_message_id: Option<String>,
    pub event: SesEvent,
}

/// One SES event publishing record.
#[derive(Debug, Clone, PartialEq)]
pub struct SesEvent {
    pub event_type: SesEventType,
    pub mail: Mail,
    pub detail: SesEventDetail,
}

/// The event-specific part of a record, one variant per `eventType`.
#[derive(Debug, Clone, PartialEq)]
pub enum SesEventDetail {
    /// `send` is always an empty object.
    Send,
    Reject(Reject),
    Bounce(Bounce),
    Complaint(Complaint),
    Delivery(Delivery),
    Open(Open),
    Click(Click),
    RenderingFailure(RenderingFailure),
    DeliveryDelay(DeliveryDelay),
    Subscription(Subscription),
    /// An event type this code does not know yet; only `mail` was read.
    Unknown,
}

impl SesEvent {
    /// Decodes a bare SES record (the SNS `Message`, or a raw-delivery SQS body).
    pub fn from_json(json: &str) -> Result<Self, SesEventError> {
        let raw: RawSesEvent = decode_str(json, Layer::SesEvent)?;
        raw.into_event()
    }

    /// The first value of a message tag the sender set (`tenant_id`,
    /// `campaign_id`, `lead_id`, `step`, `email_id`) or SES added (`ses:…`).
    pub fn tag(&self, name: &str) -> Option<&str> {
        self.mail.tags.get(name)?.first().map(String::as_str)
    }

    /// The id SES gave the message when it was sent.
    pub fn ses_message_id(&self) -> &str {
        &self.mail.message_id
    }

    /// When the event happened: the event's own timestamp, else (send, reject,
    /// rendering failure) when the message was sent.
    pub fn occurred_at(&self) -> DateTime<Utc> {
        let own = match &self.detail {
            SesEventDetail::Bounce(bounce) => Some(bounce.timestamp),
            SesEventDetail::Complaint(complaint) => Some(complaint.timestamp),
            SesEventDetail::Delivery(delivery) => Some(delivery.timestamp),
            SesEventDetail::Open(open) => Some(open.timestamp),
            SesEventDetail::Click(click) => Some(click.timestamp),
            SesEventDetail::DeliveryDelay(delay) => Some(delay.timestamp),
            SesEventDetail::Subscription(subscription) => Some(subscription.timestamp),
            SesEventDetail::Send
            | SesEventDetail::Reject(_)
            | SesEventDetail::RenderingFailure(_)
            | SesEventDetail::Unknown => None,
        };
        own.unwrap_or(self.mail.timestamp)
    }
}

/// The `mail` object: the message the event is about.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mail {
    /// When the message was sent.
    pub timestamp: DateTime<Utc>,
    pub message_id: String,
    /// The envelope MAIL FROM.
    #[serde(default)]
    pub source: Option<ReportedAddress>,
    #[serde(default)]
    pub source_arn: Option<String>,
    #[serde(default)]
    pub sending_account_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub destination: Vec<ReportedAddress>,
    #[serde(default)]
    pub headers_truncated: Option<bool>,
    /// Message tags: name → values. Absent with feedback notifications set on the identity.
    #[serde(default, deserialize_with = "null_as_default")]
    pub tags: BTreeMap<String, Vec<String>>,
    /// Only when the destination is configured to include original headers.
    #[serde(default)]
    pub common_headers: Option<CommonHeaders>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommonHeaders {
    #[serde(default, deserialize_with = "null_as_default")]
    pub from: Vec<ReportedAddress>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub to: Vec<ReportedAddress>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cc: Vec<ReportedAddress>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub bcc: Vec<ReportedAddress>,
    /// The `Message-ID` header we wrote (not the SES message id).
    #[serde(default)]
    pub message_id: Option<String>,
    #[serde(default)]
    pub subject: Option<PersonalText>,
    #[serde(default)]
    pub date: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bounce {
    pub bounce_type: BounceType,
    #[serde(default)]
    pub bounce_sub_type: Option<BounceSubType>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub bounced_recipients: Vec<BouncedRecipient>,
    /// When the ISP sent the bounce.
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub feedback_id: Option<String>,
    /// Only when a DSN was attached.
    #[serde(default, rename = "reportingMTA")]
    pub reporting_mta: Option<String>,
    #[serde(default)]
    pub remote_mta_ip: Option<String>,
}

/// A bounced recipient; `action`, `status` and `diagnosticCode` come from a DSN when there is one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BouncedRecipient {
    pub email_address: ReportedAddress,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub diagnostic_code: Option<PersonalText>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Complaint {
    /// Every recipient at the complaining domain: most ISPs redact who complained.
    #[serde(default, deserialize_with = "null_as_default")]
    pub complained_recipients: Vec<RecipientRef>,
    /// When the ISP sent the complaint.
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub feedback_id: Option<String>,
    /// `null`, or `OnAccountSuppressionList` when SES did not send at all.
    #[serde(default)]
    pub complaint_sub_type: Option<String>,
    /// The fields below come from a feedback report, when one was attached.
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub complaint_feedback_type: Option<ComplaintFeedbackType>,
    /// Read leniently: an ISP's odd date should not lose the complaint.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub arrival_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecipientRef {
    pub email_address: ReportedAddress,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// When SES handed the message to the recipient's server.
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub processing_time_millis: Option<u64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub recipients: Vec<ReportedAddress>,
    #[serde(default)]
    pub smtp_response: Option<PersonalText>,
    #[serde(default, rename = "reportingMTA")]
    pub reporting_mta: Option<String>,
    #[serde(default)]
    pub remote_mta_ip: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reject {
    /// Only ever `Bad content` (a virus) so far.
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Open {
    #[serde(default)]
    pub ip_address: Option<String>,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub user_agent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Click {
    #[serde(default)]
    pub ip_address: Option<String>,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub user_agent: Option<String>,
    /// The original URL, before SES's tracking redirect.
    pub link: String,
    /// Tags set on the link with `ses:tags`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub link_tags: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderingFailure {
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub template_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryDelay {
    pub delay_type: DelayType,
    /// When SES gives up retrying; read leniently since nothing decides on it.
    #[serde(default, deserialize_with = "lenient_timestamp")]
    pub expiration_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub delayed_recipients: Vec<DelayedRecipient>,
    #[serde(default, rename = "reportingMTA")]
    pub reporting_mta: Option<String>,
    /// When the delay occurred.
    pub timestamp: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DelayedRecipient {
    pub email_address: ReportedAddress,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub diagnostic_code: Option<PersonalText>,
}

/// A recipient changed their preferences through SES subscription management.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    #[serde(default)]
    pub contact_list: Option<String>,
    pub timestamp: DateTime<Utc>,
    /// How the change was made, e.g. `UnsubscribeHeader`.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub new_topic_preferences: Option<TopicPreferences>,
    #[serde(default)]
    pub old_topic_preferences: Option<TopicPreferences>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicPreferences {
    #[serde(default)]
    pub unsubscribe_all: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    pub topic_subscription_status: Vec<TopicStatus>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub topic_default_subscription_status: Vec<TopicStatus>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicStatus {
    pub topic_name: String,
    pub subscription_status: SubscriptionStatus,
}

/// The record as it is on the wire: every payload optional, checked against
/// the event type afterwards.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSesEvent {
    #[serde(alias = "notificationType")]
    event_type: SesEventType,
    // Optional here so its absence is reported as such (SES's own
    // `AmazonSnsSubscriptionSucceeded` notice has no `mail`).
    #[serde(default)]
    mail: Option<Mail>,
    #[serde(default)]
    reject: Option<Reject>,
    #[serde(default)]
    bounce: Option<Bounce>,
    #[serde(default)]
    complaint: Option<Complaint>,
    #[serde(default)]
    delivery: Option<Delivery>,
    #[serde(default)]
    open: Option<Open>,
    #[serde(default)]
    click: Option<Click>,
    #[serde(default)]
    failure: Option<RenderingFailure>,
    #[serde(default)]
    delivery_delay: Option<DeliveryDelay>,
    #[serde(default)]
    subscription: Option<Subscription>,
}

impl RawSesEvent {
    fn into_event(self) -> Result<SesEvent, SesEventError> {
        let missing = |field: &'static str| SesEventError::MissingObject {
            event_type: safe_token(self.event_type.as_str()),
            field,
        };
        let mail = self.mail.ok_or_else(|| missing("mail"))?;
        // Payloads without a required field (send, reject, failure) may be
        // absent; the others carry what the event means.
        let detail = match &self.event_type {
            SesEventType::Send => SesEventDetail::Send,
            SesEventType::Reject => SesEventDetail::Reject(self.reject.unwrap_or_default()),
            SesEventType::RenderingFailure => SesEventDetail::RenderingFailure(self.failure.unwrap_or_default()),
            SesEventType::Bounce => SesEventDetail::Bounce(self.bounce.ok_or_else(|| missing("bounce"))?),
            SesEventType::Complaint => SesEventDetail::Complaint(self.complaint.ok_or_else(|| missing("complaint"))?),
            SesEventType::Delivery => SesEventDetail::Delivery(self.delivery.ok_or_else(|| missing("delivery"))?),
            SesEventType::Open => SesEventDetail::Open(self.open.ok_or_else(|| missing("open"))?),
            SesEventType::Click => SesEventDetail::Click(self.click.ok_or_else(|| missing("click"))?),
            SesEventType::DeliveryDelay => {
                SesEventDetail::DeliveryDelay(self.delivery_delay.ok_or_else(|| missing("deliveryDelay"))?)
            }
            SesEventType::Subscription => {
                SesEventDetail::Subscription(self.subscription.ok_or_else(|| missing("subscription"))?)
            }
            SesEventType::Other(_) => SesEventDetail::Unknown,
        };
        Ok(SesEvent {
            event_type: self.event_type,
            mail,
            detail,
        })
    }
}

/// Decodes one SQS body of the `ses-events` queue: an SNS notification (raw
/// message delivery off) or a bare SES record (raw message delivery on).
pub fn decode_sqs_body(body: &str) -> Result<SesEventRecord, SesEventError> {
    let value: Value = serde_json::from_str(body).map_err(|error| not_json(&error, Layer::SqsBody))?;
    let Some(object) = value.as_object() else {
        return Err(SesEventError::NotAnObject { layer: Layer::SqsBody });
    };
    // SNS keys are PascalCase and SES keys camelCase, so the two never collide.
    if object.contains_key("Type") || object.contains_key("Message") {
        let envelope: SnsEnvelope = decode_value(value, Layer::SnsEnvelope)?;
        if envelope.kind != "Notification" {
            return Err(SesEventError::NotANotification {
                kind: safe_token(&envelope.kind),
            });
        }
        let event = SesEvent::from_json(&envelope.message)?;
        return Ok(SesEventRecord {
            sns_message_id: Some(envelope.message_id),
            event,
        });
    }
    if object.contains_key("eventType") || object.contains_key("notificationType") {
        let raw: RawSesEvent = decode_value(value, Layer::SesEvent)?;
        return Ok(SesEventRecord {
            sns_message_id: None,
            event: raw.into_event()?,
        });
    }
    Err(SesEventError::Unrecognised)
}

/// Which layer of the body an error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    SqsBody,
    SnsEnvelope,
    SesEvent,
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layer::SqsBody => "SQS body",
            Layer::SnsEnvelope => "SNS envelope",
            Layer::SesEvent => "SES event",
        })
    }
}

/// What is wrong with a value, without the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShapeProblem {
    MissingField(String),
    WrongType,
    InvalidValue,
    Unreadable,
}

impl fmt::Display for ShapeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShapeProblem::MissingField(field) => write!(f, "lacks the required field `{field}`"),
            ShapeProblem::WrongType => f.write_str("holds a value of the wrong type"),
            ShapeProblem::InvalidValue => f.write_str("holds an invalid value"),
            ShapeProblem::Unreadable => f.write_str("cannot be read"),
        }
    }
}

/// Why a body could not be decoded. Never quotes the body: it holds addresses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SesEventError {
    #[error("the {layer} is not valid JSON (line {line}, column {column})")]
    NotJson { layer: Layer, line: usize, column: usize },
    #[error("the {layer} is not a JSON object")]
    NotAnObject { layer: Layer },
    #[error(
        "the SQS body is neither an SNS notification nor an SES event (no `Type`, `eventType` or `notificationType`)"
    )]
    Unrecognised,
    /// A subscription or unsubscribe confirmation, not a published message.
    #[error("the SNS message is a `{kind}`, not a `Notification`")]
    NotANotification { kind: String },
    #[error("the {layer} at `{path}` {problem}")]
    Shape {
        layer: Layer,
        path: String,
        problem: ShapeProblem,
    },
    #[error("the `{event_type}` event has no `{field}` object")]
    MissingObject { event_type: String, field: &'static str },
}

fn not_json(error: &serde_json::Error, layer: Layer) -> SesEventError {
    if error.is_syntax() || error.is_eof() || error.is_io() {
        SesEventError::NotJson {
            layer,
            line: error.line(),
            column: error.column(),
        }
    } else {
        // From a string, only nesting too deep lands here.
        SesEventError::Shape {
            layer,
            path: "/".into(),
            problem: ShapeProblem::Unreadable,
        }
    }
}

fn decode_str<T: serde::de::DeserializeOwned>(json: &str, layer: Layer) -> Result<T, SesEventError> {
    // Tracking the path costs a copy of every key, so only a failure pays it.
    match serde_json::from_str(json) {
        Ok(decoded) => Ok(decoded),
        Err(error) if error.is_data() => {
            let mut deserializer = serde_json::Deserializer::from_str(json);
            match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
                Ok(decoded) => Ok(decoded),
                Err(tracked) => Err(shape_error(&tracked, layer)),
            }
        }
        Err(error) => Err(not_json(&error, layer)),
    }
}

fn decode_value<T: serde::de::DeserializeOwned>(value: Value, layer: Layer) -> Result<T, SesEventError> {
    if let Ok(decoded) = T::deserialize(&value) {
        return Ok(decoded);
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|tracked| shape_error(&tracked, layer))
}

fn shape_error(tracked: &serde_path_to_error::Error<serde_json::Error>, layer: Layer) -> SesEventError {
    use serde_path_to_error::Segment;
    let mut path = String::new();
    for segment in tracked.path().iter() {
        match segment {
            Segment::Seq { index } => path.push_str(&format!("/{index}")),
            // Map keys name struct fields but also tags, whose names are the
            // sender's; an address-like key is masked all the same.
            Segment::Map { key } | Segment::Enum { variant: key } => {
                path.push('/');
                path.push_str(&safe_token(key));
            }
            Segment::Unknown => path.push_str("/?"),
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    SesEventError::Shape {
        layer,
        path,
        problem: shape_problem(tracked.inner()),
    }
}

/// Classifies a serde message; only a missing field's name is kept, since the
/// other messages quote the offending value.
fn shape_problem(error: &serde_json::Error) -> ShapeProblem {
    if !error.is_data() {
        return ShapeProblem::Unreadable;
    }
    let message = error.to_string();
    if let Some(rest) = message.strip_prefix("missing field `")
        && let Some((field, _)) = rest.split_once('`')
    {
        return ShapeProblem::MissingField(safe_token(field));
    }
    if message.starts_with("invalid type") {
        ShapeProblem::WrongType
    } else {
        ShapeProblem::InvalidValue
    }
}

/// Keeps a name from the body only if it cannot be an address or free text.
fn safe_token(text: &str) -> String {
    let harmless = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':' | ' ');
    if !text.is_empty() && text.len() <= 64 && text.chars().all(harmless) {
        text.to_owned()
    } else {
        "?".to_owned()
    }
}

/// `null` reads as the empty collection, as an absent field does.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A timestamp nothing decides on: anything but RFC 3339 text reads as absent.
fn lenient_timestamp<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(value
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map(|moment| moment.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // The example records of the SES Developer Guide ("Examples of event data
    // that Amazon SES publishes to Amazon SNS"), header lists shortened.
    const BOUNCE: &str = r#"{
      "eventType":"Bounce",
      "bounce":{
        "bounceType":"Permanent",
        "bounceSubType":"General",
        "bouncedRecipients":[
          {
            "emailAddress":"recipient@example.com",
            "action":"failed",
            "status":"5.1.1",
            "diagnosticCode":"smtp; 550 5.1.1 user unknown"
          }
        ],
        "timestamp":"2017-08-05T00:41:02.669Z",
        "feedbackId":"01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "reportingMTA":"dsn; mta.example.com"
      },
      "mail":{
        "timestamp":"2017-08-05T00:40:02.012Z",
        "source":"Sender Name <sender@example.com>",
        "sourceArn":"arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId":"123456789012",
        "messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination":["recipient@example.com"],
        "headersTruncated":false,
        "headers":[
          {"name":"From","value":"Sender Name <sender@example.com>"},
          {"name":"Content-Type","value":"multipart/alternative; boundary=\"----=_Part_7307378_1629847660.1516840721503\""}
        ],
        "commonHeaders":{
          "from":["Sender Name <sender@example.com>"],
          "to":["recipient@example.com"],
          "messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
          "subject":"Message sent from Amazon SES"
        },
        "tags":{
          "ses:configuration-set":["ConfigSet"],
          "ses:source-ip":["192.0.2.0"],
          "ses:from-domain":["example.com"],
          "ses:caller-identity":["ses_user"]
        }
      }
    }"#;

    const COMPLAINT: &str = r#"{
      "eventType":"Complaint",
      "complaint": {
        "complainedRecipients":[{"emailAddress":"recipient@example.com"}],
        "timestamp":"2017-08-05T00:41:02.669Z",
        "feedbackId":"01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000",
        "userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.90 Safari/537.36",
        "complaintFeedbackType":"abuse",
        "arrivalDate":"2017-08-05T00:41:02.669Z"
      },
      "mail":{
        "timestamp":"2017-08-05T00:40:01.123Z",
        "source":"Sender Name <sender@example.com>",
        "sourceArn":"arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId":"123456789012",
        "messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination":["recipient@example.com"],
        "headersTruncated":false,
        "headers":[{"name":"From","value":"Sender Name <sender@example.com>"}],
        "commonHeaders":{
          "from":["Sender Name <sender@example.com>"],
          "to":["recipient@example.com"],
          "messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
          "subject":"Message sent from Amazon SES"
        },
        "tags":{
          "ses:configuration-set":["ConfigSet"],
          "ses:source-ip":["192.0.2.0"],
          "ses:from-domain":["example.com"],
          "ses:caller-identity":["ses_user"]
        }
      }
    }"#;

    const DELIVERY: &str = r#"{
      "eventType": "Delivery",
      "mail": {
        "timestamp": "2016-10-19T23:20:52.240Z",
        "source": "sender@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId": "123456789012",
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination": ["recipient@example.com"],
        "headersTruncated": false,
        "headers": [
          {"name": "From", "value": "sender@example.com"},
          {"name": "Content-Transfer-Encoding", "value": "7bit"}
        ],
        "commonHeaders": {
          "from": ["sender@example.com"],
          "to": ["recipient@example.com"],
          "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
          "subject": "Message sent from Amazon SES"
        },
        "tags": {
          "ses:configuration-set": ["ConfigSet"],
          "ses:source-ip": ["192.0.2.0"],
          "ses:from-domain": ["example.com"],
          "ses:caller-identity": ["ses_user"],
          "ses:outgoing-ip": ["192.0.2.0"],
          "myCustomTag1": ["myCustomTagValue1"],
          "myCustomTag2": ["myCustomTagValue2"]
        }
      },
      "delivery": {
        "timestamp": "2016-10-19T23:21:04.133Z",
        "processingTimeMillis": 11893,
        "recipients": ["recipient@example.com"],
        "smtpResponse": "250 2.6.0 Message received",
        "reportingMTA": "mta.example.com"
      }
    }"#;

    const SEND: &str = r#"{
      "eventType": "Send",
      "mail": {
        "timestamp": "2016-10-14T05:02:16.645Z",
        "source": "sender@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId": "123456789012",
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination": ["recipient@example.com"],
        "headersTruncated": false,
        "headers": [
          {"name": "From", "value": "sender@example.com"},
          {"name": "X-SES-MESSAGE-TAGS", "value": "myCustomTag1=myCustomTagValue1, myCustomTag2=myCustomTagValue2"}
        ],
        "commonHeaders": {
          "from": ["sender@example.com"],
          "to": ["recipient@example.com"],
          "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
          "subject": "Message sent from Amazon SES"
        },
        "tags": {
          "ses:configuration-set": ["ConfigSet"],
          "ses:source-ip": ["192.0.2.0"],
          "ses:from-domain": ["example.com"],
          "ses:caller-identity": ["ses_user"],
          "myCustomTag1": ["myCustomTagValue1"],
          "myCustomTag2": ["myCustomTagValue2"]
        }
      },
      "send": {}
    }"#;

    const REJECT: &str = r#"{
      "eventType": "Reject",
      "mail": {
        "timestamp": "2016-10-14T17:38:15.211Z",
        "source": "sender@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId": "123456789012",
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination": ["sender@example.com"],
        "headersTruncated": false,
        "headers": [
          {"name": "Content-Type", "value": "multipart/mixed; boundary=\"qMm9M+Fa2AknHoGS\""}
        ],
        "commonHeaders": {
          "from": ["sender@example.com"],
          "to": ["recipient@example.com"],
          "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
          "subject": "Message sent from Amazon SES"
        },
        "tags": {
          "ses:configuration-set": ["ConfigSet"],
          "ses:source-ip": ["192.0.2.0"],
          "ses:from-domain": ["example.com"],
          "ses:caller-identity": ["ses_user"],
          "myCustomTag1": ["myCustomTagValue1"],
          "myCustomTag2": ["myCustomTagValue2"]
        }
      },
      "reject": {
        "reason": "Bad content"
      }
    }"#;

    const OPEN: &str = r#"{
      "eventType": "Open",
      "mail": {
        "commonHeaders": {
          "from": ["sender@example.com"],
          "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
          "subject": "Message sent from Amazon SES",
          "to": ["recipient@example.com"]
        },
        "destination": ["recipient@example.com"],
        "headers": [
          {"name": "X-SES-CONFIGURATION-SET", "value": "ConfigSet"},
          {"name": "Content-Type", "value": "multipart/alternative; boundary=\"XBoundary\""}
        ],
        "headersTruncated": false,
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "sendingAccountId": "123456789012",
        "source": "sender@example.com",
        "tags": {
          "myCustomTag1":["myCustomValue1"],
          "myCustomTag2":["myCustomValue2"],
          "ses:caller-identity": ["ses-user"],
          "ses:configuration-set": ["ConfigSet"],
          "ses:from-domain": ["example.com"],
          "ses:source-ip": ["192.0.2.0"]
        },
        "timestamp": "2017-08-09T21:59:49.927Z"
      },
      "open": {
        "ipAddress": "192.0.2.1",
        "timestamp": "2017-08-09T22:00:19.652Z",
        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 10_3_3 like Mac OS X) AppleWebKit/603.3.8 (KHTML, like Gecko) Mobile/14G60"
      }
    }"#;

    const CLICK: &str = r#"{
      "eventType": "Click",
      "click": {
        "ipAddress": "192.0.2.1",
        "link": "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html",
        "linkTags": {
          "samplekey0": ["samplevalue0"],
          "samplekey1": ["samplevalue1"]
        },
        "timestamp": "2017-08-09T23:51:25.570Z",
        "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/60.0.3112.90 Safari/537.36"
      },
      "mail": {
        "commonHeaders": {
          "from": ["sender@example.com"],
          "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
          "subject": "Message sent from Amazon SES",
          "to": ["recipient@example.com"]
        },
        "destination": ["recipient@example.com"],
        "headers": [
          {"name": "X-SES-CONFIGURATION-SET", "value": "ConfigSet"},
          {"name": "Message-ID", "value": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"}
        ],
        "headersTruncated": false,
        "messageId": "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "sendingAccountId": "123456789012",
        "source": "sender@example.com",
        "tags": {
          "myCustomTag1":["myCustomValue1"],
          "myCustomTag2":["myCustomValue2"],
          "ses:caller-identity": ["ses_user"],
          "ses:configuration-set": ["ConfigSet"],
          "ses:from-domain": ["example.com"],
          "ses:source-ip": ["192.0.2.0"]
        },
        "timestamp": "2017-08-09T23:50:05.795Z"
      }
    }"#;

    const RENDERING_FAILURE: &str = r#"{
      "eventType":"Rendering Failure",
      "mail":{
        "timestamp":"2018-01-22T18:43:06.197Z",
        "source":"sender@example.com",
        "sourceArn":"arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId":"123456789012",
        "messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination":["recipient@example.com"],
        "headersTruncated":false,
        "tags":{"ses:configuration-set":["ConfigSet"]}
      },
      "failure":{
        "errorMessage":"Attribute 'attributeName' is not present in the rendering data.",
        "templateName":"MyTemplate"
      }
    }"#;

    const DELIVERY_DELAY: &str = r#"{
      "eventType": "DeliveryDelay",
      "mail":{
        "timestamp":"2020-06-16T00:15:40.641Z",
        "source":"sender@example.com",
        "sourceArn":"arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId":"123456789012",
        "messageId":"EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
        "destination":["recipient@example.com"],
        "headersTruncated":false,
        "tags":{"ses:configuration-set":["ConfigSet"]}
      },
      "deliveryDelay": {
        "timestamp": "2020-06-16T00:25:40.095Z",
        "delayType": "TransientCommunicationFailure",
        "expirationTime": "2020-06-16T00:25:40.914Z",
        "delayedRecipients": [{
          "emailAddress": "recipient@example.com",
          "status": "4.4.1",
          "diagnosticCode": "smtp; 421 4.4.1 Unable to connect to remote host"
        }]
      }
    }"#;

    const SUBSCRIPTION: &str = r#"{
      "eventType": "Subscription",
      "mail": {
        "timestamp": "2022-01-12T01:00:14.340Z",
        "source": "sender@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/sender@example.com",
        "sendingAccountId": "123456789012",
        "messageId": "EXAMPLEe4bccb684-777bc8de-afa7-4970-92b0-f515137b1497-000000",
        "destination": ["recipient@example.com"],
        "headersTruncated": false,
        "headers": [
          {"name": "From", "value": "sender@example.com"},
          {"name": "Content-Transfer-Encoding", "value": "7bit"}
        ],
        "commonHeaders": {
          "from": ["sender@example.com"],
          "to": ["recipient@example.com"],
          "messageId": "EXAMPLEe4bccb684-777bc8de-afa7-4970-92b0-f515137b1497-000000",
          "subject": "Message sent from Amazon SES"
        },
        "tags": {
          "ses:operation": ["SendEmail"],
          "ses:configuration-set": ["ConfigSet"],
          "ses:source-ip": ["192.0.2.0"],
          "ses:from-domain": ["example.com"],
          "ses:caller-identity": ["ses_user"],
          "myCustomTag1": ["myCustomValue1"],
          "myCustomTag2": ["myCustomValue2"]
        }
      },
      "subscription": {
        "contactList": "ContactListName",
        "timestamp": "2022-01-12T01:00:17.910Z",
        "source": "UnsubscribeHeader",
        "newTopicPreferences": {
          "unsubscribeAll": true,
          "topicSubscriptionStatus": [{"topicName": "ExampleTopicName", "subscriptionStatus": "OptOut"}]
        },
        "oldTopicPreferences": {
          "unsubscribeAll": false,
          "topicSubscriptionStatus": [{"topicName": "ExampleTopicName", "subscriptionStatus": "OptOut"}]
        }
      }
    }"#;

    // The older feedback notifications ("Amazon SNS notification examples for
    // Amazon SES"): `notificationType`, no tags, `remoteMtaIp`, `sourceIp`.
    const NOTIFICATION_BOUNCE_WITH_DSN: &str = r#"{
      "notificationType":"Bounce",
      "bounce":{
        "bounceType":"Permanent",
        "reportingMTA":"dns; email.example.com",
        "bouncedRecipients":[
          {
            "emailAddress":"jane@example.com",
            "status":"5.1.1",
            "action":"failed",
            "diagnosticCode":"smtp; 550 5.1.1 <jane@example.com>... User"
          }
        ],
        "bounceSubType":"General",
        "timestamp":"2016-01-27T14:59:38.237Z",
        "feedbackId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
        "remoteMtaIp":"127.0.2.0"
      },
      "mail":{
        "timestamp":"2016-01-27T14:59:38.237Z",
        "source":"john@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com",
        "sourceIp": "127.0.3.0",
        "sendingAccountId":"123456789012",
        "messageId":"00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
        "destination":["jane@example.com", "mary@example.com", "richard@example.com"],
        "headersTruncated":false,
        "headers":[{"name":"Message-ID", "value":"custom-message-ID"}],
        "commonHeaders":{
          "from":["John Doe <john@example.com>"],
          "date":"Wed, 27 Jan 2016 14:05:45 +0000",
          "to":["Jane Doe <jane@example.com>, Mary Doe <mary@example.com>, Richard Doe <richard@example.com>"],
          "messageId":"custom-message-ID",
          "subject":"Hello"
        }
      }
    }"#;

    const NOTIFICATION_COMPLAINT_WITHOUT_REPORT: &str = r#"{
      "notificationType":"Complaint",
      "complaint":{
        "complainedRecipients":[{"emailAddress":"richard@example.com"}],
        "timestamp":"2016-01-27T14:59:38.237Z",
        "feedbackId":"0000013786031775-fea503bc-7497-49e1-881b-a0379bb037d3-000000"
      },
      "mail":{
        "timestamp":"2016-01-27T14:59:38.237Z",
        "messageId":"0000013786031775-163e3910-53eb-4c8e-a04a-f29debf88a84-000000",
        "source":"john@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com",
        "sourceIp": "127.0.3.0",
        "sendingAccountId":"123456789012",
        "destination":["jane@example.com", "mary@example.com", "richard@example.com"]
      }
    }"#;

    // The other documented shapes of the older format: a bounce without a DSN
    // (no action, status or diagnostic; the subtype says why), a complaint
    // with a feedback report, and a bounce because the address is on the
    // account's suppression list. Written from the guide's field lists.
    const NOTIFICATION_BOUNCE_WITHOUT_DSN: &str = r#"{
      "notificationType":"Bounce",
      "bounce":{
        "bounceType":"Permanent",
        "bounceSubType":"General",
        "bouncedRecipients":[{"emailAddress":"jane@example.com"}, {"emailAddress":"richard@example.com"}],
        "timestamp":"2016-01-27T14:59:38.237Z",
        "feedbackId":"00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000",
        "remoteMtaIp":"127.0.2.0"
      },
      "mail":{
        "timestamp":"2016-01-27T14:59:38.237Z",
        "messageId":"00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
        "source":"john@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com",
        "sourceIp": "127.0.3.0",
        "sendingAccountId":"123456789012",
        "callerIdentity": "IAM_user_or_role_name",
        "destination":["jane@example.com", "mary@example.com", "richard@example.com"],
        "headersTruncated":false,
        "headers":[
          {"name":"From", "value":"\"John Doe\" <john@example.com>"},
          {"name":"To", "value":"\"Jane Doe\" <jane@example.com>, \"Mary Doe\" <mary@example.com>, \"Richard Doe\" <richard@example.com>"},
          {"name":"Message-ID", "value":"custom-message-ID"},
          {"name":"Subject", "value":"Hello"}
        ],
        "commonHeaders":{
          "from":["John Doe <john@example.com>"],
          "date":"Wed, 27 Jan 2016 14:05:45 +0000",
          "to":["Jane Doe <jane@example.com>, Mary Doe <mary@example.com>, Richard Doe <richard@example.com>"],
          "messageId":"custom-message-ID",
          "subject":"Hello"
        }
      }
    }"#;

    const NOTIFICATION_COMPLAINT_WITH_REPORT: &str = r#"{
      "notificationType":"Complaint",
      "complaint":{
        "userAgent":"AnyCompany Feedback Loop (V0.01)",
        "complainedRecipients":[{"emailAddress":"richard@example.com"}],
        "complaintFeedbackType":"abuse",
        "arrivalDate":"2016-01-27T14:59:38.237Z",
        "timestamp":"2016-01-27T14:59:38.237Z",
        "feedbackId":"000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000",
        "complaintSubType":null
      },
      "mail":{
        "timestamp":"2016-01-27T14:59:38.237Z",
        "messageId":"000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
        "source":"john@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com",
        "sourceIp": "127.0.3.0",
        "sendingAccountId":"123456789012",
        "callerIdentity": "IAM_user_or_role_name",
        "destination":["jane@example.com", "mary@example.com", "richard@example.com"],
        "headersTruncated":false,
        "headers":[{"name":"Message-ID", "value":"custom-message-ID"}],
        "commonHeaders":{
          "from":["John Doe <john@example.com>"],
          "date":"Wed, 27 Jan 2016 14:05:45 +0000",
          "to":["Jane Doe <jane@example.com>, Mary Doe <mary@example.com>, Richard Doe <richard@example.com>"],
          "messageId":"custom-message-ID",
          "subject":"Hello"
        }
      }
    }"#;

    const NOTIFICATION_BOUNCE_ON_SUPPRESSION_LIST: &str = r#"{
      "notificationType":"Bounce",
      "bounce":{
        "feedbackId":"0100017a0b5e8a4c-6e3c2b51-8a1f-4c8e-9d0a-6a0f2e9b1c4d-000000",
        "bounceType":"Permanent",
        "bounceSubType":"OnAccountSuppressionList",
        "bouncedRecipients":[{
          "emailAddress":"jane@example.com",
          "action":"failed",
          "status":"5.1.1",
          "diagnosticCode":"Amazon SES did not send the message to this address because it is on the suppression list for your account."
        }],
        "timestamp":"2021-06-14T10:00:00.000Z",
        "reportingMTA":"dns; amazonses.com"
      },
      "mail":{
        "timestamp":"2021-06-14T09:59:59.500Z",
        "source":"john@example.com",
        "sourceArn":"arn:aws:ses:us-east-1:888888888888:identity/example.com",
        "sourceIp":"127.0.3.0",
        "callerIdentity":"IAM_user_or_role_name",
        "sendingAccountId":"123456789012",
        "messageId":"0100017a0b5e8a4c-1b2d3f4e-5a6b-7c8d-9e0f-a1b2c3d4e5f6-000000",
        "destination":["jane@example.com"]
      }
    }"#;

    const NOTIFICATION_DELIVERY: &str = r#"{
      "notificationType":"Delivery",
      "mail":{
        "timestamp":"2016-01-27T14:59:38.237Z",
        "messageId":"0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000",
        "source":"john@example.com",
        "sourceArn": "arn:aws:ses:us-east-1:888888888888:identity/example.com",
        "sourceIp": "127.0.3.0",
        "sendingAccountId":"123456789012",
        "destination":["jane@example.com"]
      },
      "delivery":{
        "timestamp":"2016-01-27T14:59:38.237Z",
        "recipients":["jane@example.com"],
        "processingTimeMillis":546,
        "reportingMTA":"a8-70.smtp-out.amazonses.com",
        "smtpResponse":"250 ok:  Message 64111812 accepted",
        "remoteMtaIp":"127.0.2.0"
      }
    }"#;

    /// An SQS body as SNS delivers it with raw message delivery off: the SES
    /// record escaped into `Message`.
    const SNS_WRAPPED_SEND: &str = r#"{
      "Type" : "Notification",
      "MessageId" : "0f3d9e6a-3c1b-5a3e-9f0a-2f5b8c1d4e7f",
      "TopicArn" : "arn:aws:sns:us-east-1:123456789012:ses-events",
      "Message" : "{\"eventType\":\"Send\",\"mail\":{\"timestamp\":\"2026-03-02T09:15:00.120Z\",\"source\":\"ana@acme-mail.com\",\"messageId\":\"0100018e0example-000000\",\"destination\":[\"lead@prospect.com\"],\"tags\":{\"tenant_id\":[\"t-1\"],\"campaign_id\":[\"c-2\"],\"lead_id\":[\"l-3\"],\"step\":[\"1\"],\"email_id\":[\"e-4\"]}},\"send\":{}}",
      "Timestamp" : "2026-03-02T09:15:00.500Z",
      "SignatureVersion" : "1",
      "Signature" : "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
      "SigningCertURL" : "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
      "UnsubscribeURL" : "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:ses-events:0000"
    }"#;

    const GUIDE_EXAMPLES: [(&str, SesEventType); 10] = [
        (BOUNCE, SesEventType::Bounce),
        (COMPLAINT, SesEventType::Complaint),
        (DELIVERY, SesEventType::Delivery),
        (SEND, SesEventType::Send),
        (REJECT, SesEventType::Reject),
        (OPEN, SesEventType::Open),
        (CLICK, SesEventType::Click),
        (RENDERING_FAILURE, SesEventType::RenderingFailure),
        (DELIVERY_DELAY, SesEventType::DeliveryDelay),
        (SUBSCRIPTION, SesEventType::Subscription),
    ];

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn raw(json: &str) -> SesEvent {
        let record = decode_sqs_body(json).unwrap();
        assert_eq!(record.sns_message_id, None, "a bare SES record has no SNS id");
        record.event
    }

    /// `json` as SNS would wrap it, with its own message id.
    fn wrapped(json: &str, message_id: &str) -> String {
        serde_json::json!({
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
            "Message": json,
            "Timestamp": "2026-03-02T09:15:00.500Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        })
        .to_string()
    }

    #[test]
    fn every_guide_example_decodes_raw_and_wrapped_with_its_type() {
        for (json, expected) in GUIDE_EXAMPLES {
            let bare = raw(json);
            assert_eq!(bare.event_type, expected);
            assert_eq!(bare.tag("ses:configuration-set"), Some("ConfigSet"), "{expected}");
            assert!(bare.ses_message_id().starts_with("EXAMPLE"), "{expected}");
            assert!(!matches!(bare.detail, SesEventDetail::Unknown), "{expected}");

            let record = decode_sqs_body(&wrapped(json, "sns-1")).unwrap();
            assert_eq!(record.sns_message_id.as_deref(), Some("sns-1"));
            assert_eq!(
                record.event, bare,
                "{expected}: the envelope changes nothing in the event"
            );
        }
    }

    #[test]
    fn a_bounce_keeps_its_type_subtype_and_diagnostic() {
        let event = raw(BOUNCE);
        let SesEventDetail::Bounce(bounce) = &event.detail else {
            panic!("not a bounce: {:?}", event.detail)
        };
        assert_eq!(bounce.bounce_type, BounceType::Permanent);
        assert_eq!(bounce.bounce_sub_type, Some(BounceSubType::General));
        assert_eq!(
            bounce.feedback_id.as_deref(),
            Some("01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000")
        );
        assert_eq!(bounce.reporting_mta.as_deref(), Some("dsn; mta.example.com"));
        let [recipient] = bounce.bounced_recipients.as_slice() else {
            panic!("one recipient")
        };
        assert_eq!(recipient.email_address.as_str(), "recipient@example.com");
        assert_eq!(
            recipient.email_address.to_email_address().unwrap().as_str(),
            "recipient@example.com"
        );
        assert_eq!(recipient.action.as_deref(), Some("failed"));
        assert_eq!(recipient.status.as_deref(), Some("5.1.1"));
        assert_eq!(
            recipient.diagnostic_code.as_ref().unwrap().as_str(),
            "smtp; 550 5.1.1 user unknown"
        );
        assert_eq!(event.occurred_at(), at("2017-08-05T00:41:02.669Z"));
        assert_eq!(event.mail.timestamp, at("2017-08-05T00:40:02.012Z"));
        assert_eq!(
            event.mail.source.as_ref().unwrap().as_str(),
            "Sender Name <sender@example.com>"
        );
        let headers = event.mail.common_headers.as_ref().unwrap();
        assert_eq!(
            headers.subject.as_ref().unwrap().as_str(),
            "Message sent from Amazon SES"
        );
        assert_eq!(headers.to[0].as_str(), "recipient@example.com");
    }

    #[test]
    fn a_complaint_keeps_its_feedback_report() {
        let event = raw(COMPLAINT);
        let SesEventDetail::Complaint(complaint) = &event.detail else {
            panic!("not a complaint")
        };
        assert_eq!(complaint.complaint_feedback_type, Some(ComplaintFeedbackType::Abuse));
        assert_eq!(complaint.arrival_date, Some(at("2017-08-05T00:41:02.669Z")));
        assert!(complaint.user_agent.as_deref().unwrap().starts_with("Mozilla/5.0"));
        assert_eq!(
            complaint.complained_recipients[0].email_address.as_str(),
            "recipient@example.com"
        );
        assert_eq!(event.occurred_at(), at("2017-08-05T00:41:02.669Z"));
    }

    #[test]
    fn a_delivery_keeps_its_smtp_response_and_custom_tags() {
        let event = raw(DELIVERY);
        let SesEventDetail::Delivery(delivery) = &event.detail else {
            panic!("not a delivery")
        };
        assert_eq!(delivery.processing_time_millis, Some(11893));
        assert_eq!(
            delivery.smtp_response.as_ref().unwrap().as_str(),
            "250 2.6.0 Message received"
        );
        assert_eq!(delivery.recipients[0].as_str(), "recipient@example.com");
        assert_eq!(event.occurred_at(), at("2016-10-19T23:21:04.133Z"));
        assert_eq!(event.tag("myCustomTag1"), Some("myCustomTagValue1"));
        assert_eq!(event.tag("tenant_id"), None);
    }

    #[test]
    fn send_reject_and_rendering_failure_happen_when_the_mail_was_sent() {
        let send = raw(SEND);
        assert_eq!(send.detail, SesEventDetail::Send);
        assert_eq!(send.occurred_at(), at("2016-10-14T05:02:16.645Z"));

        let reject = raw(REJECT);
        assert_eq!(
            reject.detail,
            SesEventDetail::Reject(Reject {
                reason: Some("Bad content".into())
            })
        );
        assert_eq!(reject.occurred_at(), at("2016-10-14T17:38:15.211Z"));

        let failure = raw(RENDERING_FAILURE);
        let SesEventDetail::RenderingFailure(detail) = &failure.detail else {
            panic!("not a rendering failure")
        };
        assert_eq!(detail.template_name.as_deref(), Some("MyTemplate"));
        assert!(detail.error_message.as_deref().unwrap().contains("attributeName"));
        assert_eq!(failure.occurred_at(), at("2018-01-22T18:43:06.197Z"));
        assert_eq!(failure.event_type.as_str(), "Rendering Failure");
    }

    #[test]
    fn opens_and_clicks_keep_who_and_what() {
        let open = raw(OPEN);
        let SesEventDetail::Open(detail) = &open.detail else {
            panic!("not an open")
        };
        assert_eq!(detail.ip_address.as_deref(), Some("192.0.2.1"));
        assert!(detail.user_agent.as_deref().unwrap().contains("iPhone"));
        assert_eq!(open.occurred_at(), at("2017-08-09T22:00:19.652Z"));
        assert!(
            open.mail.source_arn.is_none(),
            "the guide's open example has no sourceArn"
        );

        let click = raw(CLICK);
        let SesEventDetail::Click(detail) = &click.detail else {
            panic!("not a click")
        };
        assert_eq!(
            detail.link,
            "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html"
        );
        assert_eq!(detail.link_tags["samplekey0"], vec!["samplevalue0".to_string()]);
        assert_eq!(click.occurred_at(), at("2017-08-09T23:51:25.570Z"));
    }

    #[test]
    fn a_delivery_delay_keeps_its_type_and_expiry() {
        let event = raw(DELIVERY_DELAY);
        let SesEventDetail::DeliveryDelay(delay) = &event.detail else {
            panic!("not a delay")
        };
        assert_eq!(delay.delay_type, DelayType::TransientCommunicationFailure);
        assert_eq!(delay.expiration_time, Some(at("2020-06-16T00:25:40.914Z")));
        assert_eq!(delay.delayed_recipients[0].status.as_deref(), Some("4.4.1"));
        assert_eq!(event.occurred_at(), at("2020-06-16T00:25:40.095Z"));
    }

    #[test]
    fn a_subscription_keeps_old_and_new_preferences() {
        let event = raw(SUBSCRIPTION);
        let SesEventDetail::Subscription(subscription) = &event.detail else {
            panic!("not a subscription")
        };
        assert_eq!(subscription.contact_list.as_deref(), Some("ContactListName"));
        assert_eq!(subscription.source.as_deref(), Some("UnsubscribeHeader"));
        let new = subscription.new_topic_preferences.as_ref().unwrap();
        assert!(new.unsubscribe_all);
        assert_eq!(
            new.topic_subscription_status[0].subscription_status,
            SubscriptionStatus::OptOut
        );
        assert!(!subscription.old_topic_preferences.as_ref().unwrap().unsubscribe_all);
        assert_eq!(event.occurred_at(), at("2022-01-12T01:00:17.910Z"));
        assert_eq!(event.tag("ses:operation"), Some("SendEmail"));
    }

    #[test]
    fn the_older_notification_format_decodes() {
        let bounce = raw(NOTIFICATION_BOUNCE_WITH_DSN);
        assert_eq!(bounce.event_type, SesEventType::Bounce);
        let SesEventDetail::Bounce(detail) = &bounce.detail else {
            panic!("not a bounce")
        };
        assert_eq!(detail.remote_mta_ip.as_deref(), Some("127.0.2.0"));
        assert!(bounce.mail.tags.is_empty(), "identity notifications carry no tags");
        assert_eq!(bounce.tag("tenant_id"), None);
        assert_eq!(bounce.mail.destination.len(), 3);

        let complaint = raw(NOTIFICATION_COMPLAINT_WITHOUT_REPORT);
        let SesEventDetail::Complaint(detail) = &complaint.detail else {
            panic!("not a complaint")
        };
        assert_eq!(detail.complaint_feedback_type, None);
        assert_eq!(detail.arrival_date, None);
        assert!(complaint.mail.common_headers.is_none());

        let delivery = raw(NOTIFICATION_DELIVERY);
        let SesEventDetail::Delivery(detail) = &delivery.detail else {
            panic!("not a delivery")
        };
        assert_eq!(detail.processing_time_millis, Some(546));

        let record = decode_sqs_body(&wrapped(NOTIFICATION_BOUNCE_WITH_DSN, "sns-2")).unwrap();
        assert_eq!(record.event, bounce);
    }

    #[test]
    fn every_documented_shape_of_the_older_format_decodes_raw_and_wrapped() {
        let shapes = [
            (NOTIFICATION_BOUNCE_WITH_DSN, SesEventType::Bounce),
            (NOTIFICATION_BOUNCE_WITHOUT_DSN, SesEventType::Bounce),
            (NOTIFICATION_BOUNCE_ON_SUPPRESSION_LIST, SesEventType::Bounce),
            (NOTIFICATION_COMPLAINT_WITHOUT_REPORT, SesEventType::Complaint),
            (NOTIFICATION_COMPLAINT_WITH_REPORT, SesEventType::Complaint),
            (NOTIFICATION_DELIVERY, SesEventType::Delivery),
        ];
        for (n, (json, expected)) in shapes.into_iter().enumerate() {
            let bare = raw(json);
            assert_eq!(bare.event_type, expected, "shape {n}");
            assert!(!matches!(bare.detail, SesEventDetail::Unknown), "shape {n}");
            assert!(
                bare.mail.tags.is_empty(),
                "shape {n}: identity notifications carry no tags"
            );
            let record = decode_sqs_body(&wrapped(json, &format!("sns-{n}"))).unwrap();
            assert_eq!(record.event, bare, "shape {n}");
        }

        let SesEventDetail::Bounce(bounce) = raw(NOTIFICATION_BOUNCE_WITHOUT_DSN).detail else {
            panic!("not a bounce")
        };
        assert_eq!(bounce.bounced_recipients.len(), 2);
        assert_eq!(bounce.bounced_recipients[0].status, None, "no DSN, no status");
        assert_eq!(bounce.bounced_recipients[0].diagnostic_code, None);
        assert_eq!(bounce.reporting_mta, None);

        let SesEventDetail::Bounce(bounce) = raw(NOTIFICATION_BOUNCE_ON_SUPPRESSION_LIST).detail else {
            panic!("not a bounce")
        };
        assert_eq!(bounce.bounce_type, BounceType::Permanent);
        assert_eq!(bounce.bounce_sub_type, Some(BounceSubType::OnAccountSuppressionList));

        let complaint = raw(NOTIFICATION_COMPLAINT_WITH_REPORT);
        let SesEventDetail::Complaint(detail) = &complaint.detail else {
            panic!("not a complaint")
        };
        assert_eq!(detail.complaint_feedback_type, Some(ComplaintFeedbackType::Abuse));
        assert_eq!(detail.arrival_date, Some(at("2016-01-27T14:59:38.237Z")));
        assert_eq!(detail.user_agent.as_deref(), Some("AnyCompany Feedback Loop (V0.01)"));
        assert_eq!(detail.complaint_sub_type, None, "null reads as none");
        assert_eq!(
            complaint.mail.common_headers.as_ref().unwrap().message_id.as_deref(),
            Some("custom-message-ID")
        );
        assert_eq!(complaint.occurred_at(), at("2016-01-27T14:59:38.237Z"));
    }

    #[test]
    fn the_older_format_fixture_in_events_decodes() {
        // The events/ fixture of the older format, through the SQS event it sits in.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/ses-events-notification-bounce.json"
        );
        let sqs: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let body = sqs["Records"][0]["body"].as_str().unwrap();
        let record = decode_sqs_body(body).unwrap();
        assert_eq!(record.event.event_type, SesEventType::Bounce);
        assert!(record.sns_message_id.is_some());
    }

    #[test]
    fn an_sns_body_gives_the_sns_message_id_and_our_tags() {
        let record = decode_sqs_body(SNS_WRAPPED_SEND).unwrap();
        assert_eq!(
            record.sns_message_id.as_deref(),
            Some("0f3d9e6a-3c1b-5a3e-9f0a-2f5b8c1d4e7f")
        );
        let event = record.event;
        assert_eq!(event.event_type, SesEventType::Send);
        assert_eq!(event.ses_message_id(), "0100018e0example-000000");
        for (name, value) in [
            ("tenant_id", "t-1"),
            ("campaign_id", "c-2"),
            ("lead_id", "l-3"),
            ("step", "1"),
            ("email_id", "e-4"),
        ] {
            assert_eq!(event.tag(name), Some(value), "{name}");
        }
        // `send` may be left out, as the older format does.
        let without_send = SEND.replace(r#""send": {}"#, r#""extra": 1"#);
        assert_eq!(raw(&without_send).detail, SesEventDetail::Send);
    }

    #[test]
    fn unknown_fields_and_values_still_decode() {
        let json = BOUNCE
            .replace(
                r#""bounceType":"Permanent""#,
                r#""bounceType":"Exotic","newAwsField":{"nested":[1,2]}"#,
            )
            .replace(r#""bounceSubType":"General""#, r#""bounceSubType":"BrandNew""#)
            .replace(
                r#""eventType":"Bounce""#,
                r#""eventType":"Bounce","futureTopLevel":true"#,
            )
            .replace(r#""sendingAccountId""#, r#""newMailField":null,"sendingAccountId""#);
        let event = raw(&json);
        let SesEventDetail::Bounce(bounce) = &event.detail else {
            panic!("not a bounce")
        };
        assert_eq!(bounce.bounce_type, BounceType::Other("Exotic".into()));
        assert_eq!(bounce.bounce_type.as_str(), "Exotic");
        assert_eq!(bounce.bounce_sub_type, Some(BounceSubType::Other("BrandNew".into())));

        let delay = raw(&DELIVERY_DELAY.replace("TransientCommunicationFailure", "QuantumFailure"));
        let SesEventDetail::DeliveryDelay(detail) = &delay.detail else {
            panic!("not a delay")
        };
        assert_eq!(detail.delay_type, DelayType::Other("QuantumFailure".into()));

        let complaint = raw(&COMPLAINT.replace(r#""abuse""#, r#""spam-trap""#));
        let SesEventDetail::Complaint(detail) = &complaint.detail else {
            panic!("not a complaint")
        };
        assert_eq!(
            detail.complaint_feedback_type,
            Some(ComplaintFeedbackType::Other("spam-trap".into()))
        );
    }

    #[test]
    fn an_unknown_event_type_keeps_its_name_and_mail() {
        let event = raw(&SEND.replace(r#""eventType": "Send""#, r#""eventType": "Teleport""#));
        assert_eq!(event.event_type, SesEventType::Other("Teleport".into()));
        assert_eq!(event.detail, SesEventDetail::Unknown);
        assert_eq!(event.occurred_at(), at("2016-10-14T05:02:16.645Z"));
    }

    #[test]
    fn nulls_and_odd_optional_dates_do_not_lose_an_event() {
        let json = COMPLAINT
            .replace(
                r#""arrivalDate":"2017-08-05T00:41:02.669Z""#,
                r#""arrivalDate":"Sat, 5 Aug 2017 00:41:02 +0000""#,
            )
            .replace(
                r#""complaintFeedbackType":"abuse""#,
                r#""complaintFeedbackType":null,"complaintSubType":null"#,
            )
            .replace(r#""destination":["recipient@example.com"]"#, r#""destination":null"#);
        let event = raw(&json);
        let SesEventDetail::Complaint(detail) = &event.detail else {
            panic!("not a complaint")
        };
        assert_eq!(detail.arrival_date, None);
        assert_eq!(detail.complaint_feedback_type, None);
        assert!(event.mail.destination.is_empty());
    }

    #[test]
    fn errors_say_what_is_wrong_without_quoting_the_body() {
        let cases: Vec<(String, SesEventError)> = vec![
            (
                "secret@person.com".into(),
                SesEventError::NotJson {
                    layer: Layer::SqsBody,
                    line: 1,
                    column: 1,
                },
            ),
            (
                r#"["secret@person.com"]"#.into(),
                SesEventError::NotAnObject { layer: Layer::SqsBody },
            ),
            (r#"{"hello":"secret@person.com"}"#.into(), SesEventError::Unrecognised),
            (
                r#"{"Type":"SubscriptionConfirmation","MessageId":"m","Message":"secret@person.com"}"#.into(),
                SesEventError::NotANotification {
                    kind: "SubscriptionConfirmation".into(),
                },
            ),
            (
                r#"{"Type":"secret@person.com","MessageId":"m","Message":"{}"}"#.into(),
                SesEventError::NotANotification { kind: "?".into() },
            ),
            (
                r#"{"Type":"Notification","Message":"{}"}"#.into(),
                SesEventError::Shape {
                    layer: Layer::SnsEnvelope,
                    path: "/".into(),
                    problem: ShapeProblem::MissingField("MessageId".into()),
                },
            ),
            (
                wrapped("secret@person.com", "m"),
                SesEventError::NotJson {
                    layer: Layer::SesEvent,
                    line: 1,
                    column: 1,
                },
            ),
            (
                BOUNCE.replace(
                    r#""timestamp":"2017-08-05T00:40:02.012Z""#,
                    r#""timestamp":"secret@person.com""#,
                ),
                SesEventError::Shape {
                    layer: Layer::SesEvent,
                    path: "/mail/timestamp".into(),
                    problem: ShapeProblem::InvalidValue,
                },
            ),
            (
                wrapped(
                    &BOUNCE.replace(r#""status":"5.1.1""#, r#""status":["secret@person.com"]"#),
                    "m",
                ),
                SesEventError::Shape {
                    layer: Layer::SesEvent,
                    path: "/bounce/bouncedRecipients/0/status".into(),
                    problem: ShapeProblem::WrongType,
                },
            ),
            (
                DELIVERY.replace(
                    r#""myCustomTag1": ["myCustomTagValue1"]"#,
                    r#""secret@person.com": "x""#,
                ),
                SesEventError::Shape {
                    layer: Layer::SesEvent,
                    path: "/mail/tags/?".into(),
                    problem: ShapeProblem::WrongType,
                },
            ),
            (
                r#"{"eventType":"Bounce","mail":{"timestamp":"2017-08-05T00:40:02.012Z","messageId":"m"}}"#.into(),
                SesEventError::MissingObject {
                    event_type: "Bounce".into(),
                    field: "bounce",
                },
            ),
            (
                r#"{"notificationType":"AmazonSnsSubscriptionSucceeded","message":"You have successfully subscribed"}"#
                    .into(),
                SesEventError::MissingObject {
                    event_type: "AmazonSnsSubscriptionSucceeded".into(),
                    field: "mail",
                },
            ),
            (
                r#"{"eventType":"Open","mail":{"timestamp":"2017-08-05T00:40:02.012Z"}}"#.into(),
                SesEventError::Shape {
                    layer: Layer::SesEvent,
                    path: "/mail".into(),
                    problem: ShapeProblem::MissingField("messageId".into()),
                },
            ),
        ];
        for (body, expected) in cases {
            let error = decode_sqs_body(&body).unwrap_err();
            assert_eq!(error, expected);
            let message = error.to_string();
            assert!(!message.contains('@') && !message.contains("secret"), "{message}");
        }
    }

    #[test]
    fn debug_output_hides_addresses_and_diagnostics() {
        let event = raw(NOTIFICATION_BOUNCE_WITH_DSN);
        let debug = format!("{event:?}");
        assert!(
            !debug.contains("jane@") && !debug.contains("john@") && !debug.contains("<jane"),
            "{debug}"
        );
        assert!(debug.contains("<redacted>@example.com"));
    }

    proptest! {
        #[test]
        fn decoding_never_panics_on_any_string(body in any::<String>()) {
            let _ = decode_sqs_body(&body);
        }

        #[test]
        fn decoding_never_panics_on_json_like_text(body in r#"[{}\[\]":,a-zA-Z0-9 @.\\-]{0,200}"#) {
            if let Err(error) = decode_sqs_body(&body) {
                prop_assert!(!error.to_string().contains('@'));
            }
        }

        #[test]
        fn an_envelope_with_any_message_never_panics(message in any::<String>()) {
            let _ = decode_sqs_body(&wrapped(&message, "m"));
        }

        #[test]
        fn a_guide_example_cut_anywhere_is_an_error_not_a_panic(index in 0usize..10, cut in 0usize..4000) {
            let (json, _) = GUIDE_EXAMPLES[index];
            let end = (0..=cut.min(json.len())).rev().find(|&at| json.is_char_boundary(at)).unwrap_or(0);
            let shortened = &json[..end];
            if end < json.trim_end().len() {
                prop_assert!(decode_sqs_body(shortened).is_err());
            }
        }
    }
}
