//! Which mailbox sends to which lead, and when.
//!
//! The rule: a send to a lead through a mailbox may happen at instant `t` when
//!
//! - `t` is at or after the request's `not_before` (and at or before `until`);
//! - the campaign window is open at `t` in the **lead's** time zone: recipients
//!   should get mail in their own office hours;
//! - the mailbox's own window, if it keeps one, is open at `t` in the
//!   **mailbox's** time zone. Mailbox windows are optional because most
//!   mailboxes are sending identities that can send at any hour; one is meant
//!   for a personal inbox whose owner should not appear to write at 3 a.m.
//!   When both apply, a slot must satisfy both, and a lead whose window never
//!   meets the mailbox's is never sent by it;
//! - the mailbox has sent fewer than `daily_cap` emails on the local day (in
//!   the mailbox's zone) that `t` falls on, counting what was booked before;
//! - `t` is at least `min_gap_seconds` plus a random jitter after the
//!   mailbox's previous send;
//! - for a new lead, the campaign has started fewer than `per_day` new leads on
//!   the campaign's local day of `t`.
//!
//! The planner simulates time: the mailbox that is free earliest (ties: fewest
//! sends in this plan, then input order, which rotates the load) takes the
//! eligible request that has waited longest (earliest `not_before`, then input
//! order). Requests are grouped by time zone, so one step checks each zone's
//! window once rather than every lead, and each mailbox keeps its next free
//! instant and per-day counters: a plan costs about
//! `requests × (zones + log mailboxes)` window checks.

use super::{SendingWindow, Timezone, is_open, local_date, next_slot, start_of_next_day};
use crate::ids::MailboxId;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use rand::Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;

/// A mailbox that finds nothing it may send for this long (beyond the latest
/// `not_before`) gives up: its window and the leads' windows do not meet, or
/// the caps leave no room. Two weeks cover weekly windows even in the weeks
/// when the US and the EU are on different DST.
const IDLE_LIMIT: TimeDelta = TimeDelta::days(15);

/// How many full campaign days a new lead looks past before giving up.
const MAX_FULL_DAYS: usize = 62;

/// What the planner needs to know about one sending mailbox.
#[derive(Debug, Clone)]
pub struct MailboxCapacity<M = MailboxId> {
    pub id: M,
    /// At most this many sends per local day of the mailbox, all campaigns together.
    pub daily_cap: u32,
    /// Sends of this mailbox are at least this far apart, so it does not burst.
    pub min_gap_seconds: u32,
    /// Up to this many extra seconds, drawn per send, on top of the gap, so the
    /// sends do not tick like a metronome.
    pub jitter_seconds: u32,
    /// The mailbox's own hours, if it keeps any (see the module rule).
    pub window: Option<SendingWindow>,
    /// Whose days `daily_cap` counts and in which `window` is read.
    pub timezone: Timezone,
    /// Sends already booked or made, per local day of the mailbox.
    pub booked_per_day: HashMap<NaiveDate, u32>,
    /// The latest send already booked or made; new sends follow it.
    pub last_send: Option<DateTime<Utc>>,
}

impl<M> MailboxCapacity<M> {
    /// A mailbox with nothing booked, no gap, no jitter and no window of its own.
    pub fn new(id: M, daily_cap: u32, timezone: Timezone) -> Self {
        Self {
            id,
            daily_cap,
            min_gap_seconds: 0,
            jitter_seconds: 0,
            window: None,
            timezone,
            booked_per_day: HashMap::new(),
            last_send: None,
        }
    }
}

/// One email to place: a lead (or any key the caller wants back) and its zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest<L, M = MailboxId> {
    pub lead: L,
    /// The lead's time zone (the campaign's when the lead has none).
    pub timezone: Timezone,
    /// Not earlier than this: the launch time, or when the step's delay is over.
    pub not_before: DateTime<Utc>,
    /// Only this mailbox may send it: a follow-up goes from the mailbox that
    /// started the thread.
    pub mailbox: Option<M>,
    /// Counts toward the campaign's new-leads-per-day cap (a first email does).
    pub new_lead: bool,
}

