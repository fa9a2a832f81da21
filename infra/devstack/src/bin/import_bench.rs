//! End-to-end import benchmark through the local stack (issue 3, `make bench`):
//! a 100,000-row CSV from the API call that issues its upload URL to the
//! completed job, through the real api and ingest functions on the emulator.
//! Reports rows/s, DynamoDB write requests per lead (counted by an SDK
//! interceptor on every request the functions send), and the ratio to the
//! emulator's raw BatchWriteItem rate: copies of stored lead items, written
//! the way the store writes them to an emulator of their own, at the same
//! time as the import, so that both rates see the same machine (see
//! docs/performance.md for why).
//!
//! `cargo run --profile stack-bench -p devstack --bin import-bench [-- ROWS]`

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use devstack::request_counts::{Counts, RequestCounts, counting_client};
use devstack::{Emulator, LocalFunctions, Template};
use futures::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const COMPANIES: usize = 20_000;
const TITLES: [&str; 6] = [
    "CEO",
    "Head of Growth",
    "VP Sales",
    "Marketing Manager",
    "Engineer",
    "Founder",
];
/// Rows of the untimed import whose stored leads the raw baseline copies.
const WARM_UP_ROWS: usize = 1_000;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

/// A realistic list: 70% business addresses over 20,000 companies, 30%
/// free-mail, every row with a phone. Companies' domains are
/// `{company}{n}.com`, so files with different `company` share no organisation.
fn csv_file(rows: usize, company: &str) -> Vec<u8> {
    let mut text = String::from("Email,First Name,Last Name,Company,Job Title,Phone,Country,Website\n");
    for n in 0..rows {
        let number = n % COMPANIES;
        let email = if n % 10 < 7 {
            format!("person.{n}@{company}{number}.com")
        } else {
            format!("someone.{n}@gmail.com")
        };
        text.push_str(&format!(
            "{email},Ann,Example,Company {number},{},030 {:06},DE,https://{company}{number}.com\n",
            TITLES[n % TITLES.len()],
            100_000 + n % 800_000,
        ));
    }
    text.into_bytes()
}

/// Writes copies of `stored` (25 per BatchWriteItem, 4 requests in flight, as
/// the store writes) until `stop` is set; the items written and how long it took.
async fn raw_writes_until(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    stored: &[HashMap<String, AttributeValue>],
    stop: &AtomicBool,
) -> (usize, Duration) {
    let started = Instant::now();
    let written: usize = stream::iter(0usize..)
        .take_while(|_| std::future::ready(!stop.load(Ordering::Relaxed)))
        .map(|chunk| async move {
            let mut pending: Vec<WriteRequest> = (chunk * 25..chunk * 25 + 25)
                .map(|n| {
                    let item = copy_of_stored(n, stored);
                    WriteRequest::builder()
                        .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
                        .build()
                })
                .collect();
            let items = pending.len();
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
            items
        })
        .buffer_unordered(4)
        .fold(0, |total, items| std::future::ready(total + items))
        .await;
    (written, started.elapsed())
}

