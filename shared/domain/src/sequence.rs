//! A campaign's sequence (the ordered steps and their A/B variants) and its
//! sending settings, read from `campaign.settings` with every known key checked.

use crate::error::FieldError;
use crate::ids::{EmailId, MailboxId, TemplateId};
use crate::input::{self, Problems};
use crate::schedule::{SendingWindow, Timezone};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const MAX_STEPS: usize = 10;
pub const MAX_VARIANTS: usize = 5;
pub const MAX_DELAY_DAYS: u32 = 365;
pub const MAX_WEIGHT: u32 = 100;

/// One version of an email a step can send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub template_id: TemplateId,
    /// Relative share of the step's leads (1–100); 1 when left out.
    #[serde(default = "one")]
    pub weight: u32,
}

fn one() -> u32 {
    1
}

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SequenceStep {
    /// Days to wait after the previous step was sent (the first step: after launch).
    #[serde(default)]
    pub delay_days: u32,
    /// Count only Monday–Friday in the lead's time zone.
    #[serde(default)]
    pub business_days: bool,
    /// Send as a reply in the thread of the previous email (same subject, In-Reply-To).
    #[serde(default)]
    pub same_thread: bool,
    pub variants: Vec<Variant>,
}

/// `PUT /v1/campaigns/{id}/sequence` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SequenceInput {
    pub steps: Vec<SequenceStep>,
}

/// Checks a sequence: 1–10 steps, 1–5 variants each with weights 1–100, and a
/// first step that cannot continue a thread that does not exist yet.
pub fn check_sequence(input: SequenceInput) -> Result<Vec<SequenceStep>, Vec<FieldError>> {
    let mut problems = Problems::at("");
    if input.steps.is_empty() || input.steps.len() > MAX_STEPS {
        problems.add("steps", format!("a sequence has 1–{MAX_STEPS} steps"));
    }
    for (index, step) in input.steps.iter().enumerate() {
        let base = format!("steps/{index}");
        if step.delay_days > MAX_DELAY_DAYS {
            problems.add(&format!("{base}/delay_days"), format!("at most {MAX_DELAY_DAYS} days"));
        }
        if index == 0 && step.same_thread {
            problems.add(&format!("{base}/same_thread"), "the first step starts the thread");
        }
        if step.variants.is_empty() || step.variants.len() > MAX_VARIANTS {
            problems.add(
                &format!("{base}/variants"),
                format!("a step has 1–{MAX_VARIANTS} variants"),
            );
        }
        for (v, variant) in step.variants.iter().enumerate() {
            if variant.weight == 0 || variant.weight > MAX_WEIGHT {
                problems.add(&format!("{base}/variants/{v}/weight"), format!("1–{MAX_WEIGHT}"));
            }
        }
    }
    problems.into_result()?;
    Ok(input.steps)
}

impl SequenceStep {
    /// The variant an email gets: a stable draw weighted by `weight`, so a
    /// replanned email keeps its variant.
    pub fn pick_variant(&self, email: EmailId) -> usize {
        let total: u64 = self.variants.iter().map(|v| u64::from(v.weight)).sum();
        if total == 0 {
            return 0;
        }
        // Mixed, so ids whose bits are not uniform (time-ordered ones) still draw evenly.
        let (high, low) = email.as_uuid().as_u64_pair();
        let draw = splitmix64(high ^ splitmix64(low)) % total;
        let mut acc = 0;
        for (index, variant) in self.variants.iter().enumerate() {
            acc += u64::from(variant.weight);
            if draw < acc {
                return index;
            }
        }
        self.variants.len() - 1
    }
}

/// SplitMix64's finaliser: every input bit affects every output bit.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// How a campaign sends, from its `settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendingSettings {
    /// The mailboxes the campaign rotates through, in order.
    pub mailbox_ids: Vec<MailboxId>,
    /// The zone of leads that have none, and of the campaign's own days.
    pub timezone: Timezone,
    /// The window every email must fall in, read in the lead's zone.
    pub window: SendingWindow,
    /// At most this many leads get their first email per campaign day.
    pub daily_new_leads: Option<u32>,
    /// A reply from anyone at the organisation stops its other leads.
    pub stop_for_company: bool,
    pub track_opens: bool,
    pub track_clicks: bool,
    /// The sender's postal address for the footer (CAN-SPAM).
    pub postal_address: Option<String>,
    pub bounce_protection: BounceProtection,
}

/// When a campaign pauses itself: a hard-bounce or complaint rate above its
/// limit once enough emails went out for the rate to mean something.
/// Rates are kept in parts per million so settings stay comparable exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BounceProtection {
    pub max_bounce_ppm: u32,
    pub max_complaint_ppm: u32,
    pub min_sends: u32,
}

