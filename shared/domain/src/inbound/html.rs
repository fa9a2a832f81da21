//! HTML bodies to plain text for the reply steps. mail-parser's own
//! conversion only breaks lines at `<br>` and `</p>`: a Gmail or Outlook reply
//! (a `<div>` per line, the history in a `<blockquote>`) would come out as one
//! long line with the quote indistinguishable from the reply. html5gum (a
//! WHATWG tokenizer) reads the markup; this module only decides where lines
//! end and marks blockquoted lines with `> `, as a plain-text client would, so
//! [`super::quotes`] treats both kinds of body the same way.

use html5gum::{DefaultEmitter, Token, Tokenizer};

/// Elements whose start and end each end the current line.
const BLOCK: &[&[u8]] = &[
    b"p", b"div", b"tr", b"li", b"ul", b"ol", b"table", b"h1", b"h2", b"h3", b"h4", b"h5", b"h6", b"pre", b"section",
    b"article", b"header", b"footer", b"dl", b"dt", b"dd", b"center", b"address", b"form",
];

/// Elements whose content is never text.
const HIDDEN: &[&[u8]] = &[b"head", b"style", b"script", b"title", b"template", b"noscript", b"xml"];

/// How Outlook writes the line above its reply header block in plain text;
/// `<hr>` becomes the same so one rule finds both.
pub(super) const RULE_LINE: &str = "________________________________";

pub(super) fn to_text(html: &str) -> String {
    let mut emitter = DefaultEmitter::default();
    // Without this, CSS and scripts would be tokenised as markup.
    emitter.naively_switch_states(true);
    let mut out = Lines {
        out: String::with_capacity(html.len() / 3),
        line: String::new(),
        quote_depth: 0,
    };
    let mut hidden_depth = 0usize;
    let mut pre_depth = 0usize;
    for token in Tokenizer::new_with_emitter(html, emitter) {
        let Ok(token) = token;
        match token {
            Token::StartTag(tag) => {
                let name = tag.name.as_slice();
                if HIDDEN.contains(&name) {
                    if !tag.self_closing {
                        hidden_depth += 1;
                    }
                    continue;
                }
                match name {
                    b"br" => out.break_line(true),
                    b"hr" => {
                        out.break_line(false);
                        out.line.push_str(RULE_LINE);
                        out.break_line(false);
                    }
                    b"blockquote" => {
                        out.break_line(false);
                        out.quote_depth += 1;
                    }
                    b"pre" => {
                        out.break_line(false);
                        pre_depth += 1;
                    }
                    b"td" | b"th" => out.push_text(" "),
                    _ if BLOCK.contains(&name) => out.break_line(false),
                    _ => {}
                }
            }
            Token::EndTag(tag) => {
                let name = tag.name.as_slice();
                if HIDDEN.contains(&name) {
                    hidden_depth = hidden_depth.saturating_sub(1);
                    continue;
                }
                match name {
                    b"blockquote" => {
                        out.break_line(false);
                        out.quote_depth = out.quote_depth.saturating_sub(1);
                    }
                    b"pre" => {
                        out.break_line(false);
                        pre_depth = pre_depth.saturating_sub(1);
                    }
                    _ if BLOCK.contains(&name) => out.break_line(false),
                    _ => {}
                }
            }
            Token::String(text) if hidden_depth == 0 => {
                let text = String::from_utf8_lossy(&text.value);
                if pre_depth > 0 {
                    for (i, part) in text.split('\n').enumerate() {
                        if i > 0 {
                            out.break_line(true);
                        }
                        out.line.push_str(part);
                    }
                } else {
                    out.push_text(&text);
                }
            }
            _ => {}
        }
    }
    out.break_line(false);
    out.out
}

struct Lines {
    out: String,
    line: String,
    quote_depth: usize,
}

impl Lines {
    /// HTML whitespace: any run is one space, none at the start of a line.
    fn push_text(&mut self, text: &str) {
        for (i, word) in text.split(|c: char| c.is_ascii_whitespace()).enumerate() {
            if i > 0 && !self.line.is_empty() && !self.line.ends_with(' ') {
                self.line.push(' ');
            }
            self.line.push_str(word);
        }
    }

    /// Ends the current line. A block boundary with nothing on the line adds
    /// nothing; `<br>` always ends a line, so `<br><br>` leaves a blank one.
    fn break_line(&mut self, forced: bool) {
        let content = self.line.trim();
        if content.is_empty() && !forced {
            self.line.clear();
            return;
        }
        for _ in 0..self.quote_depth {
            self.out.push_str("> ");
        }
        self.out.push_str(content);
        self.out.push('\n');
        self.line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn divs_are_lines_and_blockquotes_are_quoted() {
        let html = r#"<html><head><style>div { color: red; }</style></head><body>
            <div dir="ltr">Sounds good,&nbsp;let&#39;s talk.</div><div><br></div><div>Anna</div>
            <div class="gmail_quote"><div class="gmail_attr">On Mon, 2 Dec 2024 at 10:00, Bob &lt;bob@example.com&gt; wrote:<br></div>
            <blockquote class="gmail_quote"><div>Hi Anna,</div><div>Quick question.</div></blockquote></div></body></html>"#;
        let text = to_text(html);
        assert_eq!(
            text,
            "Sounds good,\u{a0}let's talk.\n\nAnna\nOn Mon, 2 Dec 2024 at 10:00, Bob <bob@example.com> wrote:\n> Hi Anna,\n> Quick question.\n"
        );
    }

    #[test]
    fn hr_becomes_a_rule_line() {
        assert_eq!(
            to_text("<p>Yes</p><hr><p>From: x</p>"),
            format!("Yes\n{}\nFrom: x\n", super::RULE_LINE)
        );
    }
}
