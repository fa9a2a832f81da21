//! Campaign and tenant KPIs from counters. Writers add deltas (aggregated per
//! batch); readers sum a handful of counter items, so a campaign's stats cost
//! the same few reads whatever its size (docs/data-model.md, "Counters").
//!
//! Two kinds of count live side by side:
//! - flows, added when something happens once to an email (`sent`,
//!   `delivered`, the first human open...), fed by the ses-events function,
//!   the sender and the launch;
//! - lead-status gauges (`lead_<status>`), moved by the store whenever a lead
//!   is created, changes status or is deleted, so `leads`, `unsubscribed`,
//!   the active leads and the conversion rate are always current.

use crate::ids::CampaignId;
use crate::lead::{Lead, LeadStatus};
use crate::outbound::OutboundEmail;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// One counter. The names are the stored attribute names: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// Emails planned (sent ones included).
    Scheduled,
    Sent,
    Delivered,
    /// Emails opened by a person at least once.
    Opened,
    /// Emails clicked by a person at least once.
    Clicked,
    MachineOpens,
    MachineClicks,
    BouncedHard,
    BouncedSoft,
    Complained,
    Replied,
    PositiveReplies,
    /// Leads by status (gauges).
    Leads(LeadStatus),
}

impl Metric {
    pub const FLOWS: [Metric; 12] = [
        Metric::Scheduled,
        Metric::Sent,
        Metric::Delivered,
        Metric::Opened,
        Metric::Clicked,
        Metric::MachineOpens,
        Metric::MachineClicks,
        Metric::BouncedHard,
        Metric::BouncedSoft,
        Metric::Complained,
        Metric::Replied,
        Metric::PositiveReplies,
    ];

    /// Every metric, flows first.
    pub fn all() -> impl Iterator<Item = Metric> {
        Self::FLOWS
            .into_iter()
            .chain(LeadStatus::ALL.into_iter().map(Metric::Leads))
    }

    pub fn name(self) -> &'static str {
        match self {
            Metric::Scheduled => "scheduled",
            Metric::Sent => "sent",
            Metric::Delivered => "delivered",
            Metric::Opened => "opened",
            Metric::Clicked => "clicked",
            Metric::MachineOpens => "machine_opens",
            Metric::MachineClicks => "machine_clicks",
            Metric::BouncedHard => "bounced_hard",
            Metric::BouncedSoft => "bounced_soft",
            Metric::Complained => "complained",
            Metric::Replied => "replied",
            Metric::PositiveReplies => "positive_replies",
            Metric::Leads(status) => match status {
                LeadStatus::New => "lead_new",
                LeadStatus::Contacted => "lead_contacted",
                LeadStatus::Replied => "lead_replied",
                LeadStatus::Interested => "lead_interested",
                LeadStatus::NotInterested => "lead_not_interested",
                LeadStatus::Bounced => "lead_bounced",
                LeadStatus::Unsubscribed => "lead_unsubscribed",
                LeadStatus::Completed => "lead_completed",
            },
        }
    }

    pub fn parse(name: &str) -> Option<Metric> {
        Self::all().find(|m| m.name() == name)
    }
}

/// Counter values (signed: a gauge moves both ways, and a delta may be negative).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts(BTreeMap<Metric, i64>);

impl Counts {
    pub fn get(&self, metric: Metric) -> i64 {
        self.0.get(&metric).copied().unwrap_or(0)
    }

    pub fn add(&mut self, metric: Metric, n: i64) {
        if n != 0 {
            *self.0.entry(metric).or_default() += n;
        }
    }

    pub fn merge(&mut self, other: &Counts) {
        for (metric, n) in &other.0 {
            self.add(*metric, *n);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(|n| *n == 0)
    }

    pub fn iter(&self) -> impl Iterator<Item = (Metric, i64)> + '_ {
        self.0.iter().filter(|(_, n)| **n != 0).map(|(m, n)| (*m, *n))
    }

    fn leads_where(&self, keep: impl Fn(LeadStatus) -> bool) -> u64 {
        let total: i64 = LeadStatus::ALL
            .into_iter()
            .filter(|s| keep(*s))
            .map(|s| self.get(Metric::Leads(s)))
            .sum();
        total.max(0) as u64
    }

    fn count(&self, metric: Metric) -> u64 {
        self.get(metric).max(0) as u64
    }
}

/// Which slice of a campaign a count belongs to: the whole, one step, or one
/// variant of one step. Steps and variants are kept in the campaign's totals,
/// not per day (the trend chart shows the whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slice {
    Whole,
    Step(u32),
    Variant(u32, u32),
}

impl Slice {
    /// The prefix of a counter's attribute name (`""`, `s2_`, `s2v1_`).
    pub fn prefix(self) -> String {
        match self {
            Slice::Whole => String::new(),
            Slice::Step(step) => format!("s{step}_"),
            Slice::Variant(step, variant) => format!("s{step}v{variant}_"),
        }
    }

