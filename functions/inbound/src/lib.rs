//! The `inbound` function's library. So far: what the function stores for a
//! raw message ([`StoredAnalysis`]) and the CPU clock the `inspect-mail` tool
//! reports with. The handler (S3 → analysis → matching → effects) joins it.

pub mod handler;

use cc_domain::inbound::{BounceInfo, Confidence, InboundAnalysis, MessageKind, Referral, ReplyClass, ReplyClassifier};
use chrono::NaiveDate;
use serde::Serialize;

pub use cc_domain::inbound::{RulesClassifier, analyze, warm_up};

/// The analysis fields the function stores with a reply, as the inbox API
/// shows them.
#[derive(Debug, Clone, Serialize)]
pub struct StoredAnalysis<'a> {
    pub kind: MessageKind,
    pub classification: ReplyClass,
    pub confidence: Confidence,
    pub rationale: &'a [String],
    pub visible_text: &'a str,
    pub return_date: Option<NaiveDate>,
    pub bounce: Option<&'a BounceInfo>,
    pub referral: Option<&'a Referral>,
}

impl<'a> From<&'a InboundAnalysis> for StoredAnalysis<'a> {
    fn from(analysis: &'a InboundAnalysis) -> Self {
        Self {
            kind: analysis.kind,
            classification: analysis.classification,
            confidence: analysis.confidence,
            rationale: &analysis.rationale,
            visible_text: &analysis.visible_text,
            return_date: analysis.return_date,
            bounce: analysis.bounce.as_ref(),
            referral: analysis.referral.as_ref(),
        }
    }
}

/// Runs `analyze` and measures the CPU time this thread spent on it.
pub fn analyze_timed(raw: &[u8], classifier: &dyn ReplyClassifier) -> (InboundAnalysis, u64) {
    let start = thread_cpu_micros();
    let analysis = analyze(raw, classifier);
    let spent = thread_cpu_micros().saturating_sub(start);
    (analysis, spent)
}

/// CPU time of the calling thread in microseconds (`CLOCK_THREAD_CPUTIME_ID`):
/// unlike wall time it does not count other builds sharing the cores.
pub fn thread_cpu_micros() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `now` is a valid, writable timespec and the clock id is a
    // constant the platform defines; clock_gettime writes nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if rc != 0 {
        return 0;
    }
    let seconds = u64::try_from(now.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(now.tv_nsec).unwrap_or(0);
    seconds * 1_000_000 + nanos / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_fields_are_the_inbox_fields() {
        let raw = b"From: Anna <anna@example.com>\r\nSubject: Re: hi\r\nDate: Mon, 2 Dec 2024 10:00:00 +0000\r\n\r\n\
            Not interested, thanks.\r\n";
        let (analysis, _) = analyze_timed(raw, &RulesClassifier);
        let json = serde_json::to_value(StoredAnalysis::from(&analysis)).expect("serialises");
        let mut keys: Vec<&str> = json
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "bounce",
                "classification",
                "confidence",
                "kind",
                "rationale",
                "referral",
                "return_date",
                "visible_text"
            ]
        );
        assert_eq!(json["kind"], "human");
        assert_eq!(json["classification"], "not_interested");
        assert_eq!(json["visible_text"], "Not interested, thanks.");
    }

    #[test]
    fn the_cpu_clock_moves() {
        let start = thread_cpu_micros();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i * i));
        }
        assert!(thread_cpu_micros() >= start);
    }
}