impl Default for BounceProtection {
    fn default() -> Self {
        Self {
            max_bounce_ppm: 50_000,   // 5%
            max_complaint_ppm: 1_000, // 0.1%
            min_sends: 50,
        }
    }
}

impl BounceProtection {
    /// Why the campaign must pause, if it must: `sent` emails (SES Send events),
    /// `bounced` of them hard-bounced and `complained` complained.
    pub fn verdict(&self, sent: u64, bounced: u64, complained: u64) -> Option<String> {
        if sent < u64::from(self.min_sends) || sent == 0 {
            return None;
        }
        let over = |count: u64, ppm: u32| u128::from(count) * 1_000_000 > u128::from(sent) * u128::from(ppm);
        let percent = |count: u64| count as f64 * 100.0 / sent as f64;
        if over(bounced, self.max_bounce_ppm) {
            return Some(format!(
                "bounce rate {:.2}% ({bounced} of {sent} emails) is above the limit of {}%",
                percent(bounced),
                f64::from(self.max_bounce_ppm) / 10_000.0
            ));
        }
        if over(complained, self.max_complaint_ppm) {
            return Some(format!(
                "complaint rate {:.2}% ({complained} of {sent} emails) is above the limit of {}%",
                percent(complained),
                f64::from(self.max_complaint_ppm) / 10_000.0
            ));
        }
        None
    }
}

impl Default for SendingSettings {
    fn default() -> Self {
        Self {
            mailbox_ids: Vec::new(),
            timezone: Timezone::UTC,
            window: SendingWindow::default(),
            daily_new_leads: None,
            stop_for_company: false,
            track_opens: false,
            track_clicks: false,
            postal_address: None,
            bounce_protection: BounceProtection::default(),
        }
    }
}

pub const MAX_CAMPAIGN_MAILBOXES: usize = 50;
pub const MAX_DAILY_NEW_LEADS: u32 = 100_000;
pub const MAX_POSTAL_ADDRESS: usize = 500;