    /// Splits a stored attribute name into its slice and metric.
    pub fn parse_attribute(name: &str) -> Option<(Slice, Metric)> {
        if let Some(metric) = Metric::parse(name) {
            return Some((Slice::Whole, metric));
        }
        let rest = name.strip_prefix('s')?;
        let (slice, metric) = rest.split_once('_')?;
        let metric = Metric::parse(metric)?;
        let slice = match slice.split_once('v') {
            Some((step, variant)) => Slice::Variant(step.parse().ok()?, variant.parse().ok()?),
            None => Slice::Step(slice.parse().ok()?),
        };
        Some((slice, metric))
    }
}

/// The counts of one campaign (or the tenant), by slice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally(pub BTreeMap<Slice, Counts>);

impl Tally {
    pub fn add(&mut self, slice: Slice, metric: Metric, n: i64) {
        if n != 0 {
            self.0.entry(slice).or_default().add(metric, n);
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        for (slice, counts) in &other.0 {
            self.0.entry(*slice).or_default().merge(counts);
        }
    }

    pub fn whole(&self) -> Counts {
        self.0.get(&Slice::Whole).cloned().unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(Counts::is_empty)
    }
}

/// The step and variant slices an email's counts go to.
pub fn email_slices(email: &OutboundEmail) -> [Slice; 2] {
    [Slice::Step(email.step), Slice::Variant(email.step, email.variant)]
}

/// Whose counters a delta moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Campaign(CampaignId),
    Tenant,
}

/// Changes to counters, collected over a batch and written together: each
/// (scope, day) is one update of the totals and one of the day, whatever the
/// number of events behind it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsDelta(pub BTreeMap<(Scope, NaiveDate), Tally>);

impl StatsDelta {
    /// Counts `n` of `metric` for a campaign on `day`, in the campaign's
    /// slices (whole, step, variant) and in the tenant's whole.
    pub fn count(&mut self, campaign: CampaignId, day: NaiveDate, slices: &[Slice], metric: Metric, n: i64) {
        let tally = self.0.entry((Scope::Campaign(campaign), day)).or_default();
        tally.add(Slice::Whole, metric, n);
        for slice in slices {
            tally.add(*slice, metric, n);
        }
        self.0
            .entry((Scope::Tenant, day))
            .or_default()
            .add(Slice::Whole, metric, n);
    }

    /// A lead moved from one status to another (`None`: created or deleted).
    pub fn lead_moved(
        &mut self,
        campaign: CampaignId,
        day: NaiveDate,
        from: Option<LeadStatus>,
        to: Option<LeadStatus>,
    ) {
        if from == to {
            return;
        }
        if let Some(from) = from {
            self.count(campaign, day, &[], Metric::Leads(from), -1);
        }
        if let Some(to) = to {
            self.count(campaign, day, &[], Metric::Leads(to), 1);
        }
    }

    /// What storing a lead change does to the status gauges: `previous`
    /// `None` for a new lead, `next` `None` for a deleted one.
    pub fn for_lead_change(previous: Option<&Lead>, next: Option<&Lead>, at: DateTime<Utc>) -> Self {
        let mut delta = Self::default();
        let day = at.date_naive();
        match (previous, next) {
            (Some(before), Some(after)) if before.campaign_id != after.campaign_id => {
                delta.lead_moved(before.campaign_id, day, Some(before.status), None);
                delta.lead_moved(after.campaign_id, day, None, Some(after.status));
            }
            (before, after) => {
                if let Some(campaign) = before.or(after).map(|l| l.campaign_id) {
                    delta.lead_moved(campaign, day, before.map(|l| l.status), after.map(|l| l.status));
                }
            }
        }
        delta
    }

    /// Newly planned emails, on the day they were planned.
    pub fn for_scheduled<'a>(emails: impl IntoIterator<Item = &'a OutboundEmail>, at: DateTime<Utc>) -> Self {
        let mut delta = Self::default();
        for email in emails {
            delta.count(
                email.campaign_id,
                at.date_naive(),
                &email_slices(email),
                Metric::Scheduled,
                1,
            );
        }
        delta
    }

    pub fn merge(&mut self, other: &StatsDelta) {
        for (key, tally) in &other.0 {
            self.0.entry(*key).or_default().merge(tally);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.values().all(Tally::is_empty)
    }
}

// ---------------------------------------------------------------------------
// What the API shows
// ---------------------------------------------------------------------------