impl<L, M> SendRequest<L, M> {
    /// The first email to a lead: any mailbox, counts as a new lead.
    pub fn first_email(lead: L, timezone: Timezone, not_before: DateTime<Utc>) -> Self {
        Self {
            lead,
            timezone,
            not_before,
            mailbox: None,
            new_lead: true,
        }
    }

    /// A later step: from the thread's mailbox, not a new lead.
    pub fn follow_up(lead: L, timezone: Timezone, not_before: DateTime<Utc>, mailbox: M) -> Self {
        Self {
            lead,
            timezone,
            not_before,
            mailbox: Some(mailbox),
            new_lead: false,
        }
    }
}

/// The campaign-wide limit on leads started per day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLeadCap {
    pub per_day: u32,
    /// Whose days are counted (the campaign's zone).
    pub timezone: Timezone,
    /// New leads already booked, per local day.
    pub booked_per_day: HashMap<NaiveDate, u32>,
}

/// The campaign-level rules of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanRules {
    /// The campaign's window, read in each lead's own zone.
    pub window: SendingWindow,
    pub new_leads_per_day: Option<NewLeadCap>,
    /// Nothing is planned after this instant (e.g. "plan the next 24 hours").
    pub until: Option<DateTime<Utc>>,
}

/// A lead placed on a mailbox at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment<L, M = MailboxId> {
    pub lead: L,
    pub mailbox: M,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<L, M = MailboxId> {
    /// In send order.
    pub assignments: Vec<Assignment<L, M>>,
    /// What could not be placed, in input order: pinned to a mailbox not
    /// offered, no room before `until`, caps of zero, or windows that never meet.
    pub unplanned: Vec<L>,
}

/// Requests of one zone, one pin and one kind: they open and close together.
struct Group {
    timezone: Timezone,
    /// The one mailbox allowed to send these, by index.
    pin: Option<usize>,
    new_lead: bool,
    /// Waiting requests by (not_before, input index).
    pending: BinaryHeap<Reverse<(DateTime<Utc>, usize)>>,
}

impl Group {
    fn head(&self) -> Option<(DateTime<Utc>, usize)> {
        self.pending.peek().map(|Reverse(head)| *head)
    }
}

/// A mailbox during planning.
struct Lane {
    free_at: DateTime<Utc>,
    per_day: HashMap<NaiveDate, u32>,
    planned: u32,
    /// When it last sent, or started; see [`IDLE_LIMIT`].
    active_at: DateTime<Utc>,
    groups: Vec<usize>,
}

struct DayCounter<'a> {
    cap: &'a NewLeadCap,
    counts: HashMap<NaiveDate, u32>,
}

impl DayCounter<'_> {
    fn is_full(&self, at: DateTime<Utc>) -> bool {
        let day = local_date(self.cap.timezone, at);
        self.counts.get(&day).copied().unwrap_or(0) >= self.cap.per_day
    }

    fn count(&mut self, at: DateTime<Utc>) {
        *self.counts.entry(local_date(self.cap.timezone, at)).or_insert(0) += 1;
    }
}

