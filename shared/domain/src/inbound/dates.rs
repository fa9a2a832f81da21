//! The return date in an out-of-office message, in the seven languages:
//! "back on 2 December", "returning Monday 7th", "zurück am 3. Dezember",
//! "de retour le 4 décembre", "de vuelta el 5 de diciembre", "rientro il 6
//! dicembre", "terug op 7 december", "de volta em 8 de dezembro", numeric
//! `dd/mm/yyyy`, `dd.mm.yyyy`, `dd.mm.` and ISO dates.
//!
//! Every date in the text is a candidate; one right after a return word
//! ("back", "until", "bis", "jusqu'au", "hasta", "fino al", "tot", "até", …)
//! beats one before it, which beats one after a start word ("from", "vom",
//! "du", "desde", "dal", "van", "de"); ties go to the later date (the end of
//! an absence). Dates without a year take the year of the message's Date
//! header and roll to the next year when that would put them before the
//! message. Numeric dates are read day first (`03/12` is 3 December) unless
//! only month-first makes sense (`12/25`).

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use regex::{Captures, Regex, RegexBuilder};
use std::sync::LazyLock;

/// A return date and the words it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnDate {
    pub date: NaiveDate,
    pub evidence: String,
}

#[rustfmt::skip]
const MONTHS: &[(&str, u32)] = &[
    // English
    ("january", 1), ("jan", 1), ("february", 2), ("feb", 2), ("march", 3), ("mar", 3), ("april", 4), ("apr", 4),
    ("may", 5), ("june", 6), ("jun", 6), ("july", 7), ("jul", 7), ("august", 8), ("aug", 8), ("september", 9),
    ("sept", 9), ("sep", 9), ("october", 10), ("oct", 10), ("november", 11), ("nov", 11), ("december", 12),
    ("dec", 12),
    // German
    ("januar", 1), ("jänner", 1), ("februar", 2), ("märz", 3), ("maerz", 3), ("mai", 5), ("juni", 6), ("juli", 7),
    ("oktober", 10), ("okt", 10), ("dezember", 12), ("dez", 12),
    // French
    ("janvier", 1), ("janv", 1), ("février", 2), ("fevrier", 2), ("févr", 2), ("mars", 3), ("avril", 4), ("avr", 4),
    ("juin", 6), ("juillet", 7), ("juil", 7), ("août", 8), ("aout", 8), ("septembre", 9), ("octobre", 10),
    ("novembre", 11), ("décembre", 12), ("decembre", 12), ("déc", 12),
    // Spanish
    ("enero", 1), ("ene", 1), ("febrero", 2), ("marzo", 3), ("abril", 4), ("abr", 4), ("mayo", 5), ("junio", 6),
    ("julio", 7), ("agosto", 8), ("ago", 8), ("septiembre", 9), ("setiembre", 9), ("octubre", 10),
    ("noviembre", 11), ("diciembre", 12), ("dic", 12),
    // Italian
    ("gennaio", 1), ("gen", 1), ("febbraio", 2), ("aprile", 4), ("maggio", 5), ("mag", 5), ("giugno", 6),
    ("giu", 6), ("luglio", 7), ("lug", 7), ("settembre", 9), ("set", 9), ("ottobre", 10), ("ott", 10),
    ("dicembre", 12),
    // Dutch
    ("januari", 1), ("februari", 2), ("maart", 3), ("mrt", 3), ("mei", 5), ("augustus", 8),
    // Portuguese ("out" for outubro is left out: it is an English word)
    ("janeiro", 1), ("fevereiro", 2), ("fev", 2), ("março", 3), ("marco", 3), ("maio", 5), ("junho", 6),
    ("julho", 7), ("setembro", 9), ("outubro", 10), ("novembro", 11), ("dezembro", 12),
];

