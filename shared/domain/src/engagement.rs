//! Telling machine opens and clicks from people's. Security gateways open
//! and follow every link of an incoming message seconds after delivery, and
//! Apple Mail Privacy Protection fetches every image through Apple's proxies
//! whether or not the message is read. Such events are kept, flagged, and left
//! out of the human counts (and of the status): KPIs built on them would
//! otherwise be inflated.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Opens and clicks this soon after delivery are a gateway's, not a reader's.
pub const MACHINE_WINDOW: TimeDelta = TimeDelta::seconds(10);

/// User agents of link scanners, security gateways and scripts (lower case).
const SCANNER_AGENTS: &[&str] = &[
    "barracuda",
    "mimecast",
    "proofpoint",
    "symantec",
    "trendmicro",
    "trend micro",
    "bingpreview",
    "forcepoint",
    "fortiguard",
    "sophos",
    "ironport",
    "zscaler",
    "safelinks",
    "headlesschrome",
    "phantomjs",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "curl/",
    "wget/",
    "java/",
    "okhttp",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MachineReason {
    /// Within seconds of delivery.
    TooSoon,
    /// A scanner's or a script's user agent.
    Scanner,
    /// Apple Mail Privacy Protection's image proxy (Apple's 17.0.0.0/8).
    PrivacyProxy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interaction {
    Open,
    Click,
}

/// `None` for a person, else why it looks like a machine.
pub fn machine_reason(
    interaction: Interaction,
    user_agent: Option<&str>,
    ip: Option<&str>,
    at: DateTime<Utc>,
    delivered_or_sent_at: Option<DateTime<Utc>>,
) -> Option<MachineReason> {
    if let Some(agent) = user_agent {
        let agent = agent.to_ascii_lowercase();
        if SCANNER_AGENTS.iter().any(|s| agent.contains(s)) {
            return Some(MachineReason::Scanner);
        }
    }
    if interaction == Interaction::Open
        && let Some(IpAddr::V4(v4)) = ip.and_then(|ip| ip.trim().parse::<IpAddr>().ok())
        && v4.octets()[0] == 17
    {
        return Some(MachineReason::PrivacyProxy);
    }
    if let Some(start) = delivered_or_sent_at
        && at - start < MACHINE_WINDOW
    {
        return Some(MachineReason::TooSoon);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_445_600 + seconds, 0).unwrap()
    }

    const IPHONE: &str =
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";

    #[test]
    fn a_reader_minutes_after_delivery_is_human() {
        assert_eq!(
            machine_reason(Interaction::Open, Some(IPHONE), Some("203.0.113.7"), t(600), Some(t(0))),
            None
        );
        assert_eq!(
            machine_reason(Interaction::Click, Some(IPHONE), Some("17.58.1.1"), t(600), Some(t(0))),
            None,
            "a click through Apple's network is still a person"
        );
    }

    #[test]
    fn gateways_proxies_and_instant_hits_are_machines() {
        assert_eq!(
            machine_reason(Interaction::Click, Some(IPHONE), None, t(3), Some(t(0))),
            Some(MachineReason::TooSoon)
        );
        assert_eq!(
            machine_reason(
                Interaction::Open,
                Some("Mozilla/5.0"),
                Some("17.58.1.1"),
                t(3600),
                Some(t(0))
            ),
            Some(MachineReason::PrivacyProxy)
        );
        assert_eq!(
            machine_reason(
                Interaction::Click,
                Some("Mozilla/5.0 (compatible; Barracuda Sentinel)"),
                None,
                t(3600),
                Some(t(0))
            ),
            Some(MachineReason::Scanner)
        );
        assert_eq!(
            machine_reason(Interaction::Open, Some("python-requests/2.31"), None, t(3600), None),
            Some(MachineReason::Scanner)
        );
    }
}