impl SendingSettings {
    /// Reads the known keys of `settings`, naming each bad one under `/settings`.
    /// Unknown keys are left for later features.
    pub fn from_settings(settings: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut problems = Problems::at("/settings");
        let mut out = SendingSettings::default();
        let present = |key: &str| settings.get(key).filter(|v| !v.is_null());
        if let Some(value) = present("mailbox_ids") {
            match input::decode::<Vec<MailboxId>>(value.clone(), "/settings/mailbox_ids") {
                Ok(ids) if ids.len() > MAX_CAMPAIGN_MAILBOXES => {
                    problems.add("mailbox_ids", format!("at most {MAX_CAMPAIGN_MAILBOXES} mailboxes"))
                }
                Ok(mut ids) => {
                    let mut seen = std::collections::HashSet::new();
                    ids.retain(|id| seen.insert(*id));
                    out.mailbox_ids = ids;
                }
                Err(err) => problems.add("mailbox_ids", err.message),
            }
        }
        if let Some(value) = present("timezone") {
            match value.as_str().map(Timezone::parse) {
                Some(Ok(tz)) => out.timezone = tz,
                _ => problems.add("timezone", "must be an IANA time zone such as Europe/Berlin"),
            }
        }
        if let Some(value) = present("window") {
            match SendingWindow::from_json(value.clone(), "/settings/window") {
                Ok(window) => out.window = window,
                Err(errors) => {
                    for e in errors {
                        problems.add(e.field.trim_start_matches("/settings/"), e.message);
                    }
                }
            }
        }
        if let Some(value) = present("daily_new_leads") {
            match value.as_u64() {
                Some(n) if (1..=u64::from(MAX_DAILY_NEW_LEADS)).contains(&n) => out.daily_new_leads = Some(n as u32),
                _ => problems.add("daily_new_leads", format!("a whole number 1–{MAX_DAILY_NEW_LEADS}")),
            }
        }
        for (key, slot) in [
            ("stop_for_company", &mut out.stop_for_company),
            ("track_opens", &mut out.track_opens),
            ("track_clicks", &mut out.track_clicks),
        ] {
            if let Some(value) = present(key) {
                match value.as_bool() {
                    Some(flag) => *slot = flag,
                    None => problems.add(key, "must be true or false"),
                }
            }
        }
        if let Some(value) = present("postal_address") {
            match value
                .as_str()
                .map(|s| input::optional_text(Some(s.to_string()), MAX_POSTAL_ADDRESS))
            {
                Some(Ok(text)) => out.postal_address = text,
                Some(Err(message)) => problems.add("postal_address", message),
                None => problems.add("postal_address", "must be text"),
            }
        }
        for (key, slot) in [
            ("max_bounce_rate", &mut out.bounce_protection.max_bounce_ppm),
            ("max_complaint_rate", &mut out.bounce_protection.max_complaint_ppm),
        ] {
            if let Some(value) = present(key) {
                match value.as_f64() {
                    Some(rate) if (0.0..=1.0).contains(&rate) => *slot = (rate * 1_000_000.0).round() as u32,
                    _ => problems.add(key, "a fraction between 0 and 1, e.g. 0.05 for 5%"),
                }
            }
        }
        if let Some(value) = present("protection_min_sends") {
            match value.as_u64() {
                Some(n) if (1..=1_000_000).contains(&n) => out.bounce_protection.min_sends = n as u32,
                _ => problems.add("protection_min_sends", "a whole number 1–1000000"),
            }
        }
        problems.into_result()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(value: Value) -> Result<SendingSettings, Vec<String>> {
        SendingSettings::from_settings(value.as_object().unwrap())
            .map_err(|errors| errors.into_iter().map(|e| e.field).collect())
    }

    #[test]
    fn bounce_protection_waits_for_the_minimum_and_pauses_above_the_limit() {
        let p = BounceProtection::default();
        assert_eq!(p.verdict(49, 49, 0), None, "not before 50 sends");
        assert_eq!(p.verdict(100, 5, 0), None, "5% is not above 5%");
        assert!(p.verdict(100, 6, 0).unwrap().starts_with("bounce rate 6.00%"));
        assert_eq!(p.verdict(1000, 0, 1), None, "0.1% is not above 0.1%");
        assert!(p.verdict(1000, 0, 2).unwrap().starts_with("complaint rate"));
        let strict = settings(json!({"max_bounce_rate": 0.02, "max_complaint_rate": 0, "protection_min_sends": 10}))
            .unwrap()
            .bounce_protection;
        assert!(strict.verdict(10, 1, 0).is_some());
        assert!(strict.verdict(10, 0, 1).is_some());
        let err = settings(json!({"max_bounce_rate": 5, "protection_min_sends": 0})).unwrap_err();
        assert!(err.contains(&"/settings/max_bounce_rate".to_string()));
        assert!(err.contains(&"/settings/protection_min_sends".to_string()));
    }

    #[test]
    fn known_settings_are_read_and_checked() {
        let id = MailboxId::generate();
        let s = settings(json!({
            "mailbox_ids": [id.to_string(), id.to_string()],
            "timezone": "Europe/Berlin",
            "daily_new_leads": 40,
            "stop_for_company": true,
            "postal_address": "Acme GmbH, Berlin",
            "window": {"days": ["mon"], "start": "08:00", "end": "12:00"},
            "something_else": 1
        }))
        .unwrap();
        assert_eq!(s.mailbox_ids, vec![id]);
        assert_eq!(s.timezone.name(), "Europe/Berlin");
        assert_eq!(s.daily_new_leads, Some(40));
        assert!(s.stop_for_company);
        let err = settings(json!({
            "mailbox_ids": ["nope"],
            "timezone": "Mars/Base",
            "daily_new_leads": 0,
            "track_opens": "yes",
            "window": {"days": ["mon"], "start": "18:00", "end": "12:00"}
        }))
        .unwrap_err();
        assert!(err.contains(&"/settings/mailbox_ids".to_string()), "{err:?}");
        assert!(err.contains(&"/settings/timezone".to_string()));
        assert!(err.contains(&"/settings/daily_new_leads".to_string()));
        assert!(err.contains(&"/settings/track_opens".to_string()));
        assert!(err.iter().any(|f| f.starts_with("/settings/window")), "{err:?}");
    }

    #[test]
    fn sequences_are_checked_with_field_paths() {
        let template = TemplateId::generate();
        let bad = SequenceInput {
            steps: vec![SequenceStep {
                delay_days: 400,
                business_days: false,
                same_thread: true,
                variants: vec![Variant {
                    template_id: template,
                    weight: 0,
                }],
            }],
        };
        let fields: Vec<_> = check_sequence(bad).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                "/steps/0/delay_days",
                "/steps/0/same_thread",
                "/steps/0/variants/0/weight"
            ]
        );
        assert!(check_sequence(SequenceInput { steps: vec![] }).is_err());
    }

    #[test]
    fn variants_are_drawn_by_weight_and_stable() {
        let step = SequenceStep {
            delay_days: 0,
            business_days: false,
            same_thread: false,
            variants: vec![
                Variant {
                    template_id: TemplateId::generate(),
                    weight: 3,
                },
                Variant {
                    template_id: TemplateId::generate(),
                    weight: 1,
                },
            ],
        };
        let mut counts = [0u32; 2];
        for _ in 0..4000 {
            let id = EmailId::generate();
            let pick = step.pick_variant(id);
            assert_eq!(pick, step.pick_variant(id));
            counts[pick] += 1;
        }
        assert!((2700..3300).contains(&counts[0]), "{counts:?}");
    }
}
