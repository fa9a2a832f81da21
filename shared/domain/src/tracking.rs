//! Open and click tracking, per campaign (`track_opens`, `track_clicks`).
//!
//! SES does the tracking itself, for messages sent through a configuration
//! set whose event destination takes Open or Click events: it inserts a
//! 1×1 image into the HTML part (opens) and rewrites the part's links through
//! its redirect (clicks). So:
//!
//! - **Opens** are decided by the configuration set: each tenant has three
//!   ([`TrackingSet`]), and the sender names the one that matches the
//!   campaign. A set without the Open event type gets no pixel.
//! - **Clicks** are decided per link: SES leaves alone a link whose anchor
//!   carries `ses:no-track` (its documented opt-out), which the sender adds to
//!   every link of the HTML part when the campaign does not track clicks
//!   ([`mark_untracked`]). Unsubscribe links are never tracked: opting out is
//!   not engagement, and the link should reach us without a redirect. When a
//!   campaign tracks neither, its set has no Click event type either, so a
//!   link the marking missed is still not rewritten.
//!
//! The HTML is scanned, not parsed into a tree: comments, `<script>`,
//! `<style>`, `<textarea>` and `<title>` content are skipped, quoted
//! attribute values may hold `>`, and the only change made is the attribute
//! inserted right after `<a`, so the rest of the document is untouched.

use crate::ids::TenantId;
use crate::template::{decode_entities, find_tag_end, skip_element};

/// The attribute that keeps SES from rewriting a link.
pub const NO_TRACK: &str = "ses:no-track";

/// The tenant's configuration sets: which SES events each publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackingSet {
    /// Every event type, Open and Click included: `<prefix><tenant>`.
    Full,
    /// Every event type but Open: `<prefix><tenant>-noopen`.
    NoOpens,
    /// Every event type but Open and Click: `<prefix><tenant>-notrack`.
    NoTracking,
}

impl TrackingSet {
    pub const ALL: [TrackingSet; 3] = [TrackingSet::Full, TrackingSet::NoOpens, TrackingSet::NoTracking];

    /// The set for a campaign's settings. Clicks alone do not need a set of
    /// their own: with opens tracked and clicks not, the links carry
    /// `ses:no-track`.
    pub fn for_campaign(track_opens: bool, track_clicks: bool) -> Self {
        match (track_opens, track_clicks) {
            (true, _) => TrackingSet::Full,
            (false, true) => TrackingSet::NoOpens,
            (false, false) => TrackingSet::NoTracking,
        }
    }

    /// Appended to the tenant's set name.
    pub fn suffix(self) -> &'static str {
        match self {
            TrackingSet::Full => "",
            TrackingSet::NoOpens => "-noopen",
            TrackingSet::NoTracking => "-notrack",
        }
    }

    pub fn publishes_opens(self) -> bool {
        self == TrackingSet::Full
    }

    pub fn publishes_clicks(self) -> bool {
        self != TrackingSet::NoTracking
    }

    /// The SES (API v1) event types of the set's event destination.
    pub fn event_types(self) -> Vec<&'static str> {
        let mut types = vec![
            "send",
            "reject",
            "bounce",
            "complaint",
            "delivery",
            "renderingFailure",
            "deliveryDelay",
            "subscription",
        ];
        if self.publishes_opens() {
            types.push("open");
        }
        if self.publishes_clicks() {
            types.push("click");
        }
        types
    }

    /// The set's name: `<prefix><tenant id><suffix>`, at most 64 characters
    /// for a stage of up to 16 (`cc-<stage>-`).
    pub fn name(self, prefix: &str, tenant: TenantId) -> String {
        format!(
            "{}{}",
            crate::outbound::configuration_set_name(prefix, tenant),
            self.suffix()
        )
    }

    /// The name of the set's event destination. SES wants it unique within
    /// the set only; it is unique across sets here too (the emulator wants that).
    pub fn destination_name(self, tenant: TenantId) -> String {
        format!("events-{tenant}{}", self.suffix())
    }
}

/// One `<a>` of an HTML part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlLink {
    /// The `href`, character references decoded (what a browser would open).
    pub href: String,
    /// `false` when the anchor carries `ses:no-track`.
    pub tracked: bool,
}

