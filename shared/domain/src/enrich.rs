//! What the platform works out about a lead on its own: the kind of address
//! (role, free-mail, disposable) and a phone number in E.164.

use crate::email::EmailAddress;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::str::FromStr;
use std::sync::LazyLock;

/// What kind of address a lead has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmailFlags {
    /// A shared mailbox (info@, sales@...), not a person.
    pub role: bool,
    /// A consumer mailbox provider (gmail.com, outlook.com...), not a company domain.
    pub free_mail: bool,
    /// A throwaway mailbox provider.
    pub disposable: bool,
}

/// Local parts of shared mailboxes.
const ROLE_LOCAL_PARTS: &[&str] = &[
    "admin",
    "administrator",
    "billing",
    "careers",
    "contact",
    "enquiries",
    "hello",
    "help",
    "hr",
    "info",
    "inquiries",
    "jobs",
    "marketing",
    "media",
    "no-reply",
    "noreply",
    "office",
    "postmaster",
    "press",
    "sales",
    "support",
    "team",
    "webmaster",
    "abuse",
    "accounts",
    "finance",
    "service",
    "mail",
    "kontakt",
];

/// Consumer mailbox providers (the large ones; a company never sends from these).
const FREE_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "yahoo.de",
    "ymail.com",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "hotmail.de",
    "outlook.com",
    "outlook.de",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "mail.com",
    "mail.ru",
    "yandex.com",
    "yandex.ru",
    "proton.me",
    "protonmail.com",
    "zoho.com",
    "qq.com",
    "163.com",
    "126.com",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "libero.it",
    "virgilio.it",
    "btinternet.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "seznam.cz",
    "wp.pl",
    "o2.pl",
    "interia.pl",
    "naver.com",
    "hanmail.net",
    "rediffmail.com",
    "fastmail.com",
    "hey.com",
    "tutanota.com",
];

/// The disposable-provider list of the `mailchecker` crate, indexed once.
static DISPOSABLE_DOMAINS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| mailchecker::blacklist().into_iter().collect());

/// Classifies an address; a subdomain of a listed domain counts as listed.
pub fn classify(email: &EmailAddress) -> EmailFlags {
    classify_key(&email.dedup_key())
}

/// [`classify`] for an address's [`EmailAddress::dedup_key`], for callers that already have it.
pub fn classify_key(address: &str) -> EmailFlags {
    let (local, domain) = address.rsplit_once('@').unwrap_or_default();
    let local = local.split('+').next().unwrap_or(local);
    let suffixes = || {
        domain
            .match_indices('.')
            .map(|(i, _)| &domain[i + 1..])
            .chain(std::iter::once(domain))
    };
    EmailFlags {
        role: ROLE_LOCAL_PARTS.contains(&local),
        free_mail: FREE_MAIL_DOMAINS.contains(&domain),
        disposable: suffixes().any(|d| d.contains('.') && DISPOSABLE_DOMAINS.contains(d)),
    }
}

/// A phone number in E.164 (`+4930123456`). Numbers without a `+` need the
/// country they are dialled in: an ISO 3166 alpha-2 code such as `DE`.
pub fn normalise_phone(raw: &str, country: Option<&str>) -> Result<String, String> {
    // Upper-cased on the stack: this runs once per imported row.
    let region = country
        .and_then(|c| <[u8; 2]>::try_from(c.trim().as_bytes()).ok())
        .map(|code| code.map(|b| b.to_ascii_uppercase()))
        .and_then(|code| phonenumber::country::Id::from_str(std::str::from_utf8(&code).ok()?).ok());
    // Plain digit forms ("030 901820", "+49 30 901820") are read without
    // phonenumber's general parser, to the same number (see `phone::parse_plain`).
    if let Some(parsed) = phone::parse_plain(region, raw.trim()) {
        return parsed
            .e164()
            .ok_or_else(|| "not a valid phone number for its country".into());
    }
    let number = phonenumber::parse(region, raw.trim()).map_err(|_| {
        if region.is_none() && !raw.trim().starts_with('+') {
            "not a phone number; give it with +<country code>, or the lead's country as a 2-letter code".to_string()
        } else {
            "not a phone number".to_string()
        }
    })?;
    phone::e164_if_valid(&number).ok_or_else(|| "not a valid phone number for its country".into())
}

