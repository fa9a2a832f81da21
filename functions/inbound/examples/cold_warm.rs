//! CPU per message on texts the process has not seen (pass 0) and on the same
//! messages again (later passes): the regex crate builds its DFAs lazily, so a
//! benchmark that repeats one message shows only the warm cost. Run:
//! `cargo run --release -p inbound --example cold_warm -- tests/fixtures/replies/*.eml`
//! (`PASSES=1` for one pass). `REPEAT=N` then times each file N more times,
//! warm, in thread CPU time: `analyze` against mail-parser's parse alone.

use cc_domain::inbound::mail_parser;
use inbound::{RulesClassifier, analyze, thread_cpu_micros, warm_up};

fn main() {
    let files: Vec<Vec<u8>> = std::env::args()
        .skip(1)
        .filter_map(|file| std::fs::read(&file).map_err(|e| eprintln!("{file}: {e}")).ok())
        .collect();
    if files.is_empty() {
        eprintln!("usage: cold_warm FILE…");
        return;
    }
    let start = thread_cpu_micros();
    warm_up();
    println!("warm_up: {} µs", thread_cpu_micros().saturating_sub(start));
    let passes: usize = std::env::var("PASSES").ok().and_then(|p| p.parse().ok()).unwrap_or(4);
    for pass in 0..passes {
        let start = thread_cpu_micros();
        for raw in &files {
            std::hint::black_box(analyze(raw, &RulesClassifier));
        }
        let spent = thread_cpu_micros().saturating_sub(start);
        println!(
            "pass {pass}: {spent} µs for {} messages, {} µs per message",
            files.len(),
            spent / files.len() as u64
        );
    }
    let repeat: u64 = std::env::var("REPEAT").ok().and_then(|p| p.parse().ok()).unwrap_or(0);
    if repeat == 0 {
        return;
    }
    for (raw, name) in files.iter().zip(std::env::args().skip(1)) {
        let start = thread_cpu_micros();
        for _ in 0..repeat {
            std::hint::black_box(mail_parser().parse(std::hint::black_box(&raw[..])));
        }
        let parse = (thread_cpu_micros().saturating_sub(start)) as f64 / repeat as f64;
        let start = thread_cpu_micros();
        for _ in 0..repeat {
            std::hint::black_box(analyze(std::hint::black_box(raw), &RulesClassifier));
        }
        let full = (thread_cpu_micros().saturating_sub(start)) as f64 / repeat as f64;
        println!(
            "{name}: {} bytes, parse {parse:.1} µs, analyze {full:.1} µs, ratio {:.2}",
            raw.len(),
            full / parse
        );
    }
}
