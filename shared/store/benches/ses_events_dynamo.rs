//! CPU per SES event through the real DynamoDB adapter (issue 5): the
//! ses-events function's in-process work, decoded and applied through
//! `DynamoStore` — the SDK's request building, JSON serialisation, SigV4
//! signing, response parsing and `serde_dynamo` decoding included — with the
//! HTTP layer replaced by an in-process fake that answers canned responses,
//! so no network and no DynamoDB time is measured.
//!
//! The workload is that of `cc-domain`'s `benches/ses_events.rs`: a batch of
//! 10 human opens of one sent email (each with its own SNS id, so none is a
//! duplicate), as SQS delivers them. Per batch the adapter sends one
//! BatchGetItem (answered with the stored email item, captured from the
//! adapter's own PutItem) and one TransactWriteItems (the email, 10 timeline
//! entries and the counter updates; answered with success).
//!
//! - `bare_value_parse`: the SQS body parsed into a `serde_json::Value`, then its `Message` (the baseline);
//! - `decode_and_apply_memory`: decode + `apply_batch` against `MemoryStore`;
//! - `decode_and_apply_dynamo`: decode + `apply_batch` against `DynamoStore` over the fake.
//!
//! Run: `cargo bench -p cc-store --bench ses_events_dynamo`.

#[path = "../../domain/benches/sending_support/mod.rs"]
mod support;

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use cc_domain::operations::sending::{self, SendOutcome};
use cc_domain::operations::ses_events::{self, EventOutcome};
use cc_domain::ports::EmailStore;
use cc_domain::ses_event::{SesEventRecord, decode_sqs_body};
use cc_store::DynamoStore;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use support::{SendEnv, now, ses_open_bodies};

const BATCH: usize = 10;
const TABLE: &str = "cc-bench-MainTable";

/// Per operation: requests, request body bytes, and the last body.
type Seen = BTreeMap<String, (u64, u64, Vec<u8>)>;

/// DynamoDB over no network: answers BatchGetItem with `batch_get` and every
/// other operation with `{}` (success), and counts requests and body bytes per operation.
#[derive(Debug, Clone, Default)]
struct CannedDynamo {
    batch_get: Arc<Mutex<String>>,
    seen: Arc<Mutex<Seen>>,
}

impl HttpConnector for CannedDynamo {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let operation = request
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_string();
        let body = request.body().bytes().unwrap_or_default();
        {
            let mut seen = self.seen.lock().unwrap();
            let entry = seen.entry(operation.clone()).or_default();
            entry.0 += 1;
            entry.1 += body.len() as u64;
            entry.2 = body.to_vec();
        }
        let answer = if operation == "BatchGetItem" {
            self.batch_get.lock().unwrap().clone()
        } else {
            "{}".to_string()
        };
        let mut response = HttpResponse::new(200u16.try_into().unwrap(), SdkBody::from(answer));
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl HttpClient for CannedDynamo {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let env = SendEnv::new();
    let job = env.schedule();
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let sent = support::block_on(sending::send_email(&env.context(), &job, now(), &mut rng)).unwrap();
    assert!(matches!(sent, SendOutcome::Sent { .. }));
    let email = support::block_on(env.store.get_emails(env.tenant, &[(job.lead_id, 1)]))
        .unwrap()
        .pop()
        .expect("the sent email");

    // The real adapter over the fake; the stored item is what the adapter itself writes.
    let fake = CannedDynamo::default();
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDBENCHEXAMPLE",
            "bench-secret",
            None,
            None,
            "bench",
        ))
        .http_client(fake.clone())
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(config), TABLE);
    runtime.block_on(store.save_email(&email, email.version)).unwrap();
    let put: Value = serde_json::from_slice(&fake.seen.lock().unwrap()["PutItem"].2).unwrap();
    *fake.batch_get.lock().unwrap() =
        json!({"Responses": {TABLE: [put["Item"].clone()]}, "UnprocessedKeys": {}}).to_string();
    fake.seen.lock().unwrap().clear();

    let sample = ses_open_bodies(&env, &job, 0, BATCH);
    println!("SNS envelope + event: {} bytes", sample[0].len());
    let mut group = c.benchmark_group("ses_event_store");
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
    let next = std::cell::Cell::new(BATCH);
    let fresh = || {
        let first = next.get();
        next.set(first + BATCH);
        ses_open_bodies(&env, &job, first, BATCH)
    };
    let apply = |store: &dyn cc_domain::ports::Store, bodies: Vec<String>| {
        let records: Vec<SesEventRecord> = bodies.iter().map(|b| decode_sqs_body(b).unwrap()).collect();
        let outcomes = runtime.block_on(ses_events::apply_batch(store, &records, now()));
        assert!(outcomes.iter().all(|o| matches!(o, Ok(EventOutcome::Applied))));
    };
    group.bench_function("decode_and_apply_memory", |b| {
        b.iter_batched(fresh, |bodies| apply(&env.store, bodies), BatchSize::SmallInput)
    });
    group.bench_function("decode_and_apply_dynamo", |b| {
        b.iter_batched(fresh, |bodies| apply(&store, bodies), BatchSize::SmallInput)
    });
    group.finish();

    let seen = fake.seen.lock().unwrap();
    let batches = seen.get("BatchGetItem").map_or(0, |s| s.0).max(1);
    for (operation, (requests, bytes, last)) in seen.iter() {
        let actions = serde_json::from_slice::<Value>(last)
            .ok()
            .and_then(|v| v["TransactItems"].as_array().map(Vec::len));
        println!(
            "{operation}: {:.2} per batch, {} request bytes each{}",
            *requests as f64 / batches as f64,
            bytes / requests.max(&1),
            actions.map(|n| format!(", {n} actions")).unwrap_or_default()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