/// Fractions of the campaign's counts (0 when the denominator is 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rates {
    /// delivered / sent
    pub delivery: f64,
    /// opened / delivered
    pub open: f64,
    /// clicked / delivered
    pub click: f64,
    /// bounced / sent
    pub bounce: f64,
    /// complained / sent
    pub complaint: f64,
    /// replied / sent
    pub reply: f64,
    /// positive_replies / replied
    pub positive_reply: f64,
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// The counts of a campaign, a step, a variant or a day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StatCounts {
    /// Leads in the campaign (whole campaign and days only; per day: net leads added).
    pub leads: i64,
    /// Emails planned so far, sent ones included.
    pub scheduled: u64,
    pub sent: u64,
    pub delivered: u64,
    /// Emails a person opened (unique per email; machine opens excluded).
    pub opened: u64,
    /// Emails a person clicked (unique per email; machine clicks excluded).
    pub clicked: u64,
    /// Opens by scanners, gateways and privacy proxies (every one).
    pub machine_opens: u64,
    pub machine_clicks: u64,
    /// `bounced_hard + bounced_soft` (emails, each counted once).
    pub bounced: u64,
    pub bounced_hard: u64,
    pub bounced_soft: u64,
    pub complained: u64,
    /// Leads that unsubscribed or complained (whole campaign only).
    pub unsubscribed: u64,
    pub replied: u64,
    pub positive_replies: u64,
    pub rates: Rates,
}

