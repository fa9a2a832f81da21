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
    let address = email.dedup_key();
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
    let region = country
        .map(str::trim)
        .filter(|c| c.len() == 2)
        .and_then(|c| phonenumber::country::Id::from_str(&c.to_ascii_uppercase()).ok());
    let number = phonenumber::parse(region, raw.trim()).map_err(|_| {
        if region.is_none() && !raw.trim().starts_with('+') {
            "not a phone number; give it with +<country code>, or the lead's country as a 2-letter code".to_string()
        } else {
            "not a phone number".to_string()
        }
    })?;
    if !phonenumber::is_valid(&number) {
        return Err("not a valid phone number for its country".into());
    }
    Ok(number.format().mode(phonenumber::Mode::E164).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
