//! `cargo run --release -p inbound --bin inspect-mail -- FILE…` (stdin when no
//! file is given): per message, one JSON line with what the `inbound` function
//! would store for it, the file name and the CPU microseconds the analysis took
//! (thread CPU time). Patterns are compiled first, as the function does at cold
//! start, so `cpu_us` is the per-message cost; stderr says what that took.

use inbound::{RulesClassifier, StoredAnalysis, analyze_timed, thread_cpu_micros, warm_up};
use serde::Serialize;
use std::io::{Read, Write};
use std::process::ExitCode;

#[derive(Serialize)]
struct Line<'a> {
    file: &'a str,
    #[serde(flatten)]
    stored: StoredAnalysis<'a>,
    parse: &'a cc_domain::inbound::ParseReport,
    cpu_us: u64,
}

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let inputs: Vec<(String, std::io::Result<Vec<u8>>)> = if files.is_empty() {
        let mut raw = Vec::new();
        let read = std::io::stdin().read_to_end(&mut raw).map(|_| raw);
        vec![("-".to_owned(), read)]
    } else {
        files
            .into_iter()
            .map(|file| {
                let read = std::fs::read(&file);
                (file, read)
            })
            .collect()
    };
    let start = thread_cpu_micros();
    warm_up();
    eprintln!(
        "inspect-mail: patterns compiled in {} µs of CPU",
        thread_cpu_micros().saturating_sub(start)
    );
    let mut failed = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (file, read) in inputs {
        let raw = match read {
            Ok(raw) => raw,
            Err(error) => {
                eprintln!("inspect-mail: {file}: {error}");
                failed = true;
                continue;
            }
        };
        let (analysis, cpu_us) = analyze_timed(&raw, &RulesClassifier);
        let line = Line {
            file: &file,
            stored: StoredAnalysis::from(&analysis),
            parse: &analysis.parse,
            cpu_us,
        };
        let written = serde_json::to_writer(&mut out, &line)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out));
        if let Err(error) = written {
            eprintln!("inspect-mail: writing output: {error}");
            return ExitCode::FAILURE;
        }
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