/// `phonenumber::is_valid` and the E.164 format, without the crate's per-check
/// overhead: it keeps its patterns in one 100-entry LRU cache keyed by pattern
/// text, so each of the dozen checks of a validation locks a mutex and hashes
/// a pattern of up to kilobytes (and a file of many countries recompiles them).
/// Here the same patterns of the same metadata are compiled once per calling
/// code, with the same options, and tested the way the crate tests them; the
/// `validity_matches_phonenumber` tests compare the two over every region.
mod phone {
    use phonenumber::metadata::{DATABASE, Descriptor, Metadata};
    use phonenumber::{PhoneNumber, country};
    use regex_automata::meta::Regex;
    use regex_automata::{Anchored, Input, util::syntax};
    use std::collections::HashMap;
    use std::fmt::Write;
    use std::sync::{LazyLock, OnceLock};

    /// The number in E.164 (as `Mode::E164` writes it) if `phonenumber::is_valid` holds for it.
    pub(super) fn e164_if_valid(number: &PhoneNumber) -> Option<String> {
        let code = number.code().value();
        let mut e164 = String::with_capacity(20);
        write!(e164, "+{code}").expect("writing to a String");
        let national_at = e164.len();
        write!(e164, "{}", number.national()).expect("writing to a String");
        let valid = match CODES.get(usize::from(code)) {
            Some(regions) => regions.get_or_init(|| Regions::of(code)).is_valid(&e164[national_at..]),
            None => phonenumber::is_valid(number),
        };
        valid.then_some(e164)
    }

    /// What `phonenumber::parse` makes of a number: its calling code and its
    /// national significant number (as `NationalNumber` writes it).
    pub(super) struct Plain {
        code: u16,
        digits: [u8; MAX_DIGITS],
        national: std::ops::Range<usize>,
    }

    impl Plain {
        #[cfg(test)]
        pub(super) fn code(&self) -> u16 {
            self.code
        }

        pub(super) fn national(&self) -> &str {
            std::str::from_utf8(&self.digits[self.national.clone()]).expect("ASCII digits")
        }

        /// [`e164_if_valid`] of the number `phonenumber::parse` would have returned.
        pub(super) fn e164(&self) -> Option<String> {
            let national = self.national();
            let regions = CODES.get(usize::from(self.code))?;
            if !regions.get_or_init(|| Regions::of(self.code)).is_valid(national) {
                return None;
            }
            let mut code = itoa::Buffer::new();
            let code = code.format(self.code);
            let mut e164 = String::with_capacity(1 + code.len() + national.len());
            e164.push('+');
            e164.push_str(code);
            e164.push_str(national);
            Some(e164)
        }
    }

    const MAX_DIGITS: usize = 24;

    /// `phonenumber::parse` for the plain forms most lists hold, `None` for
    /// anything else (and for every number it would refuse): ASCII digits and
    /// spaces, starting and ending with a digit, or the same after one `+`.
    /// For these the crate's parser takes a short path, followed here step by
    /// step with the same metadata and patterns (compiled once per region):
    /// its RFC 3966 reader either refuses them (a space, or `+` and digits
    /// only) or reads digits only as its natural reader does; no extension or
    /// second number can match; at least three digits make them viable; the
    /// digits are the number. Numbers that would take another branch (an
    /// international dialling prefix, a national number starting with its own
    /// calling code, a national prefix transform rule, a calling code shared
    /// by several regions without a region given) are left to the crate. The
    /// `plain_forms_parse_as_phonenumber_does` tests compare the two.
    pub(super) fn parse_plain(region: Option<country::Id>, text: &str) -> Option<Plain> {
        let (plus, body) = match text.strip_prefix('+') {
            Some(body) => (true, body),
            None => (false, text),
        };
        let bytes = body.as_bytes();
        if !bytes.first()?.is_ascii_digit() || !bytes.last()?.is_ascii_digit() {
            return None;
        }
        let mut digits = [0u8; MAX_DIGITS];
        let mut count = 0;
        for &byte in bytes {
            match byte {
                b'0'..=b'9' => {
                    *digits.get_mut(count)? = byte;
                    count += 1;
                }
                b' ' => {}
                _ => return None,
            }
        }
        if count < 3 {
            return None;
        }
        let all = std::str::from_utf8(&digits[..count]).expect("ASCII digits");
        let regional = region.and_then(|id| parsing_of(id.as_ref()));
        if region.is_some() && regional.is_none() {
            return None;
        }
        // `helper::country_code`: the calling code, and where the national number starts.
        let (code, mut start, parsing) = if plus {
            if regional.is_some_and(|r| r.idd.as_ref().is_some_and(|idd| matches_at_start(idd, all))) {
                return None;
            }
            if all.starts_with('0') {
                return None;
            }
            let len = (1..=3).find(|&len| KNOWN_CODES[all[..len].parse::<usize>().expect("digits")])?;
            let code = all[..len].parse::<u16>().expect("digits");
            // The region given, else the one region of the calling code.
            let parsing = match regional {
                Some(parsing) => parsing,
                None => match DATABASE.region(&code)?.as_slice() {
                    ["001"] => return None,
                    [id] if id.parse::<country::Id>().is_ok() => parsing_of(id)?,
                    _ => return None,
                },
            };
            (code, len, parsing)
        } else {
            let parsing = regional?;
            if parsing.idd.as_ref().is_some_and(|idd| matches_at_start(idd, all)) || all.starts_with(&parsing.code_text)
            {
                return None;
            }
            (parsing.code, 0, parsing)
        };
        // `helper::national_number` and the national prefix, kept unless that leaves too short a number.
        let national = &all[start..];
        let mut stripped = match &parsing.prefix_for_parsing {
            Some(pattern) => match pattern.search(&Input::new(national).anchored(Anchored::Yes)) {
                Some(_) if parsing.transforms => return None,
                Some(found) => &national[found.end()..],
                None => national,
            },
            None => match parsing.national_prefix {
                Some(prefix) => national.strip_prefix(prefix).unwrap_or(national),
                None => national,
            },
        };
        if let Some(prefix) = parsing.national_prefix {
            stripped = stripped.strip_prefix(prefix).unwrap_or(stripped);
        }
        if !parsing.too_short(stripped.len()) {
            start += national.len() - stripped.len();
        }
        let national = &all[start..];
        // phonenumber refuses these (too short, too long, no value after the leading zeros).
        if national.len() < 2 || national.len() > 16 || national.bytes().all(|b| b == b'0') {
            return None;
        }
        Some(Plain {
            code,
            digits,
            national: start..count,
        })
    }

