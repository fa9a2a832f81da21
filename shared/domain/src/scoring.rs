//! The first lead score: deterministic rules over what a lead says about
//! itself. 0–100, with a tier and the reasons that made it. Every weight is
//! in [`WEIGHTS`], so tuning the model is a change in one place.

use crate::lead::Lead;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

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
    /// Reasons whose text never changes ("+15 business address") are shared, not written per lead.
    pub reasons: Vec<Cow<'static, str>>,
}

/// The reasons whose points are a weight of the model and whose text is fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fixed {
    ExecutiveTitle,
    SeniorTitle,
    ManagerTitle,
    OtherTitle,
    NoEmail,
    Disposable,
    FreeMail,
    Business,
    Role,
}

impl Fixed {
    const ALL: [Fixed; 9] = [
        Fixed::ExecutiveTitle,
        Fixed::SeniorTitle,
        Fixed::ManagerTitle,
        Fixed::OtherTitle,
        Fixed::NoEmail,
        Fixed::Disposable,
        Fixed::FreeMail,
        Fixed::Business,
        Fixed::Role,
    ];

    fn points(self) -> i32 {
        match self {
            Fixed::ExecutiveTitle => WEIGHTS.executive_title,
            Fixed::SeniorTitle => WEIGHTS.senior_title,
            Fixed::ManagerTitle => WEIGHTS.manager_title,
            Fixed::OtherTitle => WEIGHTS.other_title,
            Fixed::NoEmail => WEIGHTS.no_email_address,
            Fixed::Disposable => WEIGHTS.disposable_address,
            Fixed::FreeMail => WEIGHTS.free_mail_address,
            Fixed::Business => WEIGHTS.business_address,
            Fixed::Role => WEIGHTS.role_address,
        }
    }

    fn why(self) -> &'static str {
        match self {
            Fixed::ExecutiveTitle => "executive title",
            Fixed::SeniorTitle => "senior title",
            Fixed::ManagerTitle => "manager title",
            Fixed::OtherTitle => "has a title",
            Fixed::NoEmail => "no email address (phone only)",
            Fixed::Disposable => "disposable address",
            Fixed::FreeMail => "free-mail address",
            Fixed::Business => "business address",
            Fixed::Role => "role address",
        }
    }

    /// "+30 executive title", written once.
    fn reason(self) -> &'static str {
        static TEXT: LazyLock<[String; 9]> = LazyLock::new(|| Fixed::ALL.map(|f| reason(f.points(), &[f.why()])));
        &TEXT[self as usize]
    }
}

/// "+30 executive title", put together by hand: through `format!`, the
/// reasons of an imported row cost more than validating its address.
fn reason(points: i32, why: &[&str]) -> String {
    let mut reason = String::with_capacity(5 + why.iter().map(|part| part.len()).sum::<usize>());
    if points >= 0 {
        reason.push('+');
    }
    reason.push_str(itoa::Buffer::new().format(points));
    reason.push(' ');
    why.iter().for_each(|part| reason.push_str(part));
    reason
}

/// "+12 6 profile fields filled" for each count of the seven profile fields, written once.
fn filled_reason(filled: usize) -> Cow<'static, str> {
    const PROFILE_FIELDS: usize = 7;
    static TEXT: LazyLock<[String; PROFILE_FIELDS + 1]> = LazyLock::new(|| {
        std::array::from_fn(|n| {
            let n = n as i32;
            reason(
                n * WEIGHTS.per_filled_field,
                &[itoa::Buffer::new().format(n), " profile fields filled"],
            )
        })
    });
    match TEXT.get(filled) {
        Some(text) => Cow::Borrowed(text),
        None => {
            let n = filled as i32;
            Cow::Owned(reason(
                n * WEIGHTS.per_filled_field,
                &[itoa::Buffer::new().format(n), " profile fields filled"],
            ))
        }
    }
}

/// Titles longer than this are lower-cased on the heap.
const STACK_TITLE: usize = 128;

fn title_points(title: &str) -> Option<Fixed> {
    // Lower case without an allocation for the usual (ASCII, short) title.
    let mut buffer = [0u8; STACK_TITLE];
    let owned;
    let title: &str = match buffer.get_mut(..title.len()) {
        Some(lowered) if title.is_ascii() => {
            lowered.copy_from_slice(title.as_bytes());
            lowered.make_ascii_lowercase();
            std::str::from_utf8(lowered).expect("ASCII stays ASCII")
        }
        _ => {
            owned = title.to_lowercase();
            &owned
        }
    };
    // A listed word must be one of the title's words; a listed phrase may stand
    // anywhere in it. The first list (executive, senior, manager) with either wins.
    let mut best = title
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter_map(|word| TITLE_WORDS.get(word).copied())
        .min();
    if title.contains(' ') {
        for (rank, list) in TITLE_LISTS.iter().enumerate() {
            if best.is_some_and(|best| best <= rank) {
                break;
            }
            if list.iter().any(|w| w.contains(' ') && title.contains(w)) {
                best = Some(rank);
            }
        }
    }
    match best {
        Some(rank) => Some(TITLE_KINDS[rank]),
        None if !title.trim().is_empty() => Some(Fixed::OtherTitle),
        None => None,
    }
}