#[rustfmt::skip]
const WEEKDAYS: &[(&str, Weekday)] = &[
    ("monday", Weekday::Mon), ("mon", Weekday::Mon), ("tuesday", Weekday::Tue), ("tues", Weekday::Tue),
    ("tue", Weekday::Tue), ("wednesday", Weekday::Wed), ("wed", Weekday::Wed), ("thursday", Weekday::Thu),
    ("thurs", Weekday::Thu), ("thu", Weekday::Thu), ("friday", Weekday::Fri), ("fri", Weekday::Fri),
    ("saturday", Weekday::Sat), ("sunday", Weekday::Sun),
    ("montag", Weekday::Mon), ("dienstag", Weekday::Tue), ("mittwoch", Weekday::Wed), ("donnerstag", Weekday::Thu),
    ("freitag", Weekday::Fri), ("samstag", Weekday::Sat), ("sonntag", Weekday::Sun),
    ("lundi", Weekday::Mon), ("mardi", Weekday::Tue), ("mercredi", Weekday::Wed), ("jeudi", Weekday::Thu),
    ("vendredi", Weekday::Fri), ("samedi", Weekday::Sat), ("dimanche", Weekday::Sun),
    ("lunes", Weekday::Mon), ("martes", Weekday::Tue), ("miércoles", Weekday::Wed), ("miercoles", Weekday::Wed),
    ("jueves", Weekday::Thu), ("viernes", Weekday::Fri), ("sábado", Weekday::Sat), ("sabado", Weekday::Sat),
    ("domingo", Weekday::Sun),
    ("lunedì", Weekday::Mon), ("lunedi", Weekday::Mon), ("martedì", Weekday::Tue), ("martedi", Weekday::Tue),
    ("mercoledì", Weekday::Wed), ("mercoledi", Weekday::Wed), ("giovedì", Weekday::Thu), ("giovedi", Weekday::Thu),
    ("venerdì", Weekday::Fri), ("venerdi", Weekday::Fri), ("sabato", Weekday::Sat), ("domenica", Weekday::Sun),
    ("maandag", Weekday::Mon), ("dinsdag", Weekday::Tue), ("woensdag", Weekday::Wed), ("donderdag", Weekday::Thu),
    ("vrijdag", Weekday::Fri), ("zaterdag", Weekday::Sat), ("zondag", Weekday::Sun),
    ("segunda-feira", Weekday::Mon), ("segunda", Weekday::Mon), ("terça-feira", Weekday::Tue),
    ("terça", Weekday::Tue), ("terca", Weekday::Tue), ("quarta-feira", Weekday::Wed), ("quarta", Weekday::Wed),
    ("quinta-feira", Weekday::Thu), ("quinta", Weekday::Thu), ("sexta-feira", Weekday::Fri),
    ("sexta", Weekday::Fri),
];

/// Words after which a date is the day the person is back (or the last day away).
const RETURN_CUES: &str = r"(?:^|[^\p{L}])(back|return|returning|returns|until|till|til|through|thru|resume|resuming|reachable again|zurück|wieder|bis|retour|reviendrai|rentre|rentrerai|jusqu'au|jusqu’au|jusqu'à|à partir du|dès le|vuelta|regreso|regresaré|volveré|vuelvo|hasta|a partir del|reincorporo|rientro|rientrerò|ritorno|tornerò|fino al|fino a|a partire da|terug|weer|tot en met|t/m|tot|vanaf|volta|retorno|regresso|retornarei|voltarei|até|a partir de)(?:[^\p{L}]|$)";
/// Words after which a date is the first day away.
const START_CUES: &str = r"\b(from|since|starting|vom|ab dem|ab|seit|du|depuis|desde|del|dal|van|de)\s*$";

fn alternation<T>(table: &[(&str, T)]) -> String {
    let mut names: Vec<&str> = table.iter().map(|(name, _)| *name).collect();
    // Longest first, so "dezembro" is not read as "dez".
    names.sort_by_key(|name| std::cmp::Reverse(name.len()));
    names.join("|")
}

fn regex(pattern: &str) -> Regex {
    RegexBuilder::new(&super::rules::ascii_boundaries(pattern))
        .case_insensitive(true)
        .dfa_size_limit(16 << 20)
        .build()
        .unwrap_or_else(|e| panic!("date pattern does not compile: {e}"))
}

struct Patterns {
    iso: Regex,
    numeric: Regex,
    day_dot: Regex,
    day_month: Regex,
    month_day: Regex,
    weekday_day: Regex,
    weekday: Regex,
    return_cue: Regex,
    start_cue: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let months = alternation(MONTHS);
    let weekdays = alternation(WEEKDAYS);
    Patterns {
        iso: regex(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"),
        numeric: regex(r"\b(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})\b"),
        day_dot: regex(r"\b(\d{1,2})\.(\d{1,2})\.(?:\s|$|[,;)])"),
        day_month: regex(&format!(
            r"\b(\d{{1,2}})(?:st|nd|rd|th|er|e|º|°|ª)?\.?(?:\s+of)?\s+(?:de\s+)?({months})\b\.?(?:,?\s+(?:de\s+)?(\d{{4}}))?"
        )),
        month_day: regex(&format!(
            r"\b({months})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?"
        )),
        weekday_day: regex(&format!(
            r"\b({weekdays}),?\s+(?:the\s+|den\s+|le\s+|el\s+|il\s+|de\s+)?(\d{{1,2}})(?:st|nd|rd|th|er|e|º)?(?:[^\p{{L}}\p{{N}}]|$)"
        )),
        weekday: regex(&format!(r"\b({weekdays})(?:[^\p{{L}}]|$)")),
        return_cue: regex(RETURN_CUES),
        start_cue: regex(START_CUES),
    }
});