/// One of the stored leads, as it is, under a new partition key of the same
/// length plus the copy's number: what writing such a row costs the emulator.
fn copy_of_stored(n: usize, stored: &[HashMap<String, AttributeValue>]) -> HashMap<String, AttributeValue> {
    let mut item = stored[n % stored.len()].clone();
    if let Some(AttributeValue::S(pk)) = item.get_mut("PK") {
        pk.push_str(&format!("#{n}"));
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

/// The stack under test, and a tenant in it.
struct Bench {
    stack: devstack::LocalStack,
    functions: LocalFunctions,
    counters: Arc<RequestCounts>,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    http: reqwest::Client,
    base: String,
    key: String,
    tenant_id: cc_domain::ids::TenantId,
    workers: usize,
}

/// What one import took.
struct Imported {
    campaign: String,
    job: Value,
    elapsed: Duration,
    counts: Counts,
}

impl Bench {
    /// A campaign, and `file` imported into it through an upload URL: timed
    /// from the call that issues the URL to the job reading `completed`.
    async fn import(&self, file: Vec<u8>) -> BenchResult<Imported> {
        let campaign = self.post("/v1/campaigns", json!({"name": "Bench"})).await;
        let campaign = campaign["id"].as_str().ok_or("no campaign id")?.to_string();
        let before = self.counters.snapshot();
        let started = Instant::now();
        let ticket = self
            .post(&format!("/v1/campaigns/{campaign}/imports/upload-url"), json!({}))
            .await;
        let job_id = ticket["id"].as_str().ok_or("no job id")?.to_string();
        let put = self
            .http
            .put(ticket["upload_url"].as_str().ok_or("no URL")?)
            .body(file)
            .send()
            .await?;
        assert!(put.status().is_success(), "upload: {}", put.status());
        let functions = &self.functions;
        let uploads = functions
            .ingest_trigger("ImportUploadQueue")
            .ok_or("no upload trigger")?
            .clone();
        while functions.deliver_to_ingest(&uploads, 0, 0).await?.received > 0 {}
        let batches = functions
            .ingest_trigger("LeadBatchQueue")
            .ok_or("no batch trigger")?
            .clone();
        let job_done = {
            let (store, tenant_id, job_id) = (
                functions.store.clone(),
                self.tenant_id,
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
        // Lambda's event source mapping runs several ingest instances at once; so do these workers.
        stream::iter(0..self.workers)
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
            .buffer_unordered(self.workers)
            .collect::<Vec<_>>()
            .await;
        let job = self.get(&format!("/v1/imports/{job_id}")).await;
        let elapsed = started.elapsed();
        let counts = self.counters.snapshot().since(&before);
        if job["status"] != "completed" {
            self.explain_unfinished(&job_id).await?;
        }
        assert_eq!(job["status"], "completed", "{job}");
        Ok(Imported {
            campaign,
            job,
            elapsed,
            counts,
        })
    }

    async fn explain_unfinished(&self, job_id: &str) -> BenchResult<()> {
        for queue in ["LeadBatchQueue", "LeadBatchDeadLetterQueue"] {
            let attributes = self
                .functions
                .sqs
                .get_queue_attributes()
                .set_queue_url(self.stack.queue_url(queue).map(str::to_string))
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send()
                .await;
            eprintln!("{queue}: {attributes:?}");
        }
        use cc_domain::ports::ImportStore;
        let stored = self.functions.store.get_import(self.tenant_id, job_id.parse()?).await?;
        eprintln!("stored job: {stored:?}");
        Ok(())
    }

    /// Up to 100 stored lead items of a campaign, as DynamoDB holds them.
    async fn stored_leads(&self, campaign: &str) -> BenchResult<Vec<HashMap<String, AttributeValue>>> {
        let stored = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .index_name("GSI1")
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("T#{}#C#{campaign}#LEADS", self.tenant_id)),
            )
            .limit(100)
            .send()
            .await?
            .items
            .unwrap_or_default();
        if stored.is_empty() {
            return Err("no stored lead to copy".into());
        }
        Ok(stored)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        call(
            &self.http,
            reqwest::Method::POST,
            format!("{}{path}", self.base),
            &self.key,
            body,
        )
        .await
    }

    async fn get(&self, path: &str) -> Value {
        call(
            &self.http,
            reqwest::Method::GET,
            format!("{}{path}", self.base),
            &self.key,
            Value::Null,
        )
        .await
    }
}

#[tokio::main]
async fn main() -> BenchResult<()> {
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
    let bench = Bench {
        stack,
        functions,
        counters,
        dynamodb,
        table,
        http,
        base,
        key: tenant["admin_api_key"].as_str().ok_or("no admin key")?.to_string(),
        tenant_id: tenant["id"].as_str().ok_or("no tenant id")?.parse()?,
        workers,
    };

    // An untimed import of other companies: its stored leads are what the raw baseline copies.
    let warm_up = bench.import(csv_file(WARM_UP_ROWS, "warmup")).await?;
    let stored = bench.stored_leads(&warm_up.campaign).await?;
    let attributes = stored[0].len();

    // The baseline's own emulator, empty as the import's was.
    let (_raw_emulator, raw_client, raw_table) = fresh_table(&root, &template).await?;
    let file = csv_file(rows, "company");
    println!(
        "import-bench: {rows} rows ({:.1} MB), {workers} ingest workers, emulator {}",
        file.len() as f64 / 1e6,
        emulator.endpoint()
    );
    let stop = AtomicBool::new(false);
    let (imported, (raw_items, raw_elapsed)) = tokio::join!(
        async {
            let imported = bench.import(file).await;
            stop.store(true, Ordering::Relaxed);
            imported
        },
        raw_writes_until(&raw_client, &raw_table, &stored, &stop),
    );
    let Imported {
        job, elapsed, counts, ..
    } = imported?;
    let created = job["created"].as_u64().unwrap_or_default().max(1);
    let rate = rows as f64 / elapsed.as_secs_f64();
    let raw_rate = raw_items as f64 / raw_elapsed.as_secs_f64();

    println!("job: {job}");
    println!(
        "rows/s end to end          : {rate:.0} ({rows} rows in {:.1} s; created {created})",
        elapsed.as_secs_f64()
    );
    println!(
        "write requests per lead    : {:.3} ({} items written: {} BatchWriteItem calls, {} single writes)",
        counts.written_items as f64 / created as f64,
        counts.written_items,
        counts.batch_write_calls,
        counts.single_write_calls(),
    );
    println!(
        "keys read per lead         : {:.3}",
        counts.read_keys as f64 / created as f64
    );
    println!(
        "raw BatchWriteItem rows/s  : {raw_rate:.0} ({raw_items} copies of stored lead items, {attributes} attributes, \
         25 per call, 4 in flight, on their own emulator during the import)"
    );
    println!("ratio to raw               : {:.2}", rate / raw_rate);
    Ok(())
}

/// A new emulator with the template's tables, and its main table.
async fn fresh_table(
    root: &std::path::Path,
    template: &Template,
) -> BenchResult<(Emulator, aws_sdk_dynamodb::Client, String)> {
    let log = std::env::temp_dir().join("cc-import-bench-raw-emulator.log");
    let emulator = Emulator::start(root, 0, Some(&log), None)?;
    let config = devstack::sdk_config(emulator.endpoint()).await;
    let stack = devstack::provision(&config, template, "raw-").await?;
    let table = stack.table("MainTable").ok_or("no MainTable")?.to_string();
    Ok((emulator, aws_sdk_dynamodb::Client::new(&config), table))
}
