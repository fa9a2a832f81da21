//! Sending windows, time zones and slot planning: when a cold email may go out.
//!
//! Everything here is pure: the clock and the randomness come in as arguments, so
//! the launch, the scheduler and the sender agree on the same instants and tests
//! are exact. Wall-clock times are resolved with the IANA database (chrono-tz): a
//! time that a spring-forward skips means the first instant after the gap, and a
//! time that a fall-back repeats means its earlier occurrence.

mod planner;

pub use planner::{Assignment, MailboxCapacity, NewLeadCap, Plan, PlanRules, SendRequest, plan_sends};

use crate::error::FieldError;
use crate::input::{self, Problems};
use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Timelike,
    Utc,
};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An IANA time zone such as `Europe/Berlin`. Only names the tz database knows
/// are accepted, so a stored zone always resolves; it travels as its canonical name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[schema(value_type = String, example = "Europe/Berlin")]
pub struct Timezone(Tz);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an IANA time zone such as Europe/Berlin")]
pub struct InvalidTimezone;

impl Timezone {
    pub const UTC: Timezone = Timezone(Tz::UTC);

    /// Reads a zone name; surrounding blanks and letter case are forgiven because
    /// imported sheets often carry `europe/berlin`.
    pub fn parse(name: &str) -> Result<Self, InvalidTimezone> {
        let name = name.trim();
        if let Ok(tz) = name.parse::<Tz>() {
            return Ok(Self(tz));
        }
        chrono_tz::TZ_VARIANTS
            .iter()
            .find(|tz| tz.name().eq_ignore_ascii_case(name))
            .map(|tz| Self(*tz))
            .ok_or(InvalidTimezone)
    }

    /// The canonical IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    pub fn tz(self) -> Tz {
        self.0
    }
}

impl Default for Timezone {
    fn default() -> Self {
        Self::UTC
    }
}

impl From<Tz> for Timezone {
    fn from(tz: Tz) -> Self {
        Self(tz)
    }
}

impl FromStr for Timezone {
    type Err = InvalidTimezone;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Timezone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Self::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// A day of the week, written `mon` … `sun` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// Monday to Friday: the days business-day delays count.
    pub const WORKDAYS: [Weekday; 5] = [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri];

    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }

    pub fn is_weekend(self) -> bool {
        matches!(self, Weekday::Sat | Weekday::Sun)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

impl From<chrono::Weekday> for Weekday {
    fn from(day: chrono::Weekday) -> Self {
        Self::ALL[day.num_days_from_monday() as usize]
    }
}

impl From<Weekday> for chrono::Weekday {
    fn from(day: Weekday) -> Self {
        match day {
            Weekday::Mon => chrono::Weekday::Mon,
            Weekday::Tue => chrono::Weekday::Tue,
            Weekday::Wed => chrono::Weekday::Wed,
            Weekday::Thu => chrono::Weekday::Thu,
            Weekday::Fri => chrono::Weekday::Fri,
            Weekday::Sat => chrono::Weekday::Sat,
            Weekday::Sun => chrono::Weekday::Sun,
        }
    }
}

impl fmt::Display for Weekday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When sending is allowed, in some local time: on `days`, from `start`
/// (inclusive) to `end` (exclusive), e.g.
/// `{"days": ["mon","tue","wed","thu","fri"], "start": "09:00", "end": "17:00"}`.
///
/// The fields are private and every way in validates, so a window always opens
/// at least once a week and a slot search over it always ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "WindowInput")]
pub struct SendingWindow {
    /// The days the window opens, Monday first, each at most once.
    days: Vec<Weekday>,
    /// Local opening time, `HH:MM`.
    #[serde(with = "hhmm")]
    #[schema(value_type = String, example = "09:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    start: NaiveTime,
    /// Local closing time, `HH:MM`, after `start`; sending stops just before it.
    #[serde(with = "hhmm")]
    #[schema(value_type = String, example = "17:00", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    end: NaiveTime,
    /// `days` as a bit set, for the hot path.
    #[serde(skip)]
    mask: u8,
}

/// The raw JSON shape, checked by [`SendingWindow::from_json`] or serde's `try_from`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WindowInput {
    days: Vec<Weekday>,
    #[serde(with = "hhmm")]
    start: NaiveTime,
    #[serde(with = "hhmm")]
    end: NaiveTime,
}

impl TryFrom<WindowInput> for SendingWindow {
    type Error = String;