/// Places every request on a mailbox and an instant following the module rule.
/// Deterministic: the same input and the same seeded `rng` give the same plan
/// (the rng is only drawn for jitter, once per send). Mailbox ids should be
/// unique; a repeated id is only used for its first entry's pins.
pub fn plan_sends<L, M, R>(
    mailboxes: &[MailboxCapacity<M>],
    requests: Vec<SendRequest<L, M>>,
    rules: &PlanRules,
    rng: &mut R,
) -> Plan<L, M>
where
    M: Clone + Eq + Hash,
    R: Rng + ?Sized,
{
    let mut index_of: HashMap<&M, usize> = HashMap::new();
    for (index, mailbox) in mailboxes.iter().enumerate() {
        index_of.entry(&mailbox.id).or_insert(index);
    }

    let mut slots: Vec<Option<SendRequest<L, M>>> = Vec::with_capacity(requests.len());
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of: HashMap<(Timezone, Option<usize>, bool), usize> = HashMap::new();
    let mut remaining = 0usize;
    let mut latest_not_before = DateTime::<Utc>::MIN_UTC;
    for (seq, request) in requests.into_iter().enumerate() {
        let pin = match &request.mailbox {
            None => None,
            Some(id) => match index_of.get(id) {
                Some(&index) => Some(index),
                None => {
                    slots.push(Some(request));
                    continue;
                }
            },
        };
        let key = (request.timezone, pin, request.new_lead);
        let group = *group_of.entry(key).or_insert_with(|| {
            groups.push(Group {
                timezone: request.timezone,
                pin,
                new_lead: request.new_lead,
                pending: BinaryHeap::new(),
            });
            groups.len() - 1
        });
        groups[group].pending.push(Reverse((request.not_before, seq)));
        latest_not_before = latest_not_before.max(request.not_before);
        remaining += 1;
        slots.push(Some(request));
    }

    let mut new_leads = rules.new_leads_per_day.as_ref().map(|cap| DayCounter {
        cap,
        counts: cap.booked_per_day.clone(),
    });
    let mut lanes: Vec<Lane> = Vec::with_capacity(mailboxes.len());
    let mut ready = BinaryHeap::new();
    for (index, mailbox) in mailboxes.iter().enumerate() {
        let served: Vec<usize> = (0..groups.len())
            .filter(|&g| groups[g].pin.is_none_or(|pin| pin == index))
            .collect();
        let earliest = served.iter().filter_map(|&g| groups[g].head()).map(|(at, _)| at).min();
        let after_last = mailbox
            .last_send
            .and_then(|last| last.checked_add_signed(TimeDelta::seconds(mailbox.min_gap_seconds.into())));
        let free_at = earliest.max(after_last).unwrap_or(DateTime::<Utc>::MIN_UTC);
        lanes.push(Lane {
            free_at,
            per_day: mailbox.booked_per_day.clone(),
            planned: 0,
            active_at: free_at,
            groups: served,
        });
        if mailbox.daily_cap > 0 && earliest.is_some() {
            ready.push(Reverse((free_at, 0u32, index)));
        }
    }

    let mut assignments = Vec::with_capacity(remaining);
    while remaining > 0 {
        let Some(Reverse((at, _, index))) = ready.pop() else {
            break;
        };
        let mailbox = &mailboxes[index];
        let lane = &mut lanes[index];
        let idle_until = lane.active_at.max(latest_not_before).checked_add_signed(IDLE_LIMIT);
        if rules.until.is_some_and(|until| at > until) || idle_until.is_some_and(|limit| at > limit) {
            continue;
        }

        let next = if let Some(window) = mailbox.window.as_ref().filter(|w| !is_open(w, mailbox.timezone, at)) {
            Some(next_slot(window, mailbox.timezone, at))
        } else if lane
            .per_day
            .get(&local_date(mailbox.timezone, at))
            .is_some_and(|&sent| sent >= mailbox.daily_cap)
        {
            start_of_next_day(mailbox.timezone, at)
        } else {
            let campaign_full = new_leads.as_ref().is_some_and(|counter| counter.is_full(at));
            let pick = lane
                .groups
                .iter()
                .filter_map(|&g| {
                    let group = &groups[g];
                    let (not_before, seq) = group.head()?;
                    let eligible = not_before <= at
                        && !(group.new_lead && campaign_full)
                        && is_open(&rules.window, group.timezone, at);
                    eligible.then_some((not_before, seq, g))
                })
                .min();
            match pick {
                Some((_, seq, g)) => {
                    groups[g].pending.pop();
                    remaining -= 1;
                    if groups[g].new_lead {
                        if let Some(counter) = new_leads.as_mut() {
                            counter.count(at);
                        }
                    }
                    *lane.per_day.entry(local_date(mailbox.timezone, at)).or_insert(0) += 1;
                    lane.planned += 1;
                    lane.active_at = at;
                    if let Some(request) = slots[seq].take() {
                        assignments.push(Assignment {
                            lead: request.lead,
                            mailbox: mailbox.id.clone(),
                            at,
                        });
                    }
                    let jitter = if mailbox.jitter_seconds > 0 {
                        rng.random_range(0..=mailbox.jitter_seconds)
                    } else {
                        0
                    };
                    let gap = i64::from(mailbox.min_gap_seconds) + i64::from(jitter);
                    at.checked_add_signed(TimeDelta::seconds(gap))
                }
                // Nothing may go now: sleep until the first group could.
                None => lane
                    .groups
                    .iter()
                    .filter_map(|&g| wake_time(&groups[g], rules, new_leads.as_ref(), at))
                    .min(),
            }
        };
        if let Some(next) = next {
            lane.free_at = next;
            ready.push(Reverse((next, lane.planned, index)));
        }
    }

    Plan {
        assignments,
        unplanned: slots.into_iter().flatten().map(|request| request.lead).collect(),
    }
}