    /// The calling codes `Database::by_code` knows.
    static KNOWN_CODES: LazyLock<[bool; 1000]> =
        LazyLock::new(|| std::array::from_fn(|code| DATABASE.by_code(&(code as u16)).is_some()));

    /// What parsing a number of one region reads of its metadata.
    struct Parsing {
        code: u16,
        code_text: String,
        idd: Option<Regex>,
        prefix_for_parsing: Option<Regex>,
        transforms: bool,
        national_prefix: Option<&'static str>,
        possible: &'static [u16],
        local: &'static [u16],
    }

    impl Parsing {
        fn of(meta: &'static Metadata) -> Self {
            let general = meta.descriptors().general();
            Self {
                code: meta.country_code(),
                code_text: meta.country_code().to_string(),
                idd: meta.international_prefix().map(|re| compile(re.as_str())),
                prefix_for_parsing: meta.national_prefix_for_parsing().map(|re| compile(re.as_str())),
                transforms: meta.national_prefix_transform_rule().is_some(),
                national_prefix: meta.national_prefix(),
                possible: general.possible_length(),
                local: general.possible_local_length(),
            }
        }

        /// `validator::length(meta, number, Type::Unknown) == Validation::TooShort`
        /// (never, while the database lists no general possible lengths; kept as the crate has it).
        fn too_short(&self, len: usize) -> bool {
            let len = len as u16;
            match self.possible.first() {
                Some(&minimum) => !self.local.contains(&len) && len < minimum,
                None => false,
            }
        }
    }

    /// Each region's parsing patterns, compiled when a number first needs them.
    static PARSING: LazyLock<HashMap<&'static str, OnceLock<Parsing>>> =
        LazyLock::new(|| DATABASE.iter().map(|meta| (meta.id(), OnceLock::new())).collect());