    fn try_from(value: WindowInput) -> Result<Self, Self::Error> {
        Self::build(value.days, value.start, value.end, "").map_err(|errors| {
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

const fn time(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(time) => time,
        None => panic!("not a time of day"),
    }
}

impl Default for SendingWindow {
    /// Monday to Friday, 09:00–17:00: office hours, when cold email gets read.
    fn default() -> Self {
        Self {
            days: Weekday::WORKDAYS.to_vec(),
            start: time(9, 0),
            end: time(17, 0),
            mask: Weekday::WORKDAYS.iter().fold(0, |mask, day| mask | day.bit()),
        }
    }
}

impl SendingWindow {
    /// A checked window; errors name `/days`, `/start` or `/end`.
    pub fn new(days: Vec<Weekday>, start: NaiveTime, end: NaiveTime) -> Result<Self, Vec<FieldError>> {
        Self::build(days, start, end, "")
    }

    /// Reads a window from client JSON, naming each problem below `base`
    /// (e.g. `/settings/sending_window/end`).
    pub fn from_json(value: serde_json::Value, base: &str) -> Result<Self, Vec<FieldError>> {
        let raw: WindowInput = input::decode(value, base).map_err(|e| vec![e])?;
        Self::build(raw.days, raw.start, raw.end, base)
    }

    fn build(mut days: Vec<Weekday>, start: NaiveTime, end: NaiveTime, base: &str) -> Result<Self, Vec<FieldError>> {
        let mut problems = Problems::at(base);
        if days.is_empty() {
            problems.add("days", "must name at least one day");
        }
        let mut mask = 0u8;
        for day in &days {
            if mask & day.bit() != 0 {
                problems.add("days", format!("names {day} more than once"));
            }
            mask |= day.bit();
        }
        let whole_minute = |t: NaiveTime| t.second() == 0 && t.nanosecond() == 0;
        if !whole_minute(start) {
            problems.add("start", "must be a whole minute (HH:MM)");
        }
        if !whole_minute(end) {
            problems.add("end", "must be a whole minute (HH:MM)");
        }
        if start >= end {
            problems.add("end", "must be after start");
        }
        problems.into_result()?;
        days.sort();
        days.dedup();
        Ok(Self { days, start, end, mask })
    }

    pub fn days(&self) -> &[Weekday] {
        &self.days
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }

    pub fn end(&self) -> NaiveTime {
        self.end
    }

    pub fn opens_on(&self, day: Weekday) -> bool {
        self.mask & day.bit() != 0
    }

    /// Whether a wall-clock time lies inside the window.
    pub fn contains_local(&self, local: NaiveDateTime) -> bool {
        let time = local.time();
        self.opens_on(local.weekday().into()) && self.start <= time && time < self.end
    }

    /// The first opening strictly after `local`, in wall-clock time.
    fn next_start_after(&self, local: NaiveDateTime) -> Option<NaiveDateTime> {
        (0..=7).find_map(|ahead| {
            let date = local.date().checked_add_days(Days::new(ahead))?;
            let later = ahead > 0 || local.time() < self.start;
            (later && self.opens_on(date.weekday().into())).then(|| date.and_time(self.start))
        })
    }
}

/// `HH:MM` times of day, the only form the API speaks.
mod hhmm {
    use chrono::NaiveTime;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &NaiveTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&time.format("%H:%M"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).ok_or_else(|| serde::de::Error::custom("must be a time of day as HH:MM, e.g. 09:00"))
    }

    pub fn parse(text: &str) -> Option<NaiveTime> {
        let (hour, minute) = text.split_once(':')?;
        let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(hour) || !two_digits(minute) {
            return None;
        }
        NaiveTime::from_hms_opt(hour.parse().ok()?, minute.parse().ok()?, 0)
    }
}

/// An upper bound on search steps. Each step reaches a window opening, an
/// offset change or the next day, and a valid window opens within two weeks
/// (one week, plus one more when a DST gap swallows that day's window).
const MAX_STEPS: usize = 128;

/// Whether `window`, read in `tz`, is open at `at`.
pub fn is_open(window: &SendingWindow, tz: Timezone, at: DateTime<Utc>) -> bool {
    window.contains_local(at.with_timezone(&tz.0).naive_local())
}

/// The earliest instant at or after `not_before` at which `window`, read in
/// `tz`, is open. Works on instants, not on wall-clock arithmetic, so DST is
/// handled by construction: an opening time that a spring-forward skips opens
/// at the first instant after the gap, one that a fall-back repeats opens at
/// its earlier occurrence, and a window the clocks jump back into reopens.
pub fn next_slot(window: &SendingWindow, tz: Timezone, not_before: DateTime<Utc>) -> DateTime<Utc> {
    let mut at = not_before;
    for _ in 0..MAX_STEPS {
        let off = offset_seconds(tz.0, at);
        let Some(local) = shift(at, off) else { break };
        if window.contains_local(local) {
            return at;
        }
        let Some(opening) = window.next_start_after(local) else {
            break;
        };
        let Some(next) = advance_toward(tz.0, at, off, opening) else {
            break;
        };
        at = next;
    }
    // Only reachable at the edge of the representable range.
    at
}

/// When a sequence step that waits `delay_days` after `from` is due: the same
/// local time of day in `tz`, `delay_days` calendar days later, or, with
/// `business_days`, that many Monday–Friday days later (a weekend start counts
/// from the Friday before, so one business day after Saturday is Monday). A
/// time of day the destination date skips or repeats resolves as in
/// [`resolve_local`]. A delay beyond the calendar saturates at the last instant.
pub fn after_delay(from: DateTime<Utc>, delay_days: u32, business_days: bool, tz: Timezone) -> DateTime<Utc> {
    if delay_days == 0 {
        return from;
    }
    let local = from.with_timezone(&tz.0).naive_local();
    let date = if business_days {
        add_business_days(local.date(), delay_days)
    } else {
        local.date().checked_add_days(Days::new(delay_days.into()))
    };
    match date {
        Some(date) => resolve_local(tz, date.and_time(local.time())),
        None => DateTime::<Utc>::MAX_UTC,
    }
}

/// The instant a wall-clock time means in `tz`: the earlier one when a
/// fall-back repeats it, the first instant after the gap when a spring-forward
/// skips it.
pub fn resolve_local(tz: Timezone, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.0.from_local_datetime(&local) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
        LocalResult::None => {
            // Offsets stay within ±15 hours, so this instant is before the gap.
            let before = local
                .checked_sub_signed(TimeDelta::hours(15))
                .unwrap_or(local)
                .and_utc();
            first_local_at_or_after(tz.0, before, local)
        }
    }
}

fn add_business_days(date: NaiveDate, days: u32) -> Option<NaiveDate> {
    // Saturday and Sunday are followed by the same business days as the Friday before.
    let back = match Weekday::from(date.weekday()) {
        Weekday::Sat => 1,
        Weekday::Sun => 2,
        _ => 0,
    };
    let friday_or_weekday = date.checked_sub_days(Days::new(back))?;
    // From a weekday, five business days are exactly one week.
    let mut day = friday_or_weekday.checked_add_days(Days::new(u64::from(days / 5) * 7))?;
    for _ in 0..days % 5 {
        day = day.succ_opt()?;
        while Weekday::from(day.weekday()).is_weekend() {
            day = day.succ_opt()?;
        }
    }
    Some(day)
}

/// The local calendar day of `at` in `tz`.
pub fn local_date(tz: Timezone, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&tz.0).date_naive()
}