/// Every pattern's source, for the word-boundary check in `rules`.
#[cfg(test)]
pub(super) fn pattern_sources() -> Vec<String> {
    let p = &*PATTERNS;
    [
        &p.iso,
        &p.numeric,
        &p.day_dot,
        &p.day_month,
        &p.month_day,
        &p.weekday_day,
        &p.weekday,
        &p.return_cue,
        &p.start_cue,
    ]
    .iter()
    .map(|r| r.as_str().replace(r"(?-u:\b)", r"\b"))
    .collect()
}

fn lookup<T: Copy>(table: &[(&str, T)], name: &str) -> Option<T> {
    let name = name.to_lowercase();
    table.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

struct Candidate {
    start: usize,
    end: usize,
    date: NaiveDate,
}

/// The return date stated in `text`, if any. `sent_on` (the message's date)
/// gives dates without a year their year; without it only dates with a year
/// are read.
pub fn return_date(text: &str, sent_on: Option<NaiveDate>) -> Option<ReturnDate> {
    let p = &*PATTERNS;
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut push = |m: &Captures<'_>, date: Option<NaiveDate>| {
        if let (Some(whole), Some(date)) = (m.get(0), date)
            && !candidates
                .iter()
                .any(|c| c.start < whole.end() && whole.start() < c.end)
        {
            candidates.push(Candidate {
                start: whole.start(),
                end: whole.end(),
                date,
            });
        }
    };
    for caps in p.iso.captures_iter(text) {
        push(&caps, ymd(num(&caps, 1), num(&caps, 2), num(&caps, 3)));
    }
    for caps in p.numeric.captures_iter(text) {
        let (a, b) = (num(&caps, 1), num(&caps, 2));
        let year = num(&caps, 3).map(|y| if y < 100 { 2000 + y } else { y });
        let (day, month) = match (a, b) {
            (Some(a), Some(b)) if a <= 12 && b > 12 => (Some(b), Some(a)),
            _ => (a, b),
        };
        push(&caps, ymd(year, month, day));
    }
    for caps in p.day_month.captures_iter(text) {
        let month = caps.get(2).and_then(|m| lookup(MONTHS, m.as_str()));
        push(&caps, resolve(num(&caps, 3), month, num(&caps, 1), sent_on));
    }
    for caps in p.month_day.captures_iter(text) {
        let month = caps.get(1).and_then(|m| lookup(MONTHS, m.as_str()));
        push(&caps, resolve(num(&caps, 3), month, num(&caps, 2), sent_on));
    }
    for caps in p.day_dot.captures_iter(text) {
        push(&caps, resolve(None, num(&caps, 2), num(&caps, 1), sent_on));
    }
    for caps in p.weekday_day.captures_iter(text) {
        let weekday = caps.get(1).and_then(|m| lookup(WEEKDAYS, m.as_str()));
        push(&caps, day_with_weekday(num(&caps, 2), weekday, sent_on));
    }
    let scored = candidates.iter().map(|c| {
        // A date far beyond the message is a stale notice or a wrong guess of the year.
        let far = sent_on.is_some_and(|sent| c.date > sent + Duration::days(200));
        (cue_score(text, c.start, c.end) - i32::from(far), c)
    });
    let best = scored.max_by_key(|(score, c)| (*score, c.date));
    if let Some((_, c)) = best {
        return Some(ReturnDate {
            date: c.date,
            evidence: snippet(text, c.start, c.end),
        });
    }
    // "back on Monday": the next such day after the message.
    let sent_on = sent_on?;
    p.weekday.captures_iter(text).find_map(|caps| {
        let whole = caps.get(0)?;
        let before = window_before(text, whole.start(), 30);
        if !p.return_cue.is_match(before) {
            return None;
        }
        let weekday = lookup(WEEKDAYS, caps.get(1)?.as_str())?;
        let date = (1..=7)
            .map(|d| sent_on + Duration::days(d))
            .find(|d| d.weekday() == weekday)?;
        Some(ReturnDate {
            date,
            evidence: snippet(text, whole.start(), whole.end()),
        })
    })
}

fn num(caps: &Captures<'_>, i: usize) -> Option<u32> {
    caps.get(i)?.as_str().parse().ok()
}

fn ymd(year: Option<u32>, month: Option<u32>, day: Option<u32>) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(i32::try_from(year?).ok()?, month?, day?)
}

