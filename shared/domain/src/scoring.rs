//! The first lead score: deterministic rules over what a lead says about
//! itself. 0–100, with a tier and the reasons that made it. Every weight is
//! in [`WEIGHTS`], so tuning the model is a change in one place.

use crate::lead::Lead;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScoreTier {
    /// 80–100.
    Hot,
    /// 50–79.
    Warm,
    /// 0–49.
    Cold,
}

impl ScoreTier {
    pub fn of(score: u8) -> Self {
        match score {
            80.. => ScoreTier::Hot,
            50..=79 => ScoreTier::Warm,
            _ => ScoreTier::Cold,
        }
    }
}

/// The model's weights.
pub struct Weights {
    pub base: i32,
    pub executive_title: i32,
    pub senior_title: i32,
    pub manager_title: i32,
    pub other_title: i32,
    pub company_10_to_200: i32,
    pub company_201_to_1000: i32,
    pub company_other_size: i32,
    pub business_address: i32,
    pub free_mail_address: i32,
    pub role_address: i32,
    pub disposable_address: i32,
    /// A lead known by its phone only: no address to judge, and not mailable.
    pub no_email_address: i32,
    pub warm_source: i32,
    pub per_filled_field: i32,
}

pub const WEIGHTS: Weights = Weights {
    base: 10,
    executive_title: 30,
    senior_title: 22,
    manager_title: 12,
    other_title: 4,
    company_10_to_200: 15,
    company_201_to_1000: 12,
    company_other_size: 6,
    business_address: 15,
    free_mail_address: 0,
    role_address: -10,
    disposable_address: -40,
    no_email_address: 0,
    warm_source: 10,
    per_filled_field: 2,
};

const EXECUTIVE: &[&str] = &[
    "ceo",
    "cto",
    "cfo",
    "coo",
    "cmo",
    "cro",
    "founder",
    "co-founder",
    "cofounder",
    "owner",
    "president",
    "chief",
    "managing director",
    "partner",
    "geschäftsführer",
];
const SENIOR: &[&str] = &["vp", "vice president", "head of", "director", "svp", "evp", "leiter"];
const MANAGER: &[&str] = &["manager", "lead", "principal", "senior"];
const WARM_SOURCES: &[&str] = &["referral", "inbound", "webinar", "demo", "event", "form", "website"];
const SIZE_FIELDS: &[&str] = &[
    "employees",
    "employeecount",
    "companysize",
    "numberofemployees",
    "headcount",
    "size",
];

/// A score with the reasons for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub score: u8,
    pub tier: ScoreTier,
    pub reasons: Vec<String>,
}

fn title_points(title: &str) -> Option<(i32, &'static str)> {
    let title = title.to_lowercase();
    // A listed word must be one of the title's words; a listed phrase may stand anywhere in it.
    let words = |list: &[&str]| {
        title
            .split(|c: char| !c.is_alphanumeric() && c != '-')
            .any(|t| list.contains(&t))
            || list.iter().any(|w| w.contains(' ') && title.contains(w))
    };
    if words(EXECUTIVE) {
        Some((WEIGHTS.executive_title, "executive title"))
    } else if words(SENIOR) {
        Some((WEIGHTS.senior_title, "senior title"))
    } else if words(MANAGER) {
        Some((WEIGHTS.manager_title, "manager title"))
    } else if !title.trim().is_empty() {
        Some((WEIGHTS.other_title, "has a title"))
    } else {
        None
    }
}

/// Written between the digits of a count: "1,200", "1.200", "1 200", "500+".
const DIGIT_GROUPING: [char; 4] = [',', '.', ' ', '+'];

/// Employees from a custom field such as "Employees": "51-200" or "1,200".
fn company_size(lead: &Lead) -> Option<u64> {
    lead.custom_fields.iter().find_map(|(key, value)| {
        if !SIZE_FIELDS.iter().any(|field| normalised_key_is(key, field)) {
            return None;
        }
        let text = match value {
            serde_json::Value::Number(n) => return n.as_u64(),
            serde_json::Value::String(s) if s.contains(DIGIT_GROUPING) => Cow::Owned(s.replace(DIGIT_GROUPING, "")),
            serde_json::Value::String(s) => Cow::Borrowed(s.as_str()),
            _ => return None,
        };
        // A band like "51-200" counts as its upper end.
        text.split(['-', '–'])
            .filter_map(|part| part.trim().parse::<u64>().ok())
            .max()
    })
}

/// Whether `key` in lower case, letters and digits only, is `field`, without building it.
fn normalised_key_is(key: &str, field: &str) -> bool {
    if key.is_ascii() {
        let letters_and_digits = key.bytes().filter(u8::is_ascii_alphanumeric);
        letters_and_digits.map(|b| b.to_ascii_lowercase()).eq(field.bytes())
    } else {
        let letters_and_digits = key.chars().filter(|c| c.is_alphanumeric());
        letters_and_digits.flat_map(char::to_lowercase).eq(field.chars())
    }
}

