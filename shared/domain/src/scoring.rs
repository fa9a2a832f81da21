//! The first lead score: deterministic rules over what a lead says about
//! itself. 0–100, with a tier and the reasons that made it. Every weight is
//! in [`WEIGHTS`], so tuning the model is a change in one place.

use crate::lead::Lead;
use serde::{Deserialize, Serialize};

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
    let words = |list: &[&str]| {
        list.iter().any(|w| {
            title.split(|c: char| !c.is_alphanumeric() && c != '-').any(|t| t == *w)
                || (w.contains(' ') && title.contains(w))
        })
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

/// Employees from a custom field such as "Employees": "51-200" or "1,200".
fn company_size(lead: &Lead) -> Option<u64> {
    lead.custom_fields.iter().find_map(|(key, value)| {
        let normalised: String = key
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        if !SIZE_FIELDS.contains(&normalised.as_str()) {
            return None;
        }
        let text = match value {
            serde_json::Value::Number(n) => return n.as_u64(),
            serde_json::Value::String(s) => s.replace([',', '.', ' ', '+'], ""),
            _ => return None,
        };
        // A band like "51-200" counts as its upper end.
        text.split(['-', '–'])
            .filter_map(|part| part.trim().parse::<u64>().ok())
            .max()
    })
}

pub fn score(lead: &Lead) -> Scored {
    let mut total = WEIGHTS.base;
    let mut reasons = Vec::new();
    let mut add = |points: i32, why: String| {
        total += points;
        reasons.push(format!("{points:+} {why}"));
    };
    if let Some((points, why)) = lead.job_title.as_deref().and_then(title_points) {
        add(points, why.to_string());
    }
    match company_size(lead) {
        Some(size @ 10..=200) => add(WEIGHTS.company_10_to_200, format!("company of {size} employees")),
        Some(size @ 201..=1000) => add(WEIGHTS.company_201_to_1000, format!("company of {size} employees")),
        Some(size) => add(WEIGHTS.company_other_size, format!("company of {size} employees")),
        None => {}
    }
    let flags = lead.email_flags;
    if flags.disposable {
        add(WEIGHTS.disposable_address, "disposable address".into());
    } else if flags.free_mail {
        add(WEIGHTS.free_mail_address, "free-mail address".into());
    } else {
        add(WEIGHTS.business_address, "business address".into());
    }
    if flags.role {
        add(WEIGHTS.role_address, "role address".into());
    }
    if let Some(source) = lead.source.as_deref() {
        let source = source.to_lowercase();
        if WARM_SOURCES.iter().any(|w| source.contains(w)) {
            add(WEIGHTS.warm_source, format!("warm source ({source})"));
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
            format!("{filled} profile fields filled"),
        );
    }
    let score = total.clamp(0, 100) as u8;
    Scored {
        score,
        tier: ScoreTier::of(score),
        reasons,
    }
}