    fn parsing_of(id: &str) -> Option<&'static Parsing> {
        let cell = PARSING.get(id)?;
        Some(cell.get_or_init(|| Parsing::of(DATABASE.by_id(id).expect("a region of the database"))))
    }

    /// Calling codes have at most three digits.
    static CODES: [OnceLock<Regions>; 1000] = [const { OnceLock::new() }; 1000];

    /// Compiled like phonenumber's `CachedRegex`es (default options but ignore-whitespace).
    fn compile(pattern: &str) -> Regex {
        Regex::builder()
            .syntax(syntax::Config::new().ignore_whitespace(true))
            .build(pattern)
            .expect("phonenumber's metadata patterns compile")
    }

    /// phonenumber tests patterns with `find(national).start() == 0`: the
    /// leftmost match starts at the first digit exactly when some match does,
    /// so an anchored search gives the same answer without scanning further.
    fn matches_at_start(regex: &Regex, national: &str) -> bool {
        regex.is_match(Input::new(national).anchored(Anchored::Yes))
    }

    /// `Descriptor::is_match`: a possible length (when the descriptor lists any) and the pattern.
    struct Pattern {
        lengths: Vec<u16>,
        regex: Regex,
    }

    impl Pattern {
        fn of(descriptor: &Descriptor) -> Self {
            Self {
                lengths: descriptor.possible_length().to_vec(),
                regex: compile(descriptor.national_number().as_str()),
            }
        }

        fn matches(&self, national: &str) -> bool {
            (self.lengths.is_empty() || self.lengths.contains(&(national.len() as u16)))
                && matches_at_start(&self.regex, national)
        }
    }

    /// One region's patterns as `validator::number_type` reads them.
    struct Region {
        general: Pattern,
        /// Premium rate, toll free, shared cost, VoIP, personal, pager, UAN,
        /// voicemail, fixed line, mobile: `number_type` is not `Unknown`
        /// exactly when the general pattern and one of these match.
        kinds: Vec<Pattern>,
    }

    impl Region {
        fn of(meta: &Metadata) -> Self {
            let d = meta.descriptors();
            let kinds = [
                d.premium_rate(),
                d.toll_free(),
                d.shared_cost(),
                d.voip(),
                d.personal_number(),
                d.pager(),
                d.uan(),
                d.voicemail(),
                d.fixed_line(),
                d.mobile(),
            ];
            Self {
                general: Pattern::of(d.general()),
                kinds: kinds.into_iter().flatten().map(Pattern::of).collect(),
            }
        }

        fn is_valid(&self, national: &str) -> bool {
            self.general.matches(national) && self.kinds.iter().any(|kind| kind.matches(national))
        }
    }

    /// A region sharing its calling code (+1 has two dozen): its patterns are
    /// compiled only once a number reaches it, as phonenumber's are.
    struct SharingRegion {
        meta: &'static Metadata,
        leading_digits: Option<Regex>,
        region: OnceLock<Region>,
    }

    impl SharingRegion {
        fn patterns(&self) -> &Region {
            self.region.get_or_init(|| Region::of(self.meta))
        }
    }

    /// The regions of a calling code, in the database's order (main country first).
    enum Regions {
        Unknown,
        One(Region),
        Several(Vec<SharingRegion>),
    }

    impl Regions {
        /// Mirrors `validator::source_for`'s choice of metadata.
        fn of(code: u16) -> Self {
            let database = &*DATABASE;
            let Some(ids) = database.region(&code) else {
                return Regions::Unknown;
            };
            let meta = match ids.as_slice() {
                ["001"] => database.by_code(&code).and_then(|metas| metas.into_iter().next()),
                [id] => id
                    .parse::<country::Id>()
                    .ok()
                    .and_then(|id| database.by_id(id.as_ref())),
                several => {
                    let regions = several
                        .iter()
                        .filter_map(|id| database.by_id(*id))
                        .map(|meta| SharingRegion {
                            meta,
                            leading_digits: meta.leading_digits().map(|re| compile(re.as_str())),
                            region: OnceLock::new(),
                        });
                    return Regions::Several(regions.collect());
                }
            };
            meta.map_or(Regions::Unknown, |meta| Regions::One(Region::of(meta)))
        }

        fn is_valid(&self, national: &str) -> bool {
            match self {
                Regions::Unknown => false,
                Regions::One(region) => region.is_valid(national),
                // The first region whose leading digits match, or (without any) that has the number.
                Regions::Several(regions) => regions
                    .iter()
                    .find(|region| match &region.leading_digits {
                        Some(leading) => matches_at_start(leading, national),
                        None => region.patterns().is_valid(national),
                    })
                    .is_some_and(|region| region.patterns().is_valid(national)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn flags(address: &str) -> EmailFlags {
        classify(&EmailAddress::parse(address).unwrap())
    }

    #[test]
    fn addresses_are_classified() {
        assert_eq!(flags("ann@acme.com"), EmailFlags::default());
        assert!(flags("Info@acme.com").role);
        assert!(flags("sales+eu@acme.com").role);
        assert!(flags("ann@gmail.com").free_mail);
        assert!(flags("ann@mailinator.com").disposable);
        assert!(flags("ann@x.10minutemail.com").disposable);
        assert!(!flags("ann@gmail.com").disposable);
    }

    /// phonenumber's own validity and E.164 format, which `phone` must match.
    fn reference(number: &phonenumber::PhoneNumber) -> Option<String> {
        phonenumber::is_valid(number).then(|| number.format().mode(phonenumber::Mode::E164).to_string())
    }

    fn assert_same(number: &phonenumber::PhoneNumber) {
        assert_eq!(phone::e164_if_valid(number), reference(number), "{number:?}");
    }

    /// A region's example numbers, one per kind of number it lists.
    fn examples(meta: &phonenumber::metadata::Metadata) -> impl Iterator<Item = &str> {
        let d = meta.descriptors();
        [
            Some(d.general()),
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ]
        .into_iter()
        .flatten()
        .filter_map(|descriptor| descriptor.example())
    }

    /// Every example number of every region (valid by construction), and
    /// each with its last digit changed, one digit more and one digit fewer
    /// (mostly invalid), read both nationally and with `+<code>`.
    #[test]
    fn validity_matches_phonenumber_on_every_example() {
        let (mut valid, mut invalid) = (0, 0);
        for meta in phonenumber::metadata::DATABASE.iter() {
            let region = meta.id().parse::<phonenumber::country::Id>().ok();
            for example in examples(meta) {
                let mut variants = vec![example.to_string(), format!("{example}5")];
                if let Some(shorter) = example.get(..example.len() - 1) {
                    variants.push(shorter.to_string());
                    variants.extend((0..10).map(|digit| format!("{shorter}{digit}")));
                }
                for national in variants {
                    let international = format!("+{} {national}", meta.country_code());
                    let parsed = [
                        phonenumber::parse(region, &national),
                        phonenumber::parse(None, &international),
                    ];
                    for number in parsed.into_iter().flatten() {
                        assert_same(&number);
                        match reference(&number) {
                            Some(_) => valid += 1,
                            None => invalid += 1,
                        }
                    }
                }
            }
        }
        assert!(valid > 20_000 && invalid > 4_000, "{valid} valid, {invalid} invalid");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Random digits in random regions and calling codes.
        #[test]
        fn validity_matches_phonenumber(region in any::<prop::sample::Index>(), digits in "[0-9]{2,16}",
                                        international in any::<bool>()) {
            let mut ids: Vec<&str> = phonenumber::metadata::DATABASE.iter().map(|m| m.id()).collect();
            ids.sort_unstable();
            let meta = phonenumber::metadata::DATABASE.by_id(ids[region.index(ids.len())]).unwrap();
            let parsed = if international {
                phonenumber::parse(None, format!("+{}{digits}", meta.country_code()))
            } else {
                phonenumber::parse(meta.id().parse().ok(), &digits)
            };
            if let Ok(number) = parsed {
                prop_assert_eq!(phone::e164_if_valid(&number), reference(&number));
            }
        }

        /// Random digits, grouped at random, nationally (maybe after the
        /// national prefix, maybe read in another region) or with `+<code>`.
        #[test]
        fn plain_forms_parse_as_phonenumber_does(region in any::<prop::sample::Index>(), digits in "[0-9]{1,17}",
                                                 spaces in proptest::collection::vec(any::<bool>(), 17),
                                                 form in 0..5u8, given in any::<bool>()) {
            let mut ids: Vec<&str> = phonenumber::metadata::DATABASE.iter().map(|m| m.id()).collect();
            ids.sort_unstable();
            let meta = phonenumber::metadata::DATABASE.by_id(ids[region.index(ids.len())]).unwrap();
            let grouped: String = digits
                .chars()
                .zip(&spaces)
                .flat_map(|(c, space)| [Some(c), space.then_some(' ')])
                .flatten()
                .collect();
            let grouped = grouped.trim_end();
            let (text, country) = match form {
                0 => (grouped.to_string(), Some(meta.id())),
                1 => (format!("{}{grouped}", meta.national_prefix().unwrap_or("")), Some(meta.id())),
                2 => (grouped.to_string(), Some("DE")),
                3 => (format!("+{} {grouped}", meta.country_code()), given.then(|| meta.id())),
                _ => (format!("+{grouped}"), given.then(|| meta.id())),
            };
            assert_plain_parse(&text, country);
            prop_assert_eq!(normalise_phone(&text, country), normalise_with_phonenumber(&text, country), "{:?} in {:?}", text, country);
        }
    }

    /// `normalise_phone` as it was before plain forms had their own reader:
    /// every number through `phonenumber::parse`, `is_valid` and its E.164 format.
    fn normalise_with_phonenumber(raw: &str, country: Option<&str>) -> Result<String, String> {
        let region = country
            .and_then(|c| <[u8; 2]>::try_from(c.trim().as_bytes()).ok())
            .map(|code| code.map(|b| b.to_ascii_uppercase()))
            .and_then(|code| phonenumber::country::Id::from_str(std::str::from_utf8(&code).ok()?).ok());
        let number = phonenumber::parse(region, raw.trim()).map_err(|_| {
            if region.is_none() && !raw.trim().starts_with('+') {
                "not a phone number; give it with +<country code>, or the lead's country as a 2-letter code".to_string()
            } else {
                "not a phone number".to_string()
            }
        })?;
        reference(&number).ok_or_else(|| "not a valid phone number for its country".into())
    }

    /// When the plain reader reads `text`, phonenumber reads it to the same
    /// calling code and national number; whether it read it.
    fn assert_plain_parse(text: &str, country: Option<&str>) -> bool {
        let region = country.and_then(|c| c.parse::<phonenumber::country::Id>().ok());
        let Some(plain) = phone::parse_plain(region, text) else {
            return false;
        };
        let number = phonenumber::parse(region, text).unwrap_or_else(|e| panic!("{text:?} in {country:?}: {e}"));
        assert_eq!(
            (plain.code(), plain.national()),
            (number.code().value(), number.national().to_string().as_str()),
            "{text:?} in {country:?}"
        );
        true
    }

    /// The plain forms of a national number: as it is, in groups of three, after the national prefix.
    fn plain_forms(meta: &phonenumber::metadata::Metadata, national: &str) -> Vec<(String, Option<String>)> {
        let grouped: String = national
            .chars()
            .enumerate()
            .flat_map(|(i, c)| (i > 0 && i % 3 == 0).then_some(' ').into_iter().chain([c]))
            .collect();
        let code = meta.country_code();
        let region = Some(meta.id().to_string());
        let mut forms = vec![
            (national.to_string(), region.clone()),
            (grouped.clone(), region.clone()),
            (format!("+{code} {grouped}"), None),
            (format!("+{code}{national}"), None),
            (format!("+{code} {national}"), region.clone()),
            // Another region's number, or its metadata, given with a region.
            (format!("+{code} {grouped}"), Some("DE".to_string())),
            (national.to_string(), Some("US".to_string())),
        ];
        if let Some(prefix) = meta.national_prefix() {
            forms.push((format!("{prefix} {grouped}"), region.clone()));
            forms.push((format!("{prefix}{national}"), region));
        }
        forms
    }

    /// Every region's example numbers and near misses, in every plain form:
    /// the plain reader and phonenumber give the same number (or both refuse it).
    #[test]
    fn plain_forms_parse_as_phonenumber_does_on_every_example() {
        let (mut plain, mut total) = (0, 0);
        for meta in phonenumber::metadata::DATABASE.iter() {
            for example in examples(meta) {
                let mut variants = vec![example.to_string(), format!("{example}5")];
                if let Some(shorter) = example.get(..example.len() - 1) {
                    variants.push(shorter.to_string());
                    variants.push(format!("{shorter}{}", if example.ends_with('7') { 3 } else { 7 }));
                }
                // Too short to be a number once a national prefix is taken off.
                variants.extend((1..=4).filter_map(|len| example.get(..len)).map(str::to_string));
                for national in variants {
                    for (text, country) in plain_forms(meta, &national) {
                        plain += usize::from(assert_plain_parse(&text, country.as_deref()));
                        total += 1;
                        assert_eq!(
                            normalise_phone(&text, country.as_deref()),
                            normalise_with_phonenumber(&text, country.as_deref()),
                            "{text:?} in {country:?}"
                        );
                    }
                }
            }
        }
        // Most of these take the plain path; the rest show it steps aside.
        assert!(plain > total / 2 && plain < total, "{plain} of {total} read plainly");
    }

    #[test]
    fn phones_become_e164() {
        assert_eq!(normalise_phone("+1 (415) 555-2671", None).unwrap(), "+14155552671");
        assert_eq!(normalise_phone("030 901820", Some("de")).unwrap(), "+4930901820");
        assert_eq!(normalise_phone("020 7946 0958", Some("GB")).unwrap(), "+442079460958");
        assert!(normalise_phone("030 901820", None).is_err());
        assert!(normalise_phone("12", Some("US")).is_err());
        assert!(normalise_phone("call me maybe", Some("US")).is_err());
    }
}
