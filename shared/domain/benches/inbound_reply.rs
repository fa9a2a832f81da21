//! CPU to read, sort, strip and classify one ~20 KB reply, in-process, against
//! parsing the same bytes with mail-parser alone (the same configured parser
//! `analyze` uses), in the same run. Targets: ≤ 150 µs per reply and ≤ 2× the
//! parse. Run: `cargo bench -p cc-domain --bench inbound_reply`.
//!
//! The message is what a busy thread looks like by its fourth email: an
//! Outlook desktop reply (multipart/alternative, quoted-printable text and
//! HTML) on top of three earlier messages, ≈ 20 KB on the wire. Also measured:
//! a short Gmail reply (≈ 3 KB), a Postfix DSN, and the steps alone.

use cc_domain::inbound::{RulesClassifier, analyze, mail_parser, visible_text};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const ORIGINAL: &str = "Hi Anna,\n\nI noticed Nordlicht is hiring two SDRs this quarter. Teams like yours usually lose\n\
a day a week to list cleaning and follow-ups that never get answered. We help sales teams book\n\
more meetings without adding headcount: our customers see a 30% lift in reply rates in the first\n\
month, and their reps get back roughly a day a week.\n\n\
- Verified contact data for your target accounts\n- Sequences that adapt to every reply and stop automatically\n\
- Deliverability monitoring across all of your mailboxes\n\n\
Would a 15-minute call next week make sense?\n\nBest,\nSam\n\n\
If this isn't relevant, just reply \"no\" and I won't follow up. Unsubscribe: https://getcc.io/u/8f3k2\n";

fn qp(text: &str) -> String {
    // Soft-wrap at 76 and escape '=' like Outlook's quoted-printable.
    let mut out = String::new();
    for line in text.split('\n') {
        let line = line.replace('=', "=3D");
        let mut rest = line.as_str();
        while rest.len() > 75 {
            let mut cut = 75;
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            out.push_str(&rest[..cut]);
            out.push_str("=\r\n");
            rest = &rest[cut..];
        }
        out.push_str(rest);
        out.push_str("\r\n");
    }
    out
}

fn reply_20k() -> Vec<u8> {
    let block = |who: &str, when: &str| {
        format!(
            "From: {who}\nSent: {when}\nTo: Anna Weber <anna.weber@nordlicht.example>\nSubject: RE: Quick question about Nordlicht's outbound\n\n"
        )
    };
    let mut history = String::new();
    for (i, (who, when)) in [
        ("Sam Carter <sam@mail.getcc.io>", "Monday, December 2, 2024 9:05 AM"),
        (
            "Anna Weber <anna.weber@nordlicht.example>",
            "Friday, November 29, 2024 4:12 PM",
        ),
        ("Sam Carter <sam@mail.getcc.io>", "Thursday, November 28, 2024 9:05 AM"),
    ]
    .iter()
    .enumerate()
    {
        history.push_str(&block(who, when));
        history.push_str(&ORIGINAL.repeat(2 + i));
        history.push('\n');
    }
    let reply = "Hi Sam,\n\nThanks for following up. Thursday at 2pm works for a short call - please send an invite.\n\n\
Kind regards\nAnna Weber\nHead of Sales | Nordlicht Logistik GmbH\nTel. +49 40 1234 5678\n";
    let text = format!("{reply}\n{history}");
    let html_lines: String = text
        .lines()
        .map(|l| {
            let l = l.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
            format!(
                "<p class=\"MsoNormal\">{}<o:p></o:p></p>\n",
                if l.is_empty() { "&nbsp;".to_owned() } else { l }
            )
        })
        .collect();
    let html = format!(
        "<html><head><style><!-- p.MsoNormal {{margin:0cm; font-size:11.0pt; font-family:\"Calibri\",sans-serif;}} --></style></head>\
<body lang=\"EN-US\"><div class=\"WordSection1\">{html_lines}</div></body></html>"
    );
    format!(
        "Return-Path: <anna.weber@nordlicht.example>\r\nDelivered-To: reply+t1x00001@reply.getcc.io\r\n\
Received: from mail.nordlicht.example by inbound-smtp.eu-west-1.amazonaws.com; Tue, 3 Dec 2024 14:02:18 +0100\r\n\
From: Anna Weber <anna.weber@nordlicht.example>\r\nTo: Sam Carter <reply+t1x00001@reply.getcc.io>\r\n\
Subject: RE: Quick question about Nordlicht's outbound\r\nDate: Tue, 3 Dec 2024 14:02:18 +0100\r\n\
Message-ID: <AM9P195MB1234ABCD@AM9P195MB1234.EURP195.PROD.OUTLOOK.COM>\r\n\
In-Reply-To: <0193a001.104729@mail.getcc.io>\r\nReferences: <0193a000.1@mail.getcc.io> <0193a001.104729@mail.getcc.io>\r\n\
Thread-Topic: Quick question about Nordlicht's outbound\r\nThread-Index: AQHbRk2x8f3k2Yc7Tk6tW1qNq0Zb9Q==\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"_000_AM9P195MB1234_\"\r\n\r\n\
--_000_AM9P195MB1234_\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
{}\r\n--_000_AM9P195MB1234_\r\nContent-Type: text/html; charset=\"us-ascii\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
{}\r\n--_000_AM9P195MB1234_--\r\n",
        qp(&text.replace('\n', "\r\n").replace("\r\r", "\r")),
        qp(&html)
    )
    .into_bytes()
}

fn corpus(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/replies")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bench(c: &mut Criterion) {
    let reply = reply_20k();
    let check = analyze(&reply, &RulesClassifier);
    assert_eq!(
        check.classification.as_str(),
        "meeting_request",
        "{:?}",
        check.rationale
    );
    assert!(check.visible_text.starts_with("Hi Sam,"), "{}", check.visible_text);
    println!("reply_20k: {} bytes", reply.len());
    // For a CPU-time measurement outside criterion (see the `cold_warm` example of `inbound`).
    if let Some(path) = std::env::var_os("INBOUND_REPLY_20K_OUT") {
        std::fs::write(&path, &reply).unwrap_or_else(|e| panic!("{}: {e}", path.to_string_lossy()));
    }

    let mut group = c.benchmark_group("inbound_reply_20k");
    group.throughput(Throughput::Bytes(reply.len() as u64));
    group.bench_function("mail_parser_parse", |b| {
        b.iter(|| black_box(mail_parser().parse(black_box(&reply[..]))))
    });
    group.bench_function("analyze", |b| {
        b.iter(|| black_box(analyze(black_box(&reply), &RulesClassifier)))
    });
    let text = mail_parser()
        .parse(&reply[..])
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_default();
    group.bench_function("visible_text_only", |b| {
        b.iter(|| black_box(visible_text(black_box(&text))))
    });
    group.finish();

    let mut group = c.benchmark_group("inbound_other");
    for name in [
        "gmail_en_meeting_html.eml",
        "html_only_en_info_yahoo.eml",
        "dsn_postfix_user_unknown.eml",
        "ooo_de_exchange.eml",
    ] {
        let raw = corpus(name);
        group.bench_function(format!("analyze/{name}"), |b| {
            b.iter(|| black_box(analyze(black_box(&raw), &RulesClassifier)))
        });
        group.bench_function(format!("parse/{name}"), |b| {
            b.iter(|| black_box(mail_parser().parse(black_box(&raw[..]))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