/// The first instant of the local day after the one `at` falls on.
pub fn start_of_next_day(tz: Timezone, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let next = local_date(tz, at).succ_opt()?;
    Some(first_local_at_or_after(tz.0, at, next.and_time(NaiveTime::MIN)))
}

/// The earliest instant at or after `from` whose wall-clock time in `tz` has
/// reached `target`.
fn first_local_at_or_after(tz: Tz, from: DateTime<Utc>, target: NaiveDateTime) -> DateTime<Utc> {
    let mut at = from;
    for _ in 0..MAX_STEPS {
        let off = offset_seconds(tz, at);
        match shift(at, off) {
            Some(local) if local < target => {}
            _ => return at,
        }
        let Some(next) = advance_toward(tz, at, off, target) else {
            break;
        };
        at = next;
    }
    at
}

/// One step from `at` (whose UTC offset is `off`) toward the instant whose
/// wall-clock time is `target > local(at)`: that instant if the offset holds
/// until then, else the first instant of the new offset. Steps are at most a
/// day long so that two offset changes never hide between the ends.
fn advance_toward(tz: Tz, at: DateTime<Utc>, off: i64, target: NaiveDateTime) -> Option<DateTime<Utc>> {
    let wanted = target.checked_sub_signed(TimeDelta::seconds(off))?.and_utc();
    let to = wanted.min(at.checked_add_signed(TimeDelta::days(1))?);
    Some(first_change(tz, at, to, off).unwrap_or(to))
}

