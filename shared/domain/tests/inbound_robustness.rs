//! The inbound entry point on hostile input: arbitrary bytes, real messages
//! mutated at random, a 30 MB message, an unknown charset. Each must give an
//! analysis with a clear outcome and never panic (a message must never be
//! lost). Timing is printed, never asserted.

use cc_domain::inbound::{
    MAX_STORED_TEXT_BYTES, MessageKind, ParseOutcome, ParseProblem, ReplyClass, RulesClassifier, analyze,
};
use proptest::prelude::*;
use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Instant;

static CORPUS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/replies");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| std::fs::read(path).expect("corpus file"))
        .collect()
});

fn check_invariants(raw: &[u8]) {
    let analysis = analyze(raw, &RulesClassifier);
    assert!(analysis.visible_text.len() <= MAX_STORED_TEXT_BYTES);
    assert!(analysis.full_text.len() <= MAX_STORED_TEXT_BYTES);
    assert!((0.0..=1.0).contains(&analysis.confidence.value()));
    assert!(analysis.classification.fits(analysis.kind));
    assert_eq!(analysis.parse.raw_size, raw.len());
    if analysis.parse.outcome == ParseOutcome::Unparseable {
        assert_eq!(analysis.classification, ReplyClass::Unclassified);
    }
    // What is stored must serialise.
    serde_json::to_string(&analysis).expect("the analysis serialises");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check_invariants(&raw);
    }

    #[test]
    fn arbitrary_text_with_headers_never_panics(
        headers in proptest::collection::vec("[A-Za-z-]{1,20}: [ -~]{0,80}", 0..12),
        body in "(?s).{0,2000}",
    ) {
        let raw = format!("{}\r\n\r\n{body}", headers.join("\r\n"));
        check_invariants(raw.as_bytes());
    }

    #[test]
    fn mutated_real_messages_never_panic(
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..24),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut raw = pick.get(&CORPUS).clone();
        for (at, byte, op) in edits {
            if raw.is_empty() {
                break;
            }
            let at = at.index(raw.len());
            match op {
                0 => raw[at] = byte,
                1 => raw.insert(at, byte),
                2 => { raw.remove(at); }
                // Structural damage: a stray boundary, CRLF or header separator.
                _ => {
                    let junk: &[u8] = match byte % 4 {
                        0 => b"\r\n--",
                        1 => b"\r\n\r\n",
                        2 => b"=\r\n",
                        _ => b"Content-Type: multipart/mixed; boundary=\"x\"\r\n",
                    };
                    raw.splice(at..at, junk.iter().copied());
                }
            }
        }
        if truncate && !raw.is_empty() {
            raw.truncate(cut.index(raw.len()));
        }
        check_invariants(&raw);
    }
}

#[test]
fn empty_and_garbage_input_are_unparseable_not_lost() {
    for raw in [&b""[..], b"\0\0\0\xff\xfe", b"just a line without any header"] {
        let analysis = analyze(raw, &RulesClassifier);
        assert_eq!(analysis.parse.outcome, ParseOutcome::Unparseable, "{raw:?}");
        assert_eq!(analysis.kind, MessageKind::Human);
        assert_eq!(analysis.classification, ReplyClass::Unclassified);
        assert!(!analysis.rationale.is_empty());
    }
}

fn message_with(extra_part: &str, reply: &str) -> Vec<u8> {
    format!(
        "From: Anna <anna@example.com>\r\nTo: reply+t1@reply.getcc.io\r\nSubject: Re: Quick question\r\n\
         Date: Mon, 2 Dec 2024 10:00:00 +0000\r\nMessage-ID: <big@example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         {reply}\r\n--b1\r\n{extra_part}\r\n--b1--\r\n"
    )
    .into_bytes()
}

