//! End-to-end import benchmark through the local stack (issue 3, `make bench`):
//! a 100,000-row CSV from the API call that issues its upload URL to the
//! completed job, through the real api and ingest functions on the emulator.
//! Reports rows/s, DynamoDB write requests per lead (counted by an SDK
//! interceptor on every request the functions send), and the ratio to the
//! emulator's raw BatchWriteItem rate, measured in the same run on the same
//! table with items of the same size, written the way the store writes.
//!
//! `cargo run --profile stack-bench -p devstack --bin import-bench [-- ROWS]`

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use devstack::request_counts::{RequestCounts, counting_client};
use devstack::{Emulator, LocalFunctions, Template};
use futures::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

const COMPANIES: usize = 20_000;
const TITLES: [&str; 6] = [
    "CEO",
    "Head of Growth",
    "VP Sales",
    "Marketing Manager",
    "Engineer",
    "Founder",
];

/// A realistic list: 70% business addresses over 20,000 companies, 30% free-mail, every row with a phone.
fn csv_file(rows: usize) -> Vec<u8> {
    let mut text = String::from("Email,First Name,Last Name,Company,Job Title,Phone,Country,Website\n");
    for n in 0..rows {
        let company = n % COMPANIES;
        let email = if n % 10 < 7 {
            format!("person.{n}@company{company}.com")
        } else {
            format!("someone.{n}@gmail.com")
        };
        text.push_str(&format!(
            "{email},Ann,Example,Company {company},{},030 {:06},DE,https://company{company}.com\n",
            TITLES[n % TITLES.len()],
            100_000 + n % 800_000,
        ));
    }
    text.into_bytes()
}

