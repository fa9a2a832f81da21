//! CPU per SES event (issue 5): the ses-events function's in-process work,
//! decoded and applied against the memory ports, next to a bare two-level
//! `serde_json::Value` parse of the same SNS envelope and event.
//!
//! `bare_value_parse`: the SQS body parsed into a `Value`, then its `Message`
//! string parsed into a `Value` (what any handler must at least do).
//! `decode_and_apply`: `ses_event::decode_sqs_body` on each body, then
//! `ses_events::apply_batch` over the batch (10 events, as SQS delivers them):
//! the email read, each event applied (human opens of one sent email, a
//! distinct SNS id each, so none is a duplicate), the timeline entries, the
//! counter deltas and the commit to `MemoryStore`.
//! Target: `decode_and_apply` ≤ 5× `bare_value_parse` per event.
//!
//! Run: `cargo bench -p cc-domain --bench ses_events`.

#[path = "sending_support/mod.rs"]
mod support;

use cc_domain::operations::sending::{self, SendOutcome};
use cc_domain::operations::ses_events;
use cc_domain::ses_event::{SesEventRecord, decode_sqs_body};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use std::cell::Cell;
use support::{SendEnv, block_on, now, ses_open_bodies};

const BATCH: usize = 10;

fn bench(c: &mut Criterion) {
    let env = SendEnv::new();
    let job = env.schedule();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let sent = block_on(sending::send_email(&env.context(), &job, now(), &mut rng)).unwrap();
    assert!(matches!(sent, SendOutcome::Sent { .. }));
    let sample = ses_open_bodies(&env, &job, 0, BATCH);
    println!("SNS envelope + event: {} bytes", sample[0].len());

    let mut group = c.benchmark_group("ses_event");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("bare_value_parse", |b| {
        b.iter(|| {
            for body in &sample {
                let envelope: Value = serde_json::from_str(body).unwrap();
                let event: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
                std::hint::black_box(event);
            }
        })
    });
    let next = Cell::new(BATCH);
    group.bench_function("decode_and_apply", |b| {
        b.iter_batched(
            || {
                let first = next.get();
                next.set(first + BATCH);
                ses_open_bodies(&env, &job, first, BATCH)
            },
            |bodies| {
                let records: Vec<SesEventRecord> = bodies.iter().map(|b| decode_sqs_body(b).unwrap()).collect();
                let outcomes = block_on(ses_events::apply_batch(&env.store, &records, now()));
                assert!(outcomes.iter().all(|o| o.is_ok()));
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
