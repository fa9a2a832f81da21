//! Small text helpers shared by the inbound steps.

/// The longest prefix of `text` that is at most `max` bytes and ends on a
/// character boundary.
pub(super) fn truncate_at_char(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Line endings as `\n`, no trailing whitespace on lines, no non-breaking or
/// zero-width spaces (HTML mail is full of them), at most one blank line in a
/// row, no blank lines at either end.
pub(super) fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0usize;
    for line in text.lines() {
        let line = line.trim_end_matches(|c: char| c.is_whitespace() || is_invisible(c));
        if line
            .trim_start_matches(|c: char| c.is_whitespace() || is_invisible(c))
            .is_empty()
        {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
            if blank_run > 0 {
                out.push('\n');
            }
        }
        blank_run = 0;
        push_visible(&mut out, line);
    }
    out
}

fn push_visible(out: &mut String, line: &str) {
    if line.chars().any(is_invisible) {
        out.extend(
            line.chars()
                .map(|c| if c == '\u{a0}' { ' ' } else { c })
                .filter(|c| !is_invisible(*c)),
        );
    } else {
        out.push_str(line);
    }
}

/// Characters HTML mail uses for layout that carry no text.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{a0}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}' | '\u{ad}'
    )
}

/// Whitespace runs as one space, trimmed: how two texts are compared.
pub fn normalise_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text
        .split(|c: char| c.is_whitespace() || is_invisible(c))
        .filter(|w| !w.is_empty())
    {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_a_char_boundary() {
        assert_eq!(truncate_at_char("héllo", 2), "h");
        assert_eq!(truncate_at_char("héllo", 3), "hé");
        assert_eq!(truncate_at_char("abc", 10), "abc");
    }

    #[test]
    fn tidy_keeps_one_blank_line() {
        assert_eq!(tidy("\n\n a\u{a0}b  \r\n\r\n\r\nc\n\n"), " a b\n\nc");
    }
}