/// The first instant after `at` at which a request of `group` could go, as far
/// as the lead's window and the new-lead cap are concerned.
fn wake_time(
    group: &Group,
    rules: &PlanRules,
    new_leads: Option<&DayCounter<'_>>,
    at: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let (not_before, _) = group.head()?;
    let mut wake = at.max(not_before);
    let counter = new_leads.filter(|_| group.new_lead);
    if counter.is_some_and(|c| c.cap.per_day == 0) {
        return None;
    }
    for _ in 0..MAX_FULL_DAYS {
        wake = next_slot(&rules.window, group.timezone, wake);
        match counter {
            Some(counter) if counter.is_full(wake) => wake = start_of_next_day(counter.cap.timezone, wake)?,
            _ => return Some(wake),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::Weekday;
    use super::super::tests::{utc, zone};
    use super::*;
    use chrono::NaiveTime;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::collections::BTreeMap;

    const ZONES: [&str; 3] = ["America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo"];

    fn mailbox(id: u32, cap: u32, gap: u32, jitter: u32) -> MailboxCapacity<u32> {
        MailboxCapacity {
            min_gap_seconds: gap,
            jitter_seconds: jitter,
            ..MailboxCapacity::new(id, cap, zone("UTC"))
        }
    }

    fn leads(count: usize, zones: &[&str], not_before: DateTime<Utc>) -> Vec<SendRequest<usize, u32>> {
        (0..count)
            .map(|i| SendRequest::first_email(i, zone(zones[i % zones.len()]), not_before))
            .collect()
    }

    fn run(
        mailboxes: &[MailboxCapacity<u32>],
        requests: Vec<SendRequest<usize, u32>>,
        rules: &PlanRules,
        seed: u64,
    ) -> Plan<usize, u32> {
        plan_sends(mailboxes, requests, rules, &mut StdRng::seed_from_u64(seed))
    }

    /// Checks the module rule on a finished plan.
    fn assert_rule_holds(
        mailboxes: &[MailboxCapacity<u32>],
        requests: &[SendRequest<usize, u32>],
        rules: &PlanRules,
        plan: &Plan<usize, u32>,
    ) {
        let mut per_day: BTreeMap<(u32, NaiveDate), u32> = BTreeMap::new();
        let mut last: HashMap<u32, DateTime<Utc>> = HashMap::new();
        let mut new_per_day: BTreeMap<NaiveDate, u32> = BTreeMap::new();
        for pair in plan.assignments.windows(2) {
            assert!(pair[0].at <= pair[1].at, "assignments are in send order");
        }
        for a in &plan.assignments {
            let request = &requests[a.lead];
            let mailbox = mailboxes.iter().find(|m| m.id == a.mailbox).unwrap();
            assert!(a.at >= request.not_before);
            assert!(
                is_open(&rules.window, request.timezone, a.at),
                "lead {} in {} at {}",
                a.lead,
                request.timezone,
                a.at
            );
            if let Some(window) = &mailbox.window {
                assert!(is_open(window, mailbox.timezone, a.at));
            }
            if let Some(pin) = request.mailbox {
                assert_eq!(pin, a.mailbox);
            }
            let day = local_date(mailbox.timezone, a.at);
            let sent = per_day
                .entry((a.mailbox, day))
                .or_insert(mailbox.booked_per_day.get(&day).copied().unwrap_or(0));
            *sent += 1;
            assert!(*sent <= mailbox.daily_cap, "mailbox {} over cap on {day}", a.mailbox);
            if let Some(previous) = last.get(&a.mailbox).copied().or(mailbox.last_send) {
                assert!(
                    (a.at - previous).num_seconds() >= i64::from(mailbox.min_gap_seconds),
                    "mailbox {} sends at {previous} and {}",
                    a.mailbox,
                    a.at
                );
            }
            last.insert(a.mailbox, a.at);
            if let (Some(cap), true) = (&rules.new_leads_per_day, request.new_lead) {
                let day = local_date(cap.timezone, a.at);
                let started = new_per_day
                    .entry(day)
                    .or_insert(cap.booked_per_day.get(&day).copied().unwrap_or(0));
                *started += 1;
                assert!(*started <= cap.per_day, "campaign over its new-lead cap on {day}");
            }
            if let Some(until) = rules.until {
                assert!(a.at <= until);
            }
        }
        let mut seen: Vec<usize> = plan
            .assignments
            .iter()
            .map(|a| a.lead)
            .chain(plan.unplanned.clone())
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            (0..requests.len()).collect::<Vec<_>>(),
            "every request exactly once"
        );
    }

    #[test]
    fn leads_get_slots_in_their_own_window_across_weekends_and_dst_changes() {
        // Caps high enough for a day to take every lead, so each zone starts at its own first opening
        // (with tight caps the zone that opens first in the day takes the day's capacity).
        let mailboxes = [
            mailbox(1, 100, 60, 30),
            mailbox(2, 100, 60, 30),
            mailbox(3, 100, 60, 30),
        ];
        let rules = PlanRules::default();
        for start in [
            // Friday 16:59 UTC, then the weekend and the US spring-forward (2026-03-08).
            "2026-03-06T16:59:00Z",
            // Saturday, then the EU spring-forward (2026-03-29).
            "2026-03-28T10:00:00Z",
            // Friday before the EU fall-back (2026-10-25).
            "2026-10-23T16:59:00Z",
            // Friday before the US fall-back (2026-11-01).
            "2026-10-30T16:59:00Z",
        ] {
            let requests = leads(300, &ZONES, utc(start));
            let plan = run(&mailboxes, requests.clone(), &rules, 7);
            assert!(plan.unplanned.is_empty(), "{start}");
            assert_rule_holds(&mailboxes, &requests, &rules, &plan);
            // Each zone's first send is exactly at a local opening or right at not_before.
            for name in ZONES {
                let tz = zone(name);
                let first = plan
                    .assignments
                    .iter()
                    .find(|a| requests[a.lead].timezone == tz)
                    .unwrap();
                assert_eq!(
                    first.at,
                    next_slot(&rules.window, tz, utc(start)),
                    "{name} from {start}"
                );
            }
        }
    }

    #[test]
    fn the_first_monday_after_the_us_change_starts_at_nine_pdt() {
        let mailboxes = [mailbox(1, 30, 60, 0)];
        let requests = leads(40, &["America/Los_Angeles"], utc("2026-03-06T17:00:00-08:00"));
        let plan = run(&mailboxes, requests, &PlanRules::default(), 1);
        assert_eq!(plan.assignments[0].at, utc("2026-03-09T09:00:00-07:00"));
        assert_eq!(plan.assignments[1].at, utc("2026-03-09T09:01:00-07:00"));
        // 30 on Monday (UTC day of the mailbox), the rest on Tuesday.
        assert_eq!(plan.assignments[30].at, utc("2026-03-10T09:00:00-07:00"));
    }

    #[test]
    fn three_mailboxes_with_a_cap_of_thirty_share_two_hundred_leads() {
        let mailboxes = [
            mailbox(1, 30, 120, 90),
            mailbox(2, 30, 120, 90),
            mailbox(3, 30, 120, 90),
        ];
        let rules = PlanRules::default();
        let requests = leads(200, &ZONES, utc("2026-03-06T16:59:00Z"));
        let plan = run(&mailboxes, requests.clone(), &rules, 42);
        assert!(plan.unplanned.is_empty());
        assert_rule_holds(&mailboxes, &requests, &rules, &plan);
        let mut loads = BTreeMap::new();
        for a in &plan.assignments {
            *loads.entry(a.mailbox).or_insert(0) += 1;
        }
        let (min, max) = (loads.values().min().unwrap(), loads.values().max().unwrap());
        assert!(max - min <= 4, "load is spread: {loads:?}");

        // Without jitter the rotation is exact.
        let even = [mailbox(1, 30, 120, 0), mailbox(2, 30, 120, 0), mailbox(3, 30, 120, 0)];
        let plan = run(&even, requests.clone(), &rules, 42);
        assert_rule_holds(&even, &requests, &rules, &plan);
        let mut loads = BTreeMap::new();
        for a in &plan.assignments {
            *loads.entry(a.mailbox).or_insert(0) += 1;
        }
        assert_eq!(loads.into_values().collect::<Vec<_>>(), [67, 67, 66]);
    }

    #[test]
    fn the_zone_that_opens_first_takes_the_days_capacity() {
        let mailboxes = [mailbox(1, 30, 60, 0), mailbox(2, 30, 60, 0), mailbox(3, 30, 60, 0)];
        let requests = leads(300, &ZONES, utc("2026-03-06T16:59:00Z"));
        let plan = run(&mailboxes, requests.clone(), &PlanRules::default(), 1);
        let first_in = |name: &str| {
            let tz = zone(name);
            plan.assignments
                .iter()
                .find(|a| requests[a.lead].timezone == tz)
                .unwrap()
                .at
        };
        // Monday's UTC day goes to Tokyo (open 00:00–08:00 UTC); Berlin waits for Tuesday.
        assert_eq!(first_in("Asia/Tokyo"), utc("2026-03-09T09:00:00+09:00"));
        assert_eq!(first_in("Europe/Berlin"), utc("2026-03-10T09:00:00+01:00"));
    }

    #[test]
    fn existing_bookings_count_toward_cap_and_gap() {
        let start = utc("2026-03-04T09:00:00Z");
        let mut busy = mailbox(1, 30, 300, 0);
        busy.booked_per_day.insert(local_date(Timezone::UTC, start), 29);
        busy.last_send = Some(start + TimeDelta::minutes(10));
        let requests = leads(3, &["UTC"], start);
        let plan = run(&[busy.clone()], requests.clone(), &PlanRules::default(), 3);
        assert_rule_holds(&[busy], &requests, &PlanRules::default(), &plan);
        let times: Vec<_> = plan.assignments.iter().map(|a| a.at).collect();
        assert_eq!(
            times,
            [
                start + TimeDelta::minutes(15),
                utc("2026-03-05T09:00:00Z"),
                utc("2026-03-05T09:05:00Z")
            ]
        );
    }

    #[test]
    fn the_campaign_cap_limits_new_leads_but_not_follow_ups() {
        let mailboxes = [mailbox(1, 100, 30, 0), mailbox(2, 100, 30, 0)];
        let berlin = zone("Europe/Berlin");
        let rules = PlanRules {
            new_leads_per_day: Some(NewLeadCap {
                per_day: 25,
                timezone: berlin,
                booked_per_day: HashMap::new(),
            }),
            ..PlanRules::default()
        };
        let start = utc("2026-03-02T08:00:00Z");
        let mut requests = leads(100, &ZONES, start);
        for i in 100..140 {
            requests.push(SendRequest::follow_up(i, berlin, start, 1 + (i % 2) as u32));
        }
        let plan = run(&mailboxes, requests.clone(), &rules, 9);
        assert!(plan.unplanned.is_empty());
        assert_rule_holds(&mailboxes, &requests, &rules, &plan);
        let first_day = local_date(berlin, start);
        let follow_ups_first_day = plan
            .assignments
            .iter()
            .filter(|a| a.lead >= 100 && local_date(berlin, a.at) == first_day)
            .count();
        assert_eq!(follow_ups_first_day, 40, "follow-ups are not held back by the cap");
        let new_days: std::collections::BTreeSet<_> = plan
            .assignments
            .iter()
            .filter(|a| a.lead < 100)
            .map(|a| local_date(berlin, a.at))
            .collect();
        assert_eq!(new_days.len(), 4, "100 new leads at 25 a day take four days");
    }

    #[test]
    fn follow_ups_stay_on_their_mailbox() {
        let mailboxes = [mailbox(1, 50, 60, 0), mailbox(2, 50, 60, 0)];
        let start = utc("2026-03-02T08:00:00Z");
        let mut requests: Vec<_> = (0..20)
            .map(|i| SendRequest::follow_up(i, zone("Europe/Berlin"), start, 2))
            .collect();
        requests.push(SendRequest::follow_up(20, zone("Europe/Berlin"), start, 99));
        let plan = run(&mailboxes, requests.clone(), &PlanRules::default(), 5);
        assert_rule_holds(&mailboxes, &requests, &PlanRules::default(), &plan);
        assert!(plan.assignments.iter().all(|a| a.mailbox == 2));
        assert_eq!(plan.unplanned, [20], "mailbox 99 is not offered");
    }

    #[test]
    fn mailbox_and_lead_windows_must_both_hold() {
        let berlin_hours = MailboxCapacity {
            window: Some(SendingWindow::default()),
            timezone: zone("Europe/Berlin"),
            ..mailbox(1, 50, 60, 0)
        };
        let mailboxes = [berlin_hours];
        // In winter, Tokyo's 09:00–17:00 is Berlin's 01:00–09:00: they never meet.
        let rules = PlanRules {
            until: Some(utc("2026-01-20T00:00:00Z")),
            ..PlanRules::default()
        };
        let requests = leads(5, &["Asia/Tokyo"], utc("2026-01-05T00:00:00Z"));
        let plan = run(&mailboxes, requests.clone(), &rules, 1);
        assert!(plan.assignments.is_empty());
        assert_eq!(plan.unplanned, [0, 1, 2, 3, 4]);
        // Without `until`, the idle limit ends the search too.
        let plan = run(&mailboxes, requests, &PlanRules::default(), 1);
        assert_eq!(plan.unplanned.len(), 5);
        // In summer (CEST), Berlin 09:00–10:00 is Tokyo 16:00–17:00.
        let requests = leads(5, &["Asia/Tokyo"], utc("2026-07-06T00:00:00Z"));
        let plan = run(&mailboxes, requests.clone(), &PlanRules::default(), 1);
        assert_rule_holds(&mailboxes, &requests, &PlanRules::default(), &plan);
        assert_eq!(plan.assignments[0].at, utc("2026-07-06T09:00:00+02:00"));
        assert_eq!(plan.assignments.len(), 5);
    }

    #[test]
    fn until_and_zero_caps_leave_requests_unplanned() {
        let start = utc("2026-03-02T09:00:00Z");
        let rules = PlanRules {
            until: Some(start + TimeDelta::minutes(9)),
            ..PlanRules::default()
        };
        let plan = run(&[mailbox(1, 100, 60, 0)], leads(20, &["UTC"], start), &rules, 1);
        assert_eq!(plan.assignments.len(), 10, "09:00 to 09:09 inclusive");
        assert_eq!(plan.unplanned, (10..20).collect::<Vec<_>>());

        let plan = run(
            &[mailbox(1, 0, 60, 0)],
            leads(3, &["UTC"], start),
            &PlanRules::default(),
            1,
        );
        assert_eq!(plan.unplanned, [0, 1, 2]);
        let plan = run(&[], leads(3, &["UTC"], start), &PlanRules::default(), 1);
        assert_eq!(plan.unplanned, [0, 1, 2]);
        let no_new_leads = PlanRules {
            new_leads_per_day: Some(NewLeadCap {
                per_day: 0,
                timezone: Timezone::UTC,
                booked_per_day: HashMap::new(),
            }),
            ..PlanRules::default()
        };
        let plan = run(&[mailbox(1, 100, 60, 0)], leads(3, &["UTC"], start), &no_new_leads, 1);
        assert_eq!(plan.unplanned, [0, 1, 2]);
    }

    #[test]
    fn a_fixed_seed_gives_the_same_plan() {
        let mailboxes = [mailbox(1, 30, 60, 600), mailbox(2, 30, 60, 600)];
        let requests = leads(100, &ZONES, utc("2026-03-06T16:59:00Z"));
        let a = run(&mailboxes, requests.clone(), &PlanRules::default(), 11);
        let b = run(&mailboxes, requests.clone(), &PlanRules::default(), 11);
        let c = run(&mailboxes, requests, &PlanRules::default(), 12);
        assert_eq!(a, b);
        assert_ne!(a, c, "jitter depends on the seed");
    }

    #[test]
    fn ten_thousand_leads_on_ten_mailboxes_plan_quickly() {
        let mailboxes: Vec<_> = (0..10)
            .map(|i| MailboxCapacity {
                timezone: zone(ZONES[i as usize % 3]),
                ..mailbox(i, 50, 90, 60)
            })
            .collect();
        let zones = [
            "America/Los_Angeles",
            "America/New_York",
            "America/Sao_Paulo",
            "Europe/Berlin",
            "Europe/London",
            "Asia/Kolkata",
            "Asia/Tokyo",
            "Australia/Sydney",
        ];
        let requests = leads(10_000, &zones, utc("2026-03-06T16:59:00Z"));
        let rules = PlanRules::default();
        let started = std::time::Instant::now();
        let plan = run(&mailboxes, requests.clone(), &rules, 2026);
        let elapsed = started.elapsed();
        assert!(plan.unplanned.is_empty());
        assert_eq!(plan.assignments.len(), 10_000);
        // Release builds take a few milliseconds; unoptimised test builds are far slower.
        let budget = if cfg!(debug_assertions) { 5_000 } else { 1_000 };
        assert!(elapsed.as_millis() < budget, "took {elapsed:?}");
        assert_rule_holds(&mailboxes, &requests, &rules, &plan);
    }

    #[test]
    fn the_rule_holds_for_a_mixed_random_workload() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let mut runner = TestRunner::new(Config::with_cases(48));
        let all_zones = [
            "UTC",
            "America/Los_Angeles",
            "Europe/Berlin",
            "Asia/Tokyo",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
        ];
        let strategy = (
            prop::collection::vec((1u32..8, 0u32..600, 0u32..300, 0..all_zones.len(), any::<bool>()), 1..5),
            prop::collection::vec((0..all_zones.len(), 0i64..200_000, any::<bool>()), 0..80),
            1_767_225_600i64..1_798_761_600,
            prop::option::of(1u32..10),
            any::<u64>(),
        );
        runner
            .run(&strategy, |(boxes, reqs, start, cap, seed)| {
                let start = DateTime::from_timestamp(start, 0).unwrap();
                let mailboxes: Vec<_> = boxes
                    .iter()
                    .enumerate()
                    .map(|(i, &(cap, gap, jitter, z, own_window))| MailboxCapacity {
                        window: own_window.then(|| {
                            SendingWindow::new(
                                Weekday::ALL.to_vec(),
                                NaiveTime::from_hms_opt(5, 0, 0).unwrap(),
                                NaiveTime::from_hms_opt(23, 0, 0).unwrap(),
                            )
                            .unwrap()
                        }),
                        ..MailboxCapacity {
                            timezone: zone(all_zones[z]),
                            ..mailbox(i as u32, cap, gap, jitter)
                        }
                    })
                    .collect();
                let requests: Vec<_> = reqs
                    .iter()
                    .enumerate()
                    .map(|(i, &(z, delay, pinned))| {
                        let not_before = start + TimeDelta::seconds(delay);
                        if pinned {
                            SendRequest::follow_up(i, zone(all_zones[z]), not_before, (i % mailboxes.len()) as u32)
                        } else {
                            SendRequest::first_email(i, zone(all_zones[z]), not_before)
                        }
                    })
                    .collect();
                let rules = PlanRules {
                    new_leads_per_day: cap.map(|per_day| NewLeadCap {
                        per_day,
                        timezone: zone("America/New_York"),
                        booked_per_day: HashMap::new(),
                    }),
                    ..PlanRules::default()
                };
                let plan = run(&mailboxes, requests.clone(), &rules, seed);
                assert_rule_holds(&mailboxes, &requests, &rules, &plan);
                // 05:00–23:00 mailbox hours meet 09:00–17:00 in each of these zones (06:00–22:00 would
                // miss Lord Howe in its summer, +11).
                prop_assert!(plan.unplanned.is_empty(), "{:?}", plan.unplanned);
                Ok(())
            })
            .unwrap();
    }
}