#[test]
fn a_30_mb_message_is_read_from_its_start() {
    // A reply with a 30 MB attachment (base64, as mail carries it).
    let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
    let attachment = format!(
        "Content-Type: application/pdf; name=deck.pdf\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; filename=deck.pdf\r\n\r\n{}",
        line.repeat(30 * 1024 * 1024 / line.len())
    );
    let raw = message_with(&attachment, "Not interested, thanks.");
    assert!(raw.len() > 30 * 1024 * 1024);
    let started = Instant::now();
    let analysis = analyze(&raw, &RulesClassifier);
    println!("30 MB attachment: {:?} (debug build)", started.elapsed());
    assert_eq!(analysis.parse.outcome, ParseOutcome::Partial);
    assert!(
        analysis
            .parse
            .problems
            .contains(&ParseProblem::MessageTruncated { size: raw.len() })
    );
    assert_eq!(analysis.visible_text, "Not interested, thanks.");
    assert_eq!(analysis.classification, ReplyClass::NotInterested);
    assert_eq!(analysis.headers.message_id.as_deref(), Some("big@example.com"));
}

#[test]
fn a_30_mb_text_body_is_analysed_from_its_start() {
    let body = format!(
        "Please call me on Tuesday.\n\n{}",
        "filler text that nobody typed\n".repeat(1_100_000)
    );
    let raw = format!(
        "From: Anna <anna@example.com>\r\nSubject: Re: hi\r\nDate: Mon, 2 Dec 2024 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    );
    assert!(raw.len() > 30 * 1024 * 1024);
    let started = Instant::now();
    let analysis = analyze(raw.as_bytes(), &RulesClassifier);
    println!("30 MB text body: {:?} (debug build)", started.elapsed());
    assert!(
        analysis
            .parse
            .problems
            .contains(&ParseProblem::MessageTruncated { size: raw.len() })
    );
    assert!(
        analysis
            .parse
            .problems
            .iter()
            .any(|p| matches!(p, ParseProblem::TextTruncated { .. }))
    );
    assert!(analysis.visible_text.starts_with("Please call me on Tuesday."));
    assert!(analysis.full_text.len() <= MAX_STORED_TEXT_BYTES);
    assert_eq!(analysis.classification, ReplyClass::MeetingRequest);
}

#[test]
fn an_unknown_charset_is_read_as_utf8_and_flagged() {
    let raw = b"From: Anna <anna@example.com>\r\nSubject: Re: hi\r\nDate: Mon, 2 Dec 2024 10:00:00 +0000\r\n\
        MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"x-unknown-42\"\r\n\
        Content-Transfer-Encoding: quoted-printable\r\n\r\nNo thanks, we're all set. Caf=C3=A9 =E9t=E9\r\n";
    let analysis = analyze(raw, &RulesClassifier);
    assert_eq!(analysis.parse.outcome, ParseOutcome::Partial);
    assert!(
        analysis.parse.problems.contains(&ParseProblem::UnknownCharset {
            charset: "x-unknown-42".to_owned()
        }),
        "{:?}",
        analysis.parse.problems
    );
    // Valid UTF-8 survives; the stray Latin-1 bytes become replacement characters.
    assert!(analysis.visible_text.starts_with("No thanks, we're all set. Café"));
    assert!(analysis.visible_text.contains('\u{fffd}'));
    assert_eq!(analysis.classification, ReplyClass::NotInterested);
}

#[test]
fn known_legacy_charsets_are_not_flagged() {
    let raw = b"From: Anna <anna@example.com>\r\nSubject: Re: hi\r\nMIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
        Kein Interesse, danke. Gr=FC=DFe\r\n";
    let analysis = analyze(raw, &RulesClassifier);
    assert_eq!(
        analysis.parse.outcome,
        ParseOutcome::Complete,
        "{:?}",
        analysis.parse.problems
    );
    assert_eq!(analysis.visible_text, "Kein Interesse, danke. Grüße");
}

#[test]
fn resume_is_the_day_after_the_return_date() {
    let raw = b"From: Emily <emily@example.com>\r\nSubject: Automatic reply: Quick question\r\n\
        Date: Wed, 27 Nov 2024 09:00:00 -0500\r\nAuto-Submitted: auto-generated\r\n\
        Content-Type: text/plain\r\n\r\nI am out of the office and back on 2 December.\r\n";
    let analysis = analyze(raw, &RulesClassifier);
    assert_eq!(analysis.kind, MessageKind::AutoReply);
    assert_eq!(analysis.classification, ReplyClass::OutOfOffice);
    let back = analysis.return_date.expect("a return date");
    assert_eq!(back.to_string(), "2024-12-02");
    assert_eq!(
        cc_domain::inbound::resume_on(back).map(|d| d.to_string()).as_deref(),
        Some("2024-12-03")
    );
}
