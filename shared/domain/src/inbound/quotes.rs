//! The text a person actually wrote in a reply: without the quoted history,
//! forwarded blocks, signatures after `-- `, device taglines ("Sent from my
//! iPhone") and trailing legal notices; with inline answers kept.
//!
//! The text is read line by line from the top. The first *history marker*
//! ends what the person wrote: an "-----Original Message-----" or forward
//! header, an Outlook header block ("From:/Sent:/To:/Subject:" and its
//! translations), an attribution line ("On … wrote:") that is *not* followed
//! by `>`-quoted lines (HTML clients quote without `>`), a signature
//! delimiter or a device tagline. Before that point, `>`-quoted lines are
//! dropped, and so is an attribution followed by them; every other line is
//! kept, which is what keeps bottom-posted and inline answers.
//!
//! Only the lines up to the first marker are examined, so a long history costs
//! little. Undelimited signature blocks (a name, a title, a phone number) are
//! part of what the person wrote and are kept.

use super::html::RULE_LINE;
use super::rules::{
    ATTRIBUTION, ATTRIBUTION_START, DEVICE_SIGNATURE, DISCLAIMER, HEADER_FIELD, HEADER_FROM, HISTORY_MARKER,
};
use super::text::tidy;

/// The visible text of a reply body (plain text, or HTML already converted).
pub fn visible_text(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let scan = scan(&lines);
    let mut kept: Vec<&str> = Vec::with_capacity(scan.end);
    for (i, line) in lines[..scan.end].iter().enumerate() {
        if is_quoted(line) || scan.attributions.contains(&i) {
            continue;
        }
        kept.push(line);
    }
    drop_trailing_notices(&mut kept);
    tidy(&kept.join("\n"))
}

struct Scan {
    /// Index of the first line of history (or the number of lines).
    end: usize,
    /// Attribution lines followed by `>` quotes: dropped, reading goes on.
    attributions: Vec<usize>,
}

fn scan(lines: &[&str]) -> Scan {
    let mut attributions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_quoted(line) {
            i += 1;
            continue;
        }
        let trimmed = line.trim();
        if trimmed.is_empty() {
            i += 1;
            continue;
        }
        if is_signature_delimiter(line) || DEVICE_SIGNATURE.is_match(trimmed) || HISTORY_MARKER.is_match(trimmed) {
            return Scan { end: i, attributions };
        }
        if is_rule_line(trimmed)
            && let Some(next) = next_content(lines, i + 1)
            && is_header_block(lines, next)
        {
            return Scan { end: i, attributions };
        }
        if HEADER_FROM.is_match(trimmed) && is_header_block(lines, i) {
            return Scan { end: i, attributions };
        }
        if let Some(len) = attribution_len(lines, i) {
            match next_content(lines, i + len) {
                Some(next) if is_quoted(lines[next]) => {
                    attributions.extend(i..i + len);
                    i += len;
                    continue;
                }
                // History quoted without `>` (HTML clients) or nothing after:
                // everything from here is what was replied to.
                _ => return Scan { end: i, attributions },
            }
        }
        i += 1;
    }
    Scan {
        end: lines.len(),
        attributions,
    }
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// RFC 3676 §4.3 says `-- `; many clients strip the trailing space.
fn is_signature_delimiter(line: &str) -> bool {
    matches!(line.trim_end_matches('\r'), "-- " | "--")
}

fn is_rule_line(trimmed: &str) -> bool {
    trimmed.len() >= 10 && trimmed.bytes().all(|b| b == b'_') || trimmed == RULE_LINE
}

fn next_content(lines: &[&str], from: usize) -> Option<usize> {
    (from..lines.len()).find(|&i| !lines[i].trim().is_empty())
}

/// A "From:" line followed, within a few lines, by at least two more header
/// fields (Sent/Date, To, Cc, Subject, in any of the languages).
fn is_header_block(lines: &[&str], from_line: usize) -> bool {
    if !HEADER_FROM.is_match(lines[from_line].trim()) {
        return false;
    }
    let mut fields = 0;
    let mut others = 0;
    for line in lines.iter().skip(from_line + 1).take(12) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if HEADER_FIELD.is_match(trimmed) {
            fields += 1;
            if fields >= 2 {
                return true;
            }
        } else {
            // A wrapped To: line is allowed; prose is not.
            others += 1;
            if others > 2 {
                return false;
            }
        }
    }
    false
}