/// Where each anchor's attributes start (just after `<a`), with the link.
fn anchors(html: &str) -> Vec<(usize, HtmlLink)> {
    let mut found = Vec::new();
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(offset) = html[i..].find('<') {
        let at = i + offset;
        let rest = &html[at..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            i = at + comment.find("-->").map_or(rest.len(), |end| end + 7);
            continue;
        }
        let starts_tag = rest[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!' || c == '?');
        if !starts_tag {
            i = at + 1;
            continue;
        }
        let end = find_tag_end(rest);
        let name: String = rest[1..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let self_closing = rest[..end].trim_end_matches('>').ends_with('/');
        i = at + end;
        match name.as_str() {
            "script" | "style" | "textarea" | "title" if !self_closing => i += skip_element(&html[i..], &name),
            "a" if matches!(bytes.get(at + 2), Some(b) if b.is_ascii_whitespace() || *b == b'>' || *b == b'/') => {
                let inside = rest[2..end].trim_end_matches('>');
                let mut href = None;
                let mut tracked = true;
                for (name, value) in attributes(inside) {
                    if name.eq_ignore_ascii_case("href") && href.is_none() {
                        href = Some(decode_entities(value.unwrap_or("").trim()));
                    } else if name.eq_ignore_ascii_case(NO_TRACK) {
                        tracked = false;
                    }
                }
                if let Some(href) = href {
                    found.push((at + 2, HtmlLink { href, tracked }));
                }
            }
            _ => {}
        }
    }
    found
}

/// The attributes of a tag's inside (after its name): name and raw value.
fn attributes(inside: &str) -> Vec<(&str, Option<&str>)> {
    let mut out = Vec::new();
    let bytes = inside.as_bytes();
    let mut i = 0;
    let skip_space = |i: &mut usize| {
        while *i < bytes.len() && (bytes[*i].is_ascii_whitespace() || bytes[*i] == b'/') {
            *i += 1;
        }
    };
    loop {
        skip_space(&mut i);
        if i >= bytes.len() {
            return out;
        }
        let start = i;
        // A name runs to whitespace, `/`, `>` or `=` (its first character may be `=`).
        i += 1;
        while i < bytes.len() && !bytes[i].is_ascii_whitespace() && !matches!(bytes[i], b'/' | b'>' | b'=') {
            i += 1;
        }
        let name = &inside[start..i];
        let mut after = i;
        while after < bytes.len() && bytes[after].is_ascii_whitespace() {
            after += 1;
        }
        if after >= bytes.len() || bytes[after] != b'=' {
            out.push((name, None));
            continue;
        }
        i = after + 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = match bytes.get(i) {
            Some(q @ (b'"' | b'\'')) => {
                let open = i + 1;
                let close = inside[open..].find(*q as char).map_or(inside.len(), |end| open + end);
                i = (close + 1).min(inside.len());
                &inside[open..close]
            }
            _ => {
                let open = i;
                while i < bytes.len() && !bytes[i].is_ascii_whitespace() && bytes[i] != b'>' {
                    i += 1;
                }
                &inside[open..i]
            }
        };
        out.push((name, Some(value)));
    }
}

/// Every link of an HTML part, in document order.
pub fn html_links(html: &str) -> Vec<HtmlLink> {
    anchors(html).into_iter().map(|(_, link)| link).collect()
}

/// Adds `ses:no-track` to each anchor whose `href` `untracked` picks and
/// that does not carry it yet; everything else is left as it was.
pub fn mark_untracked(html: &str, mut untracked: impl FnMut(&str) -> bool) -> String {
    let positions: Vec<usize> = anchors(html)
        .into_iter()
        .filter(|(_, link)| link.tracked && untracked(&link.href))
        .map(|(at, _)| at)
        .collect();
    let mut out = String::with_capacity(html.len() + positions.len() * (NO_TRACK.len() + 1));
    let mut from = 0;
    for at in positions {
        out.push_str(&html[from..at]);
        out.push(' ');
        out.push_str(NO_TRACK);
        from = at;
    }
    out.push_str(&html[from..]);
    out
}

/// The HTML part as the sender hands it to SES: without click tracking every
/// link is marked; with it, only links to the unsubscribe URL are.
pub fn prepare_html(html: &str, track_clicks: bool, unsubscribe_url: &str) -> String {
    mark_untracked(html, |href| !track_clicks || is_unsubscribe(href, unsubscribe_url))
}

fn is_unsubscribe(href: &str, unsubscribe_url: &str) -> bool {
    !unsubscribe_url.is_empty() && href.trim() == unsubscribe_url.trim()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn link(href: &str, tracked: bool) -> HtmlLink {
        HtmlLink {
            href: href.into(),
            tracked,
        }
    }

    #[test]
    fn every_anchor_gets_the_attribute_right_after_its_name() {
        let html = r#"<p>Hi <a href="https://acme.com/demo?a=1&amp;b=2">demo</a> or <A
            HREF='https://acme.com'>us</A>, <a class=x href=https://x.io/y>x</a></p>"#;
        let marked = prepare_html(html, false, "https://u.example/u/t");
        assert_eq!(
            marked,
            r#"<p>Hi <a ses:no-track href="https://acme.com/demo?a=1&amp;b=2">demo</a> or <A ses:no-track
            HREF='https://acme.com'>us</A>, <a ses:no-track class=x href=https://x.io/y>x</a></p>"#
        );
        assert_eq!(
            html_links(&marked),
            [
                link("https://acme.com/demo?a=1&b=2", false),
                link("https://acme.com", false),
                link("https://x.io/y", false),
            ]
        );
        assert_eq!(
            prepare_html(&marked, false, ""),
            marked,
            "marking twice changes nothing"
        );
    }

    #[test]
    fn with_click_tracking_only_unsubscribe_links_are_marked() {
        let unsubscribe = "https://api.example/v1/u/tok?x=1&y=2";
        let html = r#"<a href="https://acme.com">a</a><a href="https://api.example/v1/u/tok?x=1&amp;y=2">stop</a>"#;
        let marked = prepare_html(html, true, unsubscribe);
        assert_eq!(
            html_links(&marked),
            [link("https://acme.com", true), link(unsubscribe, false)]
        );
    }

    #[test]
    fn look_alikes_comments_scripts_and_quoted_brackets_are_not_links() {
        let html = concat!(
            "<!-- <a href=\"https://hidden.example\">x</a> -->",
            "<abbr title=\"a\">A</abbr><area href=\"https://map.example\">",
            "<script>var s = '<a href=\"https://js.example\">';</script>",
            "<style>a[href] { color: red }</style>",
            "<textarea><a href=\"https://text.example\"></a></textarea>",
            "<a title=\"1 > 0\" data-href=\"https://no.example\" href=\"https://yes.example\">y</a>",
            "<a name=\"top\">no href</a> a < b",
        );
        let marked = prepare_html(html, false, "");
        assert_eq!(html_links(html), [link("https://yes.example", true)]);
        assert_eq!(marked.matches(NO_TRACK).count(), 1);
        assert!(marked.contains("<a ses:no-track title=\"1 > 0\""), "{marked}");
        assert_eq!(marked.replace(" ses:no-track", ""), html, "nothing else changes");
    }

    #[test]
    fn an_anchor_already_marked_keeps_its_mark_and_is_untracked() {
        let html = r#"<a SES:NO-TRACK href="https://a.example">a</a><a href="https://b.example" ses:no-track>b</a>"#;
        assert_eq!(
            html_links(html),
            [link("https://a.example", false), link("https://b.example", false)]
        );
        assert_eq!(prepare_html(html, false, ""), html);
    }

    #[test]
    fn unclosed_markup_does_not_panic_or_lose_text() {
        for html in [
            "<a href=\"x",
            "<a",
            "<!-- open",
            "<script>",
            "<a href='https://x.io'",
            "<",
            "é<a>é",
        ] {
            let marked = prepare_html(html, false, "");
            assert!(marked.replace(" ses:no-track", "") == html, "{html} → {marked}");
        }
    }

    #[test]
    fn each_campaign_setting_picks_the_set_without_what_it_does_not_track() {
        let tenant: TenantId = "0193a5b0-7c1e-7d2a-9b3c-4d5e6f708192".parse().unwrap();
        assert_eq!(TrackingSet::for_campaign(true, true), TrackingSet::Full);
        assert_eq!(TrackingSet::for_campaign(true, false), TrackingSet::Full);
        assert_eq!(TrackingSet::for_campaign(false, true), TrackingSet::NoOpens);
        assert_eq!(TrackingSet::for_campaign(false, false), TrackingSet::NoTracking);
        assert_eq!(
            TrackingSet::Full.name("cc-prod-", tenant),
            "cc-prod-0193a5b0-7c1e-7d2a-9b3c-4d5e6f708192"
        );
        assert_eq!(
            TrackingSet::NoOpens.name("cc-prod-", tenant),
            "cc-prod-0193a5b0-7c1e-7d2a-9b3c-4d5e6f708192-noopen"
        );
        // The longest stage the template allows still fits SES's 64 characters.
        let longest = format!("cc-{}-", "s".repeat(16));
        for set in TrackingSet::ALL {
            assert!(set.name(&longest, tenant).len() <= 64, "{set:?}");
            assert!(set.destination_name(tenant).len() <= 64, "{set:?}");
        }
        assert!(TrackingSet::Full.event_types().contains(&"open"));
        assert!(!TrackingSet::NoOpens.event_types().contains(&"open"));
        assert!(TrackingSet::NoOpens.event_types().contains(&"click"));
        assert!(!TrackingSet::NoTracking.event_types().contains(&"click"));
        assert_eq!(TrackingSet::NoTracking.event_types().len(), 8);
    }

    proptest! {
        #[test]
        fn marking_only_ever_inserts_the_attribute(html in r#"[<>a-z="' /!\-]{0,80}"#) {
            let marked = prepare_html(&html, false, "");
            prop_assert_eq!(marked.replace(" ses:no-track", ""), html.clone());
            prop_assert!(html_links(&marked).iter().all(|l| !l.tracked));
        }

        #[test]
        fn scanning_never_panics(html in any::<String>()) {
            let _ = prepare_html(&html, false, "u");
            let _ = html_links(&html);
        }
    }
}
