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
use chrono::TimeDelta;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::cell::Cell;
use support::{SendEnv, block_on, now};

const BATCH: usize = 10;

/// SQS bodies of human opens of the sent email, each with its own SNS id.
fn open_bodies(env: &SendEnv, job: &cc_domain::outbound::SendJob, first: usize) -> Vec<String> {
    (first..first + BATCH)
        .map(|n| {
            let event = json!({
                "eventType": "Open",
                "mail": {
                    "timestamp": now().to_rfc3339(),
                    "source": "sam@acme.io",
                    "sendingAccountId": "123456789012",
                    "messageId": "0100018e-example",
                    "destination": ["lead@company.com"],
                    "headersTruncated": false,
                    "commonHeaders": {"from": ["sam@acme.io"], "to": ["lead@company.com"], "subject": "Hello"},
                    "tags": {
                        "ses:configuration-set": ["cc-prod-tenant"],
                        "ses:source-ip": ["192.0.2.0"],
                        "tenant_id": [env.tenant.to_string()],
                        "campaign_id": [env.campaign.to_string()],
                        "lead_id": [job.lead_id.to_string()],
                        "step": ["1"],
                        "email_id": [job.email_id.to_string()]
                    }
                },
                "open": {
                    "timestamp": (now() + TimeDelta::minutes(5)).to_rfc3339(),
                    "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36",
                    "ipAddress": "198.51.100.7"
                }
            });
            json!({
                "Type": "Notification",
                "MessageId": format!("00000000-0000-4000-8000-{n:012}"),
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:cc-prod-SesEventsTopic",
                "Message": event.to_string(),
                "Timestamp": now().to_rfc3339(),
                "SignatureVersion": "1",
                "Signature": "EXAMPLE",
                "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
                "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
            })
            .to_string()
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let env = SendEnv::new();
    let job = env.schedule();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let sent = block_on(sending::send_email(&env.context(), &job, now(), &mut rng)).unwrap();
    assert!(matches!(sent, SendOutcome::Sent { .. }));
    let sample = open_bodies(&env, &job, 0);
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
                open_bodies(&env, &job, first)
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