/// The first whole second in `(from, to]` whose offset is not `off` (the
/// offset at `from`), if the offset at `to` differs. tz transitions fall on
/// whole seconds, so a binary search over seconds finds it exactly.
fn first_change(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>, off: i64) -> Option<DateTime<Utc>> {
    if offset_seconds(tz, to) == off {
        return None;
    }
    let mut same = from.timestamp();
    let mut changed = to.timestamp() + i64::from(to.timestamp_subsec_nanos() > 0);
    while changed - same > 1 {
        let mid = same + (changed - same) / 2;
        match DateTime::from_timestamp(mid, 0) {
            Some(probe) if offset_seconds(tz, probe) == off => same = mid,
            _ => changed = mid,
        }
    }
    DateTime::from_timestamp(changed, 0)
}

fn offset_seconds(tz: Tz, at: DateTime<Utc>) -> i64 {
    i64::from(tz.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc())
}

fn shift(at: DateTime<Utc>, seconds: i64) -> Option<NaiveDateTime> {
    at.naive_utc().checked_add_signed(TimeDelta::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    pub(super) fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    pub(super) fn zone(name: &str) -> Timezone {
        Timezone::parse(name).unwrap()
    }

    fn window(days: &[Weekday], start: &str, end: &str) -> SendingWindow {
        SendingWindow::new(days.to_vec(), hhmm::parse(start).unwrap(), hhmm::parse(end).unwrap()).unwrap()
    }

    fn every_day(start: &str, end: &str) -> SendingWindow {
        window(&Weekday::ALL, start, end)
    }

    const LA: &str = "America/Los_Angeles";
    const BERLIN: &str = "Europe/Berlin";
    const TOKYO: &str = "Asia/Tokyo";

    #[test]
    fn timezones_are_iana_names() {
        assert_eq!(zone("Europe/Berlin").name(), "Europe/Berlin");
        assert_eq!(
            zone("  europe/berlin ").name(),
            "Europe/Berlin",
            "blanks and case are forgiven"
        );
        assert_eq!(zone("UTC"), Timezone::UTC);
        for bad in ["", "Mars/Base", "+01:00", "Berlin", "Europe/Berlin/Mitte"] {
            assert_eq!(Timezone::parse(bad), Err(InvalidTimezone), "{bad:?}");
        }
        assert_eq!(
            InvalidTimezone.to_string(),
            "must be an IANA time zone such as Europe/Berlin"
        );
    }

    #[test]
    fn timezones_travel_as_their_name() {
        assert_eq!(serde_json::to_value(zone(TOKYO)).unwrap(), json!("Asia/Tokyo"));
        let back: Timezone = serde_json::from_value(json!("America/Los_Angeles")).unwrap();
        assert_eq!(back, zone(LA));
        let err = serde_json::from_value::<Timezone>(json!("Atlantis/Capital")).unwrap_err();
        assert!(err.to_string().contains("IANA"), "{err}");
    }

    #[test]
    fn weekdays_convert_both_ways() {
        for day in Weekday::ALL {
            assert_eq!(Weekday::from(chrono::Weekday::from(day)), day);
            assert_eq!(Weekday::parse(day.as_str()), Some(day));
        }
        assert_eq!(Weekday::parse("Monday"), None);
    }

    #[test]
    fn the_default_window_is_office_hours_and_has_the_documented_shape() {
        let value = serde_json::to_value(SendingWindow::default()).unwrap();
        assert_eq!(
            value,
            json!({"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"})
        );
        let back: SendingWindow = serde_json::from_value(value.clone()).unwrap();
        assert_eq!(back, SendingWindow::default());
        assert_eq!(SendingWindow::from_json(value, "/w").unwrap(), SendingWindow::default());
    }

    #[test]
    fn window_days_are_kept_monday_first() {
        let w = SendingWindow::from_json(
            json!({"days": ["sun", "wed", "mon"], "start": "08:30", "end": "12:00"}),
            "",
        )
        .unwrap();
        assert_eq!(w.days(), [Weekday::Mon, Weekday::Wed, Weekday::Sun]);
        assert_eq!(serde_json::to_value(&w).unwrap()["days"], json!(["mon", "wed", "sun"]));
    }

    #[test]
    fn window_problems_are_named_per_field() {
        let base = "/settings/sending_window";
        let fields = |value| {
            SendingWindow::from_json(value, base)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(json!({"days": [], "start": "17:00", "end": "09:00"})),
            [format!("{base}/days"), format!("{base}/end")]
        );
        assert_eq!(
            fields(json!({"days": ["mon", "mon"], "start": "09:00", "end": "09:00"})),
            [format!("{base}/days"), format!("{base}/end")]
        );
        assert_eq!(
            fields(json!({"days": ["mon"], "start": "9am", "end": "17:00"})),
            [format!("{base}/start")]
        );
        assert_eq!(
            fields(json!({"days": ["mon", "funday"], "start": "09:00", "end": "17:00"})),
            [format!("{base}/days/1")]
        );
        assert_eq!(
            fields(json!({"days": ["mon"], "start": "09:00", "end": "24:00"})),
            [format!("{base}/end")]
        );
        assert_eq!(
            fields(json!({"days": ["mon"], "start": "09:00", "end": "17:00", "tz": "UTC"})),
            [format!("{base}/tz")]
        );
    }

    #[test]
    fn plain_serde_refuses_invalid_windows() {
        let err =
            serde_json::from_value::<SendingWindow>(json!({"days": [], "start": "09:00", "end": "17:00"})).unwrap_err();
        assert!(err.to_string().contains("/days: must name at least one day"), "{err}");
        let err = SendingWindow::new(
            vec![Weekday::Mon],
            time(9, 0),
            NaiveTime::from_hms_opt(17, 0, 30).unwrap(),
        )
        .unwrap_err();
        assert_eq!(err[0].field, "/end");
    }

    #[test]
    fn an_open_instant_is_its_own_slot() {
        let w = SendingWindow::default();
        // Friday 16:59 local is still inside 09:00–17:00.
        for (tz, at) in [
            (LA, "2026-03-06T16:59:00-08:00"),
            (BERLIN, "2026-03-06T16:59:00+01:00"),
            (TOKYO, "2026-03-06T16:59:00+09:00"),
        ] {
            assert_eq!(next_slot(&w, zone(tz), utc(at)), utc(at), "{tz}");
            assert!(is_open(&w, zone(tz), utc(at)));
        }
    }

    #[test]
    fn before_opening_waits_for_the_start_of_the_day() {
        let w = SendingWindow::default();
        assert_eq!(
            next_slot(&w, zone(BERLIN), utc("2026-03-04T05:12:34Z")),
            utc("2026-03-04T09:00:00+01:00")
        );
    }

    #[test]
    fn friday_evening_and_saturday_wait_for_monday_in_every_zone() {
        let w = SendingWindow::default();
        for (tz, friday_close, saturday, monday) in [
            (
                TOKYO,
                "2026-02-06T17:00:00+09:00",
                "2026-02-07T11:00:00+09:00",
                "2026-02-09T09:00:00+09:00",
            ),
            (
                BERLIN,
                "2026-02-06T17:00:00+01:00",
                "2026-02-07T11:00:00+01:00",
                "2026-02-09T09:00:00+01:00",
            ),
            (
                LA,
                "2026-02-06T17:00:00-08:00",
                "2026-02-07T11:00:00-08:00",
                "2026-02-09T09:00:00-08:00",
            ),
        ] {
            assert_eq!(next_slot(&w, zone(tz), utc(friday_close)), utc(monday), "{tz}");
            assert_eq!(next_slot(&w, zone(tz), utc(saturday)), utc(monday), "{tz}");
            assert!(!is_open(&w, zone(tz), utc(friday_close)));
        }
    }

    #[test]
    fn weekends_with_a_dst_change_open_at_the_new_local_nine() {
        let w = SendingWindow::default();
        for (tz, friday_close, monday) in [
            // US spring-forward on Sunday 2026-03-08: Monday 09:00 is PDT.
            (LA, "2026-03-06T17:00:00-08:00", "2026-03-09T16:00:00Z"),
            // EU spring-forward on Sunday 2026-03-29: Monday 09:00 is CEST.
            (BERLIN, "2026-03-27T17:00:00+01:00", "2026-03-30T07:00:00Z"),
            // EU fall-back on Sunday 2026-10-25: Monday 09:00 is CET.
            (BERLIN, "2026-10-23T17:00:00+02:00", "2026-10-26T08:00:00Z"),
            // US fall-back on Sunday 2026-11-01: Monday 09:00 is PST.
            (LA, "2026-10-30T17:00:00-07:00", "2026-11-02T17:00:00Z"),
        ] {
            assert_eq!(
                next_slot(&w, zone(tz), utc(friday_close)),
                utc(monday),
                "{tz} {friday_close}"
            );
        }
    }

    #[test]
    fn an_opening_in_a_spring_forward_gap_moves_to_the_first_valid_instant() {
        // 02:30 does not exist in Los Angeles on 2026-03-08; 02:00 PST jumps to 03:00 PDT.
        let w = every_day("02:30", "04:00");
        let slot = next_slot(&w, zone(LA), utc("2026-03-08T01:00:00-08:00"));
        assert_eq!(slot, utc("2026-03-08T03:00:00-07:00"));
        // A window entirely inside the gap does not open that day.
        let w = every_day("02:10", "02:50");
        let slot = next_slot(&w, zone(LA), utc("2026-03-08T01:00:00-08:00"));
        assert_eq!(slot, utc("2026-03-09T02:10:00-07:00"));
    }

    #[test]
    fn an_ambiguous_opening_takes_the_earlier_instant() {
        // 01:30 happens twice in Los Angeles on 2026-11-01.
        let w = every_day("01:30", "03:00");
        let slot = next_slot(&w, zone(LA), utc("2026-11-01T00:00:00-07:00"));
        assert_eq!(slot, utc("2026-11-01T01:30:00-07:00"));
        // And the clocks falling back into a window reopen it.
        let w = every_day("01:00", "01:30");
        let slot = next_slot(&w, zone(LA), utc("2026-11-01T01:45:00-07:00"));
        assert_eq!(slot, utc("2026-11-01T01:00:00-08:00"));
    }

    #[test]
    fn calendar_delays_keep_the_local_time_of_day() {
        let berlin = zone(BERLIN);
        // Thursday 10:00 + 3 days = Sunday 10:00 (the window deals with the weekend).
        assert_eq!(
            after_delay(utc("2026-03-05T10:00:00+01:00"), 3, false, berlin),
            utc("2026-03-08T10:00:00+01:00")
        );
        // Across the EU change: 10:00 CET Friday, 10:00 CEST Monday.
        assert_eq!(
            after_delay(utc("2026-03-27T10:00:00+01:00"), 3, false, berlin),
            utc("2026-03-30T10:00:00+02:00")
        );
        let from = utc("2026-03-05T10:00:00+01:00");
        assert_eq!(after_delay(from, 0, false, berlin), from);
        assert_eq!(after_delay(from, 0, true, berlin), from);
    }

    #[test]
    fn business_day_delays_skip_weekends_in_the_leads_zone() {
        let la = zone(LA);
        // Friday + 1 business day = Monday; Saturday and Sunday + 1 = Monday.
        for from in [
            "2026-02-06T10:00:00-08:00",
            "2026-02-07T10:00:00-08:00",
            "2026-02-08T10:00:00-08:00",
        ] {
            assert_eq!(
                after_delay(utc(from), 1, true, la),
                utc("2026-02-09T10:00:00-08:00"),
                "{from}"
            );
        }
        // Wednesday + 3 = Monday, + 5 = next Wednesday, + 10 = the Wednesday after.
        let wednesday = utc("2026-02-04T10:00:00-08:00");
        assert_eq!(after_delay(wednesday, 3, true, la), utc("2026-02-09T10:00:00-08:00"));
        assert_eq!(after_delay(wednesday, 5, true, la), utc("2026-02-11T10:00:00-08:00"));
        assert_eq!(after_delay(wednesday, 10, true, la), utc("2026-02-18T10:00:00-08:00"));
        // Saturday in Tokyo is still Friday in Los Angeles: the lead's zone decides.
        let friday_la = utc("2026-02-06T16:00:00-08:00");
        assert_eq!(after_delay(friday_la, 1, true, la), utc("2026-02-09T16:00:00-08:00"));
        assert_eq!(
            after_delay(friday_la, 1, true, zone(TOKYO)),
            utc("2026-02-09T09:00:00+09:00")
        );
        // Across the US change, the wall-clock time holds.
        assert_eq!(
            after_delay(utc("2026-03-06T10:00:00-08:00"), 1, true, la),
            utc("2026-03-09T10:00:00-07:00")
        );
    }

    #[test]
    fn delays_landing_in_a_gap_or_a_repeat_resolve_like_openings() {
        let la = zone(LA);
        assert_eq!(
            after_delay(utc("2026-03-07T02:30:00-08:00"), 1, false, la),
            utc("2026-03-08T03:00:00-07:00")
        );
        assert_eq!(
            after_delay(utc("2026-10-31T01:30:00-07:00"), 1, false, la),
            utc("2026-11-01T01:30:00-07:00")
        );
    }

    #[test]
    fn absurd_delays_saturate_instead_of_panicking() {
        let from = utc("2026-03-05T10:00:00Z");
        assert_eq!(
            after_delay(from, u32::MAX, false, Timezone::UTC),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(
            after_delay(from, u32::MAX, true, Timezone::UTC),
            DateTime::<Utc>::MAX_UTC
        );
        let _ = next_slot(&SendingWindow::default(), zone(TOKYO), DateTime::<Utc>::MAX_UTC);
        let _ = next_slot(&SendingWindow::default(), zone(LA), DateTime::<Utc>::MIN_UTC);
    }

    /// Zones with DST, half-hour and 45-minute offsets, negative DST and
    /// midnight transitions.
    const ZONES: [&str; 14] = [
        "UTC",
        "America/Los_Angeles",
        "America/New_York",
        "America/St_Johns",
        "America/Santiago",
        "America/Havana",
        "Europe/Berlin",
        "Europe/Dublin",
        "Africa/Casablanca",
        "Asia/Tokyo",
        "Asia/Kathmandu",
        "Australia/Lord_Howe",
        "Australia/Sydney",
        "Pacific/Chatham",
    ];

    fn arb_window() -> impl Strategy<Value = SendingWindow> {
        (1u8..128, 0u32..1439)
            .prop_flat_map(|(mask, start)| (Just(mask), Just(start), start + 1..1440))
            .prop_map(|(mask, start, end)| {
                let days = Weekday::ALL.into_iter().filter(|d| mask & d.bit() != 0).collect();
                SendingWindow::new(days, time(start / 60, start % 60), time(end / 60, end % 60)).unwrap()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn next_slot_is_the_first_open_instant(
            window in arb_window(),
            zone_index in 0..ZONES.len(),
            // 2020-01-01 to 2031-01-01, at any second.
            seconds in 1_577_836_800i64..1_924_991_999,
            nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000],
        ) {
            let tz = zone(ZONES[zone_index]);
            let not_before = DateTime::from_timestamp(seconds, nanos).unwrap();
            let slot = next_slot(&window, tz, not_before);
            prop_assert!(slot >= not_before);
            prop_assert!(is_open(&window, tz, slot), "{slot} is closed");
            prop_assert!(slot - not_before <= TimeDelta::days(15));
            if slot > not_before {
                prop_assert!(!is_open(&window, tz, not_before));
                // No open minute in between, within a bounded horizon.
                let horizon = slot.min(not_before + TimeDelta::days(3));
                let mut minute = not_before.timestamp() - not_before.timestamp().rem_euclid(60) + 60;
                while minute < horizon.timestamp() {
                    let at = DateTime::from_timestamp(minute, 0).unwrap();
                    prop_assert!(!is_open(&window, tz, at), "{at} is open before {slot}");
                    minute += 60;
                }
            }
        }

        #[test]
        fn business_delays_land_on_weekdays_at_the_same_time(
            zone_index in 0..ZONES.len(),
            seconds in 1_577_836_800i64..1_924_991_999,
            delay in 1u32..40,
        ) {
            let tz = zone(ZONES[zone_index]);
            let from = DateTime::from_timestamp(seconds, 0).unwrap();
            let due = after_delay(from, delay, true, tz);
            let local_from = from.with_timezone(&tz.tz()).naive_local();
            let local_due = due.with_timezone(&tz.tz()).naive_local();
            prop_assert!(due > from);
            prop_assert!(!Weekday::from(local_due.weekday()).is_weekend());
            let calendar = (local_due.date() - local_from.date()).num_days();
            prop_assert!(calendar >= i64::from(delay) && calendar <= i64::from(delay) / 5 * 7 + 6);
            // The time of day holds unless a DST gap swallowed it.
            let wanted = local_due.date().and_time(local_from.time());
            if !matches!(tz.tz().from_local_datetime(&wanted), LocalResult::None) {
                prop_assert_eq!(local_due.time(), local_from.time());
            }
        }
    }
}