pub fn score(lead: &Lead) -> Scored {
    let mut total = WEIGHTS.base;
    let mut reasons = Vec::with_capacity(6);
    // "+30 executive title", put together by hand: through `format!`, the
    // five reasons of an imported row cost more than validating its address.
    let mut add = |points: i32, why: &[&str]| {
        total += points;
        let mut reason = String::with_capacity(5 + why.iter().map(|part| part.len()).sum::<usize>());
        if points >= 0 {
            reason.push('+');
        }
        reason.push_str(itoa::Buffer::new().format(points));
        reason.push(' ');
        why.iter().for_each(|part| reason.push_str(part));
        reasons.push(reason);
    };
    if let Some((points, why)) = lead.job_title.as_deref().and_then(title_points) {
        add(points, &[why]);
    }
    if let Some(size) = company_size(lead) {
        let points = match size {
            10..=200 => WEIGHTS.company_10_to_200,
            201..=1000 => WEIGHTS.company_201_to_1000,
            _ => WEIGHTS.company_other_size,
        };
        add(points, &["company of ", itoa::Buffer::new().format(size), " employees"]);
    }
    let flags = lead.email_flags;
    if lead.email.is_none() {
        add(WEIGHTS.no_email_address, &["no email address (phone only)"]);
    } else if flags.disposable {
        add(WEIGHTS.disposable_address, &["disposable address"]);
    } else if flags.free_mail {
        add(WEIGHTS.free_mail_address, &["free-mail address"]);
    } else {
        add(WEIGHTS.business_address, &["business address"]);
    }
    if flags.role {
        add(WEIGHTS.role_address, &["role address"]);
    }
    if let Some(source) = lead.source.as_deref() {
        let source = source.to_lowercase();
        if WARM_SOURCES.iter().any(|w| source.contains(w)) {
            add(WEIGHTS.warm_source, &["warm source (", &source, ")"]);
        }
    }
    let filled = [
        lead.first_name.is_some(),
        lead.last_name.is_some(),
        lead.company_name.is_some(),
        lead.job_title.is_some(),
        lead.phone.is_some(),
        lead.linkedin_url.is_some(),
        lead.website.is_some(),
    ]
    .into_iter()
    .filter(|f| *f)
    .count() as i32;
    if filled > 0 {
        add(
            filled * WEIGHTS.per_filled_field,
            &[itoa::Buffer::new().format(filled), " profile fields filled"],
        );
    }
    let score = total.clamp(0, 100) as u8;
    Scored {
        score,
        tier: ScoreTier::of(score),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_match_whole_words_and_phrases() {
        for (title, expected) in [
            ("CEO & Founder", Some("executive title")),
            ("Co-Founder", Some("executive title")),
            ("GESCHÄFTSFÜHRER", Some("executive title")),
            ("Managing Director, EMEA", Some("executive title")),
            ("Head of Growth", Some("senior title")),
            ("Vice President Sales", Some("executive title")),
            ("SVP, Sales", Some("senior title")),
            ("Team Lead", Some("manager title")),
            ("VP-Sales", Some("has a title")),
            ("Chiefly curious", Some("has a title")),
            ("  ", None),
        ] {
            assert_eq!(title_points(title).map(|(_, why)| why), expected, "{title}");
        }
    }

    #[test]
    fn company_sizes_read_bands_and_digit_grouping() {
        let size = |key: &str, value: serde_json::Value| {
            let lead = crate::lead::tests::lead(serde_json::json!({"email": "a@b.co", "custom_fields": {key: value}}));
            company_size(&lead.unwrap())
        };
        assert_eq!(size("Employees", "51-200".into()), Some(200));
        assert_eq!(size("Company Size", "1,200".into()), Some(1200));
        assert_eq!(size("employee_count", " 1 000 – 5.000 ".into()), Some(5000));
        assert_eq!(size("HEADCOUNT", "500+".into()), Some(500));
        assert_eq!(size("Number of employees", 40.into()), Some(40));
        assert_eq!(size("Employees", "many".into()), None);
        assert_eq!(size("Employees ", "1\t000".into()), None);
        assert_eq!(size("Revenue", "5000".into()), None);
        assert_eq!(size("Größe", "5000".into()), None);
        assert_eq!(size("ＳＩＺＥ", "5000".into()), None);
        assert_eq!(size("Company\u{a0}Size", "5000".into()), Some(5000));
    }

    #[test]
    fn reasons_name_the_points() {
        let lead = crate::lead::tests::lead(serde_json::json!({"email": "info@acme.com", "job_title": "CEO",
            "first_name": "Ann", "source": "Webinar", "custom_fields": {"Employees": "51-200"}}))
        .unwrap();
        assert_eq!(
            score(&lead).reasons,
            [
                "+30 executive title",
                "+15 company of 200 employees",
                "+15 business address",
                "-10 role address",
                "+10 warm source (webinar)",
                "+4 2 profile fields filled",
            ]
        );
    }
}