/// The emulator's raw BatchWriteItem rate on the same table: `rows` items
/// made by `make_item`, 25 per request, 4 requests in flight (as the store writes).
async fn raw_batch_write_rate(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    rows: usize,
    make_item: impl Fn(usize) -> HashMap<String, AttributeValue>,
) -> f64 {
    let started = Instant::now();
    let chunks: Vec<Vec<WriteRequest>> = (0..rows)
        .collect::<Vec<_>>()
        .chunks(25)
        .map(|chunk| {
            chunk
                .iter()
                .map(|&n| {
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(make_item(n))).build().unwrap())
                        .build()
                })
                .collect()
        })
        .collect();
    stream::iter(chunks)
        .map(|requests| async move {
            let mut pending = requests;
            while !pending.is_empty() {
                let out = client
                    .batch_write_item()
                    .request_items(table, pending)
                    .send()
                    .await
                    .expect("BatchWriteItem works");
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default();
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
    rows as f64 / started.elapsed().as_secs_f64()
}

/// An item like a stored lead in size, with a lead's three index entries but
/// few attributes (the baseline of earlier runs, kept for comparison).
fn synthetic_item(n: usize, item_bytes: usize) -> HashMap<String, AttributeValue> {
    let payload = "x".repeat(item_bytes.saturating_sub(120));
    HashMap::from([
        ("PK".to_string(), AttributeValue::S(format!("RAW#{n}"))),
        ("SK".to_string(), AttributeValue::S("#RAW".into())),
        ("GSI1PK".to_string(), AttributeValue::S("RAW#ALL".into())),
        ("GSI1SK".to_string(), AttributeValue::S(format!("{n:08}"))),
        ("GSI2PK".to_string(), AttributeValue::S("RAW#ALL#new".into())),
        ("GSI2SK".to_string(), AttributeValue::S(format!("{n:08}"))),
        ("GSI3PK".to_string(), AttributeValue::S(format!("RAW#EMAIL#{n}"))),
        ("GSI3SK".to_string(), AttributeValue::S(format!("{n:08}"))),
        ("payload".to_string(), AttributeValue::S(payload)),
    ])
}

/// One of the stored leads, as it is, under a new key and new index keys:
/// what writing these rows costs the emulator with nothing else to do.
fn copy_of_stored(
    n: usize,
    stored: &[HashMap<String, AttributeValue>],
    prefix: &str,
) -> HashMap<String, AttributeValue> {
    let mut item = stored[n % stored.len()].clone();
    for (name, value) in item.iter_mut() {
        if name == "PK" {
            *value = AttributeValue::S(format!("{prefix}#{n}"));
        } else if name.starts_with("GSI") {
            *value = AttributeValue::S(format!("{prefix}#{name}#{n:08}"));
        }
    }
    item
}

async fn call(client: &reqwest::Client, method: reqwest::Method, url: String, key: &str, body: Value) -> Value {
    let response = client
        .request(method, url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("the API answers");
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON answer");
    assert!(status.is_success(), "{status}: {body}");
    body
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    cc_runtime::init_dev_tracing();
    let rows: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let workers: usize = std::env::var("INGEST_WORKERS")
        .ok()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(4);
    let root = devstack::project_root();
    let log = std::env::temp_dir().join("cc-import-bench-emulator.log");
    let emulator = Emulator::start(&root, 0, Some(&log), None)?;
    let config = devstack::sdk_config(emulator.endpoint()).await;
    let template = Template::load(&root.join("template.yaml"))?;
    let stack = devstack::provision(&config, &template, "bench-").await?;
    let counters = Arc::new(RequestCounts::default());
    let dynamodb = counting_client(&config, counters.clone());
    let wiring = devstack::Wiring {
        operator_key: cc_domain::api_key::OperatorKey::generate_secret(),
        link_key: cc_domain::unsubscribe::LinkSigner::generate_key(),
        public_url: "http://127.0.0.1:3000".into(),
        clock: std::sync::Arc::new(cc_domain::clock::SystemClock),
    };
    let functions = LocalFunctions::wire_with(&config, dynamodb.clone(), &template, &stack, &wiring)?;
    let table = stack.table("MainTable").ok_or("no MainTable")?.to_string();

    let file = csv_file(rows);
    println!(
        "import-bench: {rows} rows ({:.1} MB), {workers} ingest workers, emulator {}",
        file.len() as f64 / 1e6,
        emulator.endpoint()
    );

    let router = api::router(functions.api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();
    let tenant = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/v1/tenants"),
        &wiring.operator_key,
        json!({"name": "Bench"}),
    )
    .await;
    let key = tenant["admin_api_key"].as_str().ok_or("no admin key")?.to_string();
    let campaign = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/v1/campaigns"),
        &key,
        json!({"name": "Bench"}),
    )
    .await;
    let campaign = campaign["id"].as_str().ok_or("no campaign id")?.to_string();

    // The real path, timed from the upload-URL call to the completed job.
    let before = counters.snapshot();
    let started = Instant::now();
    let ticket = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/v1/campaigns/{campaign}/imports/upload-url"),
        &key,
        json!({}),
    )
    .await;
    let job_id = ticket["id"].as_str().ok_or("no job id")?.to_string();
    let put = http
        .put(ticket["upload_url"].as_str().ok_or("no URL")?)
        .body(file)
        .send()
        .await?;
    assert!(put.status().is_success(), "upload: {}", put.status());
    let uploads = functions
        .ingest_trigger("ImportUploadQueue")
        .ok_or("no upload trigger")?
        .clone();
    while functions.deliver_to_ingest(&uploads, 0, 0).await?.received > 0 {}
    let batches = functions
        .ingest_trigger("LeadBatchQueue")
        .ok_or("no batch trigger")?
        .clone();
    // Lambda's event source mapping runs several ingest instances at once; so do these workers.
    let job_done = {
        let (store, tenant_id, job_id) = (
            functions.store.clone(),
            tenant["id"]
                .as_str()
                .ok_or("no tenant id")?
                .parse::<cc_domain::ids::TenantId>()?,
            job_id.parse::<cc_domain::ids::ImportJobId>()?,
        );
        move || {
            let store = store.clone();
            async move {
                use cc_domain::ports::ImportStore;
                let job = store.get_import(tenant_id, job_id).await.expect("the job is readable");
                job.is_some_and(|j| j.status == cc_domain::import::ImportStatus::Completed)
            }
        }
    };
    stream::iter(0..workers)
        .map(|_| {
            let (functions, batches, job_done) = (functions.clone(), batches.clone(), job_done.clone());
            async move {
                let mut idle_since = Instant::now();
                loop {
                    let delivery = functions.deliver_to_ingest(&batches, 1, 0).await.expect("SQS works");
                    if delivery.received > 0 {
                        idle_since = Instant::now();
                    } else if job_done().await || idle_since.elapsed().as_secs() > 30 {
                        break;
                    }
                }
            }
        })
        .buffer_unordered(workers)
        .collect::<Vec<_>>()
        .await;
    let job = call(
        &http,
        reqwest::Method::GET,
        format!("{base}/v1/imports/{job_id}"),
        &key,
        Value::Null,
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    if job["status"] != "completed" {
        for queue in ["LeadBatchQueue", "LeadBatchDeadLetterQueue"] {
            let attributes = functions
                .sqs
                .get_queue_attributes()
                .queue_url(stack.queue_url(queue).unwrap_or_default())
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send()
                .await?;
            eprintln!("{queue}: {:?}", attributes.attributes());
        }
        use cc_domain::ports::ImportStore;
        let stored = functions
            .store
            .get_import(tenant["id"].as_str().unwrap_or_default().parse()?, job_id.parse()?)
            .await?;
        eprintln!("stored job: {stored:?}");
    }
    assert_eq!(job["status"], "completed", "{job}");
    let created = job["created"].as_u64().unwrap_or_default().max(1);
    let counted = counters.snapshot().since(&before);
    let writes = counted.written_items;
    let batch_calls = counted.batch_write_calls;
    let single_calls = counted.single_write_calls();
    let read_keys = counted.read_keys;
    let rate = rows as f64 / elapsed;

    // Stored lead items, as templates for the raw baselines.
    let stored = dynamodb
        .query()
        .table_name(&table)
        .index_name("GSI1")
        .key_condition_expression("GSI1PK = :pk")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(format!(
                "T#{}#C#{campaign}#LEADS",
                tenant["id"].as_str().unwrap_or_default()
            )),
        )
        .limit(100)
        .send()
        .await?
        .items
        .unwrap_or_default();
    assert!(!stored.is_empty(), "no stored lead to copy");
    let attributes = stored[0].len();
    let item_bytes = stored[0]
        .iter()
        .map(|(k, v)| k.len() + format!("{v:?}").len())
        .sum::<usize>();
    drop(emulator);
    // Each baseline on an emulator of its own, empty as the import's was at
    // its start: moto slows down as its heap grows, so writing after the
    // import (or after the other baseline) would flatter the import.
    let raw_same = {
        let (_emulator, client, table) = fresh_table(&root, &template).await?;
        raw_batch_write_rate(&client, &table, rows, |n| copy_of_stored(n, &stored, "RAWLEAD")).await
    };
    let raw_synthetic = {
        let (_emulator, client, table) = fresh_table(&root, &template).await?;
        raw_batch_write_rate(&client, &table, rows, |n| synthetic_item(n, item_bytes)).await
    };

    println!("job: {job}");
    println!("rows/s end to end          : {rate:.0} ({rows} rows in {elapsed:.1} s; created {created})");
    println!(
        "write requests per lead    : {:.3} ({writes} items written: {batch_calls} BatchWriteItem calls, {single_calls} single writes)",
        writes as f64 / created as f64
    );
    println!("keys read per lead         : {:.3}", read_keys as f64 / created as f64);
    println!(
        "raw BatchWriteItem rows/s  : {raw_same:.0} (copies of the stored lead items, {attributes} attributes, 25 per call, 4 in flight)"
    );
    println!("ratio to raw               : {:.2}", rate / raw_same);
    println!(
        "raw, 9-attribute items     : {raw_synthetic:.0} rows/s (same size, ~{item_bytes} bytes; ratio {:.2})",
        rate / raw_synthetic
    );
    Ok(())
}

/// A new emulator with the template's tables, and its main table.
async fn fresh_table(
    root: &std::path::Path,
    template: &Template,
) -> Result<(Emulator, aws_sdk_dynamodb::Client, String), Box<dyn std::error::Error>> {
    let log = std::env::temp_dir().join("cc-import-bench-raw-emulator.log");
    let emulator = Emulator::start(root, 0, Some(&log), None)?;
    let config = devstack::sdk_config(emulator.endpoint()).await;
    let stack = devstack::provision(&config, template, "raw-").await?;
    let table = stack.table("MainTable").ok_or("no MainTable")?.to_string();
    Ok((emulator, aws_sdk_dynamodb::Client::new(&config), table))
}