/// The title lists in the order they are tried, and what each is worth.
const TITLE_LISTS: [&[&str]; 3] = [EXECUTIVE, SENIOR, MANAGER];
const TITLE_KINDS: [Fixed; 3] = [Fixed::ExecutiveTitle, Fixed::SeniorTitle, Fixed::ManagerTitle];

/// Each listed word and the first list it is in: one look-up per word of a title.
static TITLE_WORDS: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    let mut words = HashMap::new();
    for (rank, list) in TITLE_LISTS.iter().enumerate() {
        for word in list.iter() {
            words.entry(*word).or_insert(rank);
        }
    }
    words
});

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

/// The running total and its reasons.
struct Tally {
    total: i32,
    reasons: Vec<Cow<'static, str>>,
}

impl Tally {
    fn fixed(&mut self, reason: Fixed) {
        self.total += reason.points();
        self.reasons.push(Cow::Borrowed(reason.reason()));
    }

    fn add(&mut self, points: i32, reason: Cow<'static, str>) {
        self.total += points;
        self.reasons.push(reason);
    }
}

pub fn score(lead: &Lead) -> Scored {
    let mut tally = Tally {
        total: WEIGHTS.base,
        reasons: Vec::with_capacity(6),
    };
    if let Some(title) = lead.job_title.as_deref().and_then(title_points) {
        tally.fixed(title);
    }
    if let Some(size) = company_size(lead) {
        let points = match size {
            10..=200 => WEIGHTS.company_10_to_200,
            201..=1000 => WEIGHTS.company_201_to_1000,
            _ => WEIGHTS.company_other_size,
        };
        let why = reason(points, &["company of ", itoa::Buffer::new().format(size), " employees"]);
        tally.add(points, Cow::Owned(why));
    }
    let flags = lead.email_flags;
    if lead.email.is_none() {
        tally.fixed(Fixed::NoEmail);
    } else if flags.disposable {
        tally.fixed(Fixed::Disposable);
    } else if flags.free_mail {
        tally.fixed(Fixed::FreeMail);
    } else {
        tally.fixed(Fixed::Business);
    }
    if flags.role {
        tally.fixed(Fixed::Role);
    }
    if let Some(source) = lead.source.as_deref() {
        let source = source.to_lowercase();
        if WARM_SOURCES.iter().any(|w| source.contains(w)) {
            let why = reason(WEIGHTS.warm_source, &["warm source (", &source, ")"]);
            tally.add(WEIGHTS.warm_source, Cow::Owned(why));
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
    .count();
    if filled > 0 {
        tally.add(filled as i32 * WEIGHTS.per_filled_field, filled_reason(filled));
    }
    let score = tally.total.clamp(0, 100) as u8;
    Scored {
        score,
        tier: ScoreTier::of(score),
        reasons: tally.reasons,
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
            assert_eq!(title_points(title).map(Fixed::why), expected, "{title}");
        }
    }

    /// The lists tried one after the other, as titles were first scored.
    fn title_points_list_by_list(title: &str) -> Option<&'static str> {
        let title = title.to_lowercase();
        let words = |list: &[&str]| {
            title
                .split(|c: char| !c.is_alphanumeric() && c != '-')
                .any(|t| list.contains(&t))
                || list.iter().any(|w| w.contains(' ') && title.contains(w))
        };
        if words(EXECUTIVE) {
            Some("executive title")
        } else if words(SENIOR) {
            Some("senior title")
        } else if words(MANAGER) {
            Some("manager title")
        } else if !title.trim().is_empty() {
            Some("has a title")
        } else {
            None
        }
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// Titles made of listed words and phrases, in any case, between other words and punctuation.
        #[test]
        fn titles_score_as_list_by_list(parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(EXECUTIVE.iter().chain(SENIOR).chain(MANAGER).copied().collect::<Vec<_>>())
                    .prop_map(str::to_string),
                "[A-Za-zÄÖÜäöüß]{0,8}",
                proptest::sample::select(vec![" ", ", ", " & ", "-", "/", "  "]).prop_map(str::to_string),
            ], 0..8), upper in proptest::prelude::any::<bool>()) {
            let title: String = parts.concat();
            let title = if upper { title.to_uppercase() } else { title };
            proptest::prop_assert_eq!(title_points(&title).map(Fixed::why), title_points_list_by_list(&title), "{:?}", title);
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