impl StatCounts {
    pub fn from_counts(counts: &Counts) -> Self {
        let leads = LeadStatus::ALL.into_iter().map(|s| counts.get(Metric::Leads(s))).sum();
        let sent = counts.count(Metric::Sent);
        let delivered = counts.count(Metric::Delivered);
        let opened = counts.count(Metric::Opened);
        let clicked = counts.count(Metric::Clicked);
        let bounced_hard = counts.count(Metric::BouncedHard);
        let bounced_soft = counts.count(Metric::BouncedSoft);
        let complained = counts.count(Metric::Complained);
        let replied = counts.count(Metric::Replied);
        let positive_replies = counts.count(Metric::PositiveReplies);
        let bounced = bounced_hard + bounced_soft;
        Self {
            leads,
            scheduled: counts.count(Metric::Scheduled),
            sent,
            delivered,
            opened,
            clicked,
            machine_opens: counts.count(Metric::MachineOpens),
            machine_clicks: counts.count(Metric::MachineClicks),
            bounced,
            bounced_hard,
            bounced_soft,
            complained,
            unsubscribed: counts.count(Metric::Leads(LeadStatus::Unsubscribed)),
            replied,
            positive_replies,
            rates: Rates {
                delivery: ratio(delivered, sent),
                open: ratio(opened, delivered),
                click: ratio(clicked, delivered),
                bounce: ratio(bounced, sent),
                complaint: ratio(complained, sent),
                reply: ratio(replied, sent),
                positive_reply: ratio(positive_replies, replied),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StepStats {
    pub step: u32,
    #[serde(flatten)]
    pub counts: StatCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VariantStats {
    pub step: u32,
    pub variant: u32,
    #[serde(flatten)]
    pub counts: StatCounts,
}

/// `GET /v1/campaigns/{id}/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CampaignStats {
    pub campaign_id: CampaignId,
    #[serde(flatten)]
    pub counts: StatCounts,
    pub steps: Vec<StepStats>,
    pub variants: Vec<VariantStats>,
}

impl CampaignStats {
    pub fn from_tally(campaign_id: CampaignId, tally: &Tally) -> Self {
        let mut steps = Vec::new();
        let mut variants = Vec::new();
        for (slice, counts) in &tally.0 {
            // Slices hold email counts only (lead gauges are whole-campaign), so their leads read 0.
            let stat = StatCounts::from_counts(counts);
            match *slice {
                Slice::Whole => {}
                Slice::Step(step) => steps.push(StepStats { step, counts: stat }),
                Slice::Variant(step, variant) => variants.push(VariantStats {
                    step,
                    variant,
                    counts: stat,
                }),
            }
        }
        Self {
            campaign_id,
            counts: StatCounts::from_counts(&tally.whole()),
            steps,
            variants,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DayStats {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub counts: StatCounts,
}

/// `GET /v1/campaigns/{id}/stats/daily`: every day of the range, zeros included.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DailyStats {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub days: Vec<DayStats>,
}

impl DailyStats {
    pub fn from_days(from: NaiveDate, to: NaiveDate, days: &BTreeMap<NaiveDate, Counts>) -> Self {
        let empty = Counts::default();
        let days = from
            .iter_days()
            .take_while(|d| *d <= to)
            .map(|date| DayStats {
                date,
                counts: StatCounts::from_counts(days.get(&date).unwrap_or(&empty)),
            })
            .collect();
        Self { from, to, days }
    }
}

/// Statuses of a lead still being worked: not finished, not lost.
pub fn is_active(status: LeadStatus) -> bool {
    matches!(
        status,
        LeadStatus::New | LeadStatus::Contacted | LeadStatus::Replied | LeadStatus::Interested
    )
}

/// Statuses a lead only reaches once an email went out to it.
fn was_contacted(status: LeadStatus) -> bool {
    status != LeadStatus::New
}

fn responded(status: LeadStatus) -> bool {
    matches!(
        status,
        LeadStatus::Replied | LeadStatus::Interested | LeadStatus::NotInterested
    )
}

/// `GET /v1/stats/overview`: the tenant's dashboard figures.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Overview {
    pub total_leads: u64,
    /// Leads still being worked (new, contacted, replied, interested).
    pub active_leads: u64,
    /// Contacted leads that became interested, over contacted leads.
    pub conversion_rate: f64,
    /// Contacted leads that replied (replied, interested, not interested), over contacted leads.
    pub response_rate: f64,
    pub contacted_leads: u64,
    /// The tenant's counts over every campaign, all time.
    pub totals: StatCounts,
    /// The last 30 days, today included.
    pub last_30_days: Vec<DayStats>,
}

impl Overview {
    pub fn new(totals: &Counts, from: NaiveDate, to: NaiveDate, days: &BTreeMap<NaiveDate, Counts>) -> Self {
        let contacted = totals.leads_where(was_contacted);
        Self {
            total_leads: totals.leads_where(|_| true),
            active_leads: totals.leads_where(is_active),
            conversion_rate: ratio(totals.leads_where(|s| s == LeadStatus::Interested), contacted),
            response_rate: ratio(totals.leads_where(responded), contacted),
            contacted_leads: contacted,
            totals: StatCounts::from_counts(totals),
            last_30_days: DailyStats::from_days(from, to, days).days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names_round_trip() {
        for metric in Metric::all() {
            for slice in [Slice::Whole, Slice::Step(3), Slice::Variant(2, 4)] {
                let name = format!("{}{}", slice.prefix(), metric.name());
                assert_eq!(Slice::parse_attribute(&name), Some((slice, metric)), "{name}");
            }
        }
        assert_eq!(Slice::parse_attribute("sx_sent"), None);
        assert_eq!(Slice::parse_attribute("version"), None);
    }

    #[test]
    fn a_delta_counts_the_campaign_its_slices_and_the_tenant() {
        let campaign = CampaignId::generate();
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let mut delta = StatsDelta::default();
        delta.count(campaign, day, &[Slice::Step(1), Slice::Variant(1, 0)], Metric::Sent, 2);
        delta.lead_moved(campaign, day, Some(LeadStatus::New), Some(LeadStatus::Contacted));
        let campaign_tally = &delta.0[&(Scope::Campaign(campaign), day)];
        assert_eq!(campaign_tally.whole().get(Metric::Sent), 2);
        assert_eq!(campaign_tally.0[&Slice::Variant(1, 0)].get(Metric::Sent), 2);
        assert_eq!(campaign_tally.whole().get(Metric::Leads(LeadStatus::New)), -1);
        let tenant = delta.0[&(Scope::Tenant, day)].whole();
        assert_eq!(tenant.get(Metric::Sent), 2);
        assert_eq!(tenant.get(Metric::Leads(LeadStatus::Contacted)), 1);
    }

    #[test]
    fn rates_are_fractions_and_zero_without_a_denominator() {
        let mut counts = Counts::default();
        assert_eq!(StatCounts::from_counts(&counts).rates, Rates::default());
        counts.add(Metric::Sent, 200);
        counts.add(Metric::Delivered, 190);
        counts.add(Metric::Opened, 95);
        counts.add(Metric::BouncedHard, 6);
        counts.add(Metric::BouncedSoft, 4);
        let stats = StatCounts::from_counts(&counts);
        assert_eq!(stats.bounced, 10);
        assert_eq!(stats.rates.delivery, 0.95);
        assert_eq!(stats.rates.open, 0.5);
        assert_eq!(stats.rates.bounce, 0.05);
    }

    #[test]
    fn the_overview_rates_count_contacted_leads() {
        let mut totals = Counts::default();
        totals.add(Metric::Leads(LeadStatus::New), 50);
        totals.add(Metric::Leads(LeadStatus::Contacted), 30);
        totals.add(Metric::Leads(LeadStatus::Interested), 5);
        totals.add(Metric::Leads(LeadStatus::NotInterested), 5);
        totals.add(Metric::Leads(LeadStatus::Bounced), 10);
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let overview = Overview::new(&totals, day, day, &BTreeMap::new());
        assert_eq!(overview.total_leads, 100);
        assert_eq!(overview.active_leads, 85);
        assert_eq!(overview.contacted_leads, 50);
        assert_eq!(overview.conversion_rate, 0.1);
        assert_eq!(overview.response_rate, 0.2);
        assert_eq!(overview.last_30_days.len(), 1);
    }
}