/// How many lines (1 to 3) form an attribution starting at `i`, if any.
fn attribution_len(lines: &[&str], i: usize) -> Option<usize> {
    let first = lines[i].trim();
    if first.ends_with([':', '-']) && is_attribution(first, next_is_quoted(lines, i + 1)) {
        return Some(1);
    }
    // Clients wrap long attributions ("On Mon, … John Smith <\njohn@…> wrote:").
    for extra in 1..=2 {
        let Some(last) = lines.get(i + extra) else { break };
        if is_quoted(last) || last.trim().is_empty() {
            break;
        }
        if last.trim_end().ends_with([':', '-']) {
            if !ATTRIBUTION_START.is_match(first) {
                return None;
            }
            let joined = lines[i..=i + extra]
                .iter()
                .map(|l| l.trim())
                .collect::<Vec<_>>()
                .join(" ");
            return ATTRIBUTION.is_match(&joined).then_some(extra + 1);
        }
    }
    None
}

fn next_is_quoted(lines: &[&str], from: usize) -> bool {
    next_content(lines, from).is_some_and(|n| is_quoted(lines[n]))
}

/// One line ending in a colon. "As John wrote:" is prose, so the line must
/// also carry a date, an address or an attribution opener; a line with an
/// address directly above `>` quotes is an attribution in any language.
fn is_attribution(line: &str, quoted_follows: bool) -> bool {
    let evidence = line.contains('@') || line.bytes().any(|b| b.is_ascii_digit()) || ATTRIBUTION_START.is_match(line);
    (evidence && line.len() <= 400 && ATTRIBUTION.is_match(line))
        || (quoted_follows && line.contains('@') && line.ends_with(':'))
}

/// Legal notices at the end ("This e-mail is confidential…"), paragraph by
/// paragraph from the bottom; short lines that merely mention
/// confidentiality are the person's words and stay.
fn drop_trailing_notices(lines: &mut Vec<&str>) {
    loop {
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        let start = lines.iter().rposition(|l| l.trim().is_empty()).map_or(0, |i| i + 1);
        if start == 0 {
            return;
        }
        let paragraph = &lines[start..];
        let length: usize = paragraph.iter().map(|l| l.len()).sum();
        if length < 80 || !DISCLAIMER.is_match(paragraph[0]) {
            return;
        }
        lines.truncate(start);
    }
}

#[cfg(test)]
mod tests {
    use super::visible_text;

    #[test]
    fn top_posted_gmail_reply() {
        let body = "Yes, let's talk on Tuesday.\n\nOn Mon, 2 Dec 2024 at 10:00, Bob Sender <bob@example.com> wrote:\n\n> Hi Anna,\n> Would a call make sense?\n";
        assert_eq!(visible_text(body), "Yes, let's talk on Tuesday.");
    }

    #[test]
    fn wrapped_attribution_and_outlook_block() {
        let body = "Thanks.\n\nOn Mon, Dec 2, 2024 at 10:00 AM Bob Sender <\nbob@example.com> wrote:\n> Hi\n";
        assert_eq!(visible_text(body), "Thanks.");
        let outlook = "Bitte nicht mehr schreiben.\n\nVon: Bob <bob@example.com>\nGesendet: Montag, 2. Dezember 2024 10:00\nAn: Anna\nBetreff: Frage\n\nHallo Anna";
        assert_eq!(visible_text(outlook), "Bitte nicht mehr schreiben.");
    }

    #[test]
    fn inline_answers_are_kept() {
        let body = "On 02/12/2024 10:00, Bob wrote:\n> Do you use a CRM?\nYes, HubSpot.\n\n> How many reps?\nTwelve.\n\n-- \nAnna\n";
        assert_eq!(visible_text(body), "Yes, HubSpot.\n\nTwelve.");
    }

    #[test]
    fn html_style_history_without_quotes_is_cut() {
        let body =
            "Not interested.\nLe lun. 2 déc. 2024 à 10:00, Bob <bob@example.com> a écrit :\nHi Anna,\nQuick question";
        assert_eq!(visible_text(body), "Not interested.");
    }

    #[test]
    fn device_tagline_and_disclaimer() {
        let body = "Sounds good\n\nSent from my iPhone\n\n> On 2 Dec 2024, at 10:00, Bob wrote:";
        assert_eq!(visible_text(body), "Sounds good");
        let notice = "Call me.\n\nThis email and any attachments are confidential and intended solely for the addressee. If you are not the intended recipient, delete it.";
        assert_eq!(visible_text(notice), "Call me.");
    }
}
