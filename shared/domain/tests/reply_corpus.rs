//! Scores the analyser on the labelled corpus in tests/fixtures/replies
//! (written for this project; `generate.py` there renders it). Fails below
//! 95% visible-text accuracy or 90% classification accuracy. Run with
//! `--nocapture` to see the confusion matrix and every miss:
//! `cargo test -p cc-domain --test reply_corpus -- --nocapture`.

use cc_domain::inbound::{InboundAnalysis, ReplyClass, RulesClassifier, analyze, normalise_whitespace};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

const MIN_VISIBLE_TEXT: f64 = 0.95;
const MIN_CLASSIFICATION: f64 = 0.90;
const MIN_KIND: f64 = 0.95;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Label {
    kind: String,
    classification: String,
    visible_text: Option<String>,
    return_date: Option<String>,
    bounce: Option<BounceLabel>,
    /// "holdout: …" marks messages written after the rules were tuned.
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BounceLabel {
    #[serde(rename = "type")]
    bounce_type: String,
    status: Option<String>,
    recipient: Option<String>,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/replies")
}

fn json_str<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[derive(Default)]
struct Tally {
    right: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.right += usize::from(ok);
    }

    fn rate(&self) -> f64 {
        if self.total == 0 {
            1.0
        } else {
            self.right as f64 / self.total as f64
        }
    }

    fn show(&self) -> String {
        format!("{}/{} = {:.1}%", self.right, self.total, self.rate() * 100.0)
    }
}

#[test]
fn reply_corpus_scores() {
    let dir = corpus_dir();
    let labels_text = std::fs::read_to_string(dir.join("labels.json")).expect("labels.json is readable");
    let labels: BTreeMap<String, Label> = serde_json::from_str(&labels_text).expect("labels.json is valid");
    assert!(
        labels.len() >= 80,
        "the corpus holds at least 80 messages, found {}",
        labels.len()
    );

    let (mut kind, mut class, mut visible, mut dates, mut bounces) = (
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
        Tally::default(),
    );
    let (mut holdout_class, mut holdout_visible) = (Tally::default(), Tally::default());
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut misses = Vec::new();
    for (file, label) in &labels {
        let raw = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let analysis: InboundAnalysis = analyze(&raw, &RulesClassifier);
        let got_kind = analysis.kind.as_str();
        let got_class = analysis.classification.as_str();
        kind.add(got_kind == label.kind);
        if got_kind != label.kind {
            misses.push(format!("{file}: kind {got_kind}, expected {}", label.kind));
        }
        class.add(got_class == label.classification);
        let holdout = label.note.as_deref().is_some_and(|n| n.starts_with("holdout"));
        if holdout {
            holdout_class.add(got_class == label.classification);
        }
        *confusion
            .entry((label.classification.clone(), got_class.to_owned()))
            .or_default() += 1;
        if got_class != label.classification {
            misses.push(format!(
                "{file}: class {got_class} ({:.2}), expected {}; rationale: {}",
                analysis.confidence.value(),
                label.classification,
                analysis.rationale.join(" | ")
            ));
        }
        if let Some(expected) = &label.visible_text {
            let (want, got) = (
                normalise_whitespace(expected),
                normalise_whitespace(&analysis.visible_text),
            );
            visible.add(want == got);
            if holdout {
                holdout_visible.add(want == got);
            }
            if want != got {
                misses.push(format!(
                    "{file}: visible text\n      want: {want:?}\n       got: {got:?}"
                ));
            }
        }
        if label.classification == "out_of_office" {
            let got = analysis.return_date.map(|d| d.to_string());
            dates.add(got == label.return_date);
            if got != label.return_date {
                misses.push(format!("{file}: return date {got:?}, expected {:?}", label.return_date));
            }
        }
        if let Some(expected) = &label.bounce {
            let got = analysis.bounce.as_ref();
            let got_type = got.map(|b| json_str(&b.bounce_type)).unwrap_or_default();
            let got_status = got.and_then(|b| b.status).map(|s| s.to_string());
            let got_recipient = got.and_then(|b| b.recipient.clone());
            let ok = got_type == expected.bounce_type
                && got_status == expected.status
                && (expected.recipient.is_none() || got_recipient == expected.recipient);
            bounces.add(ok);
            if !ok {
                misses.push(format!(
                    "{file}: bounce {got_type} {got_status:?} {got_recipient:?}, expected {} {:?} {:?}",
                    expected.bounce_type, expected.status, expected.recipient
                ));
            }
        }
    }

    println!("\nreply corpus: {} messages", labels.len());
    println!("  kind            {}", kind.show());
    println!("  classification  {}", class.show());
    println!("  visible text    {}", visible.show());
    println!("  return date     {}", dates.show());
    println!("  bounce details  {}", bounces.show());
    println!(
        "  of which held out (written after tuning): classification {}, visible text {}",
        holdout_class.show(),
        holdout_visible.show()
    );
    print_confusion(&confusion);
    if !misses.is_empty() {
        println!("\nmisses:");
        for miss in &misses {
            println!("  - {miss}");
        }
    }
    assert!(
        visible.rate() >= MIN_VISIBLE_TEXT,
        "visible text {} is below 95%",
        visible.show()
    );
    assert!(
        class.rate() >= MIN_CLASSIFICATION,
        "classification {} is below 90%",
        class.show()
    );
    assert!(kind.rate() >= MIN_KIND, "kind {} is below 95%", kind.show());
}

fn print_confusion(confusion: &BTreeMap<(String, String), usize>) {
    let classes: Vec<&str> = ReplyClass::ALL.iter().map(|c| c.as_str()).collect();
    let short = |c: &str| -> String { c.split('_').map(|w| &w[..w.len().min(4)]).collect::<Vec<_>>().join("_") };
    println!("\nconfusion matrix (rows: expected, columns: got)");
    print!("{:>20}", "");
    for c in &classes {
        print!("{:>10}", short(c));
    }
    println!();
    for expected in &classes {
        let row: Vec<usize> = classes
            .iter()
            .map(|got| {
                confusion
                    .get(&((*expected).to_owned(), (*got).to_owned()))
                    .copied()
                    .unwrap_or(0)
            })
            .collect();
        if row.iter().all(|n| *n == 0) {
            continue;
        }
        print!("{expected:>20}");
        for n in row {
            if n == 0 {
                print!("{:>10}", ".")
            } else {
                print!("{n:>10}")
            }
        }
        println!();
    }
}