/// A day and month with the stated year, or the message's year rolled
/// forward past the message date.
fn resolve(year: Option<u32>, month: Option<u32>, day: Option<u32>, sent_on: Option<NaiveDate>) -> Option<NaiveDate> {
    if year.is_some() {
        return ymd(year, month, day);
    }
    let sent_on = sent_on?;
    let this_year = NaiveDate::from_ymd_opt(sent_on.year(), month?, day?);
    match this_year {
        Some(date) if date >= sent_on => Some(date),
        _ => NaiveDate::from_ymd_opt(sent_on.year() + 1, month?, day?),
    }
}

/// "Monday 7th": the first 7th on or after the message that is a Monday, in
/// this month or the next two; else the first 7th after the message.
fn day_with_weekday(day: Option<u32>, weekday: Option<Weekday>, sent_on: Option<NaiveDate>) -> Option<NaiveDate> {
    let (day, weekday, sent_on) = (day?, weekday?, sent_on?);
    let months = (0..3).filter_map(|ahead| {
        let first = sent_on.with_day(1)?;
        let month0 = first.month0() + ahead;
        NaiveDate::from_ymd_opt(first.year() + (month0 / 12) as i32, month0 % 12 + 1, day)
    });
    let upcoming: Vec<NaiveDate> = months.filter(|d| *d >= sent_on).collect();
    upcoming
        .iter()
        .find(|d| d.weekday() == weekday)
        .or(upcoming.first())
        .copied()
}

fn window_before(text: &str, at: usize, bytes: usize) -> &str {
    let mut start = at.saturating_sub(bytes);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..at]
}

fn window_after(text: &str, at: usize, bytes: usize) -> &str {
    let mut end = (at + bytes).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[at..end]
}

/// +2 for a return word just before, +1 for one just after ("ab dem 3.12.
/// wieder da"), −1 for a start word just before.
fn cue_score(text: &str, start: usize, end: usize) -> i32 {
    let p = &*PATTERNS;
    let before = window_before(text, start, 50);
    // Only the current sentence or line counts.
    let before = before.rsplit(['\n', '!', '?']).next().unwrap_or(before);
    if p.return_cue.is_match(before) {
        return 2;
    }
    let after = window_after(text, end, 40);
    let after = after.split(['\n', '!', '?']).next().unwrap_or(after);
    i32::from(p.return_cue.is_match(after)) - i32::from(p.start_cue.is_match(window_before(text, start, 15)))
}

fn snippet(text: &str, start: usize, end: usize) -> String {
    let before = window_before(text, start, 20);
    let before = before.rsplit('\n').next().unwrap_or(before);
    format!("{}{}", before.trim_start(), &text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn read(text: &str) -> Option<NaiveDate> {
        return_date(text, Some(day(2024, 11, 25))).map(|r| r.date)
    }

    #[test]
    fn the_seven_languages() {
        assert_eq!(
            read("I'm out of the office and back on 2 December."),
            Some(day(2024, 12, 2))
        );
        assert_eq!(
            read("Ich bin ab dem 20.11. im Urlaub und zurück am 3. Dezember."),
            Some(day(2024, 12, 3))
        );
        assert_eq!(
            read("Je suis absente, de retour le 4 décembre."),
            Some(day(2024, 12, 4))
        );
        assert_eq!(
            read("Estoy fuera, de vuelta el 5 de diciembre."),
            Some(day(2024, 12, 5))
        );
        assert_eq!(read("Sono in ferie, rientro il 6 dicembre."), Some(day(2024, 12, 6)));
        assert_eq!(read("Ik ben afwezig, terug op 7 december."), Some(day(2024, 12, 7)));
        assert_eq!(
            read("Estou de férias, de volta em 8 de dezembro."),
            Some(day(2024, 12, 8))
        );
    }

    #[test]
    fn numeric_weekday_and_rollover() {
        assert_eq!(read("Out until 09/12/2024"), Some(day(2024, 12, 9)));
        assert_eq!(read("Abwesend vom 25.11. bis 10.12.2024"), Some(day(2024, 12, 10)));
        assert_eq!(read("back 2024-12-11"), Some(day(2024, 12, 11)));
        // 2 December 2024 is a Monday; the message is from 25 November.
        assert_eq!(read("returning Monday 2nd"), Some(day(2024, 12, 2)));
        assert_eq!(read("back on 6 January"), Some(day(2025, 1, 6)));
        assert_eq!(
            read("I'm away from November 20 until December 3rd"),
            Some(day(2024, 12, 3))
        );
        assert_eq!(read("back on Thursday"), Some(day(2024, 11, 28)));
        assert_eq!(read("Thanks for your message"), None);
        assert_eq!(return_date("back on 2 December", None), None);
    }
}
