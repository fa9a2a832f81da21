//! CPU per lead of the import path (issue 3): parse + map + validate +
//! normalise (phone to E.164, address flags) + score, over a 100,000-row CSV
//! where every row has a phone number, against a plain `csv` ByteRecord pass
//! over the same bytes in the same run. `make bench` runs it; compare the two
//! `time` lines (per element with `thrpt`). The `csv_100k_stages` group times
//! each stage of the full path on its own, to show where the time goes.
//!
//! The full path is the one an import runs: `csv_import::parse` maps each row
//! to a typed lead input (as `operations::imports` queues it), and the ingest
//! function's `leads_of_batch` validates, normalises and scores it into a `Lead`,
//! one batch of `MAX_ROWS_PER_BATCH` rows at a time, as the function gets them.
//! The queue in between (JSON on SQS, read straight back into the typed rows)
//! is not part of it.

use cc_domain::csv_import;
use cc_domain::enrich;
use cc_domain::ids::{CampaignId, ImportJobId, TenantId};
use cc_domain::import::{BatchRow, LeadBatch, MAX_ROWS_PER_BATCH, RowLead};
use cc_domain::lead::{Lead, NewLead};
use cc_domain::operations::imports::leads_of_batch;
use chrono::Utc;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::hint::black_box;

const ROWS: usize = 100_000;

fn file() -> Vec<u8> {
    let mut text = String::from("Email,First Name,Last Name,Company,Job Title,Phone,Country,Website,Employees\n");
    for n in 0..ROWS {
        text.push_str(&format!(
            "person.{n}@company{}.com,Ann,Example,Example GmbH,Head of Growth,030 {:06},DE,https://company{}.com,51-200\n",
            n % 997,
            100_000 + n % 800_000,
            n % 997
        ));
    }
    text.into_bytes()
}

fn bench(c: &mut Criterion) {
    let bytes = file();
    let mut group = c.benchmark_group("csv_100k");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.bench_function("raw_byte_record_pass", |b| {
        b.iter(|| {
            let mut reader = csv::Reader::from_reader(bytes.as_slice());
            let mut record = csv::ByteRecord::new();
            let mut fields = 0usize;
            while reader.read_byte_record(&mut record).unwrap() {
                fields += record.len();
            }
            black_box(fields)
        })
    });
    let (tenant, campaign, job) = (TenantId::generate(), CampaignId::generate(), ImportJobId::generate());
    group.bench_function("parse_map_validate_normalise_score", |b| {
        b.iter(|| {
            let parsed = csv_import::parse(&bytes, &BTreeMap::new()).unwrap();
            let mut rows = parsed.rows.into_iter().map(|r| BatchRow {
                row: r.row as u32,
                lead: RowLead::Input(r.lead.unwrap()),
            });
            // As the ingest function does: one batch (one SQS message) at a
            // time, its leads stored and dropped before the next.
            let mut made = 0;
            for batch in 0.. {
                let rows: Vec<BatchRow> = rows.by_ref().take(MAX_ROWS_PER_BATCH).collect();
                if rows.is_empty() {
                    break;
                }
                let batch = LeadBatch {
                    tenant_id: tenant,
                    campaign_id: campaign,
                    job_id: job,
                    batch,
                    default_country: None,
                    source: Some("csv".into()),
                    rows,
                };
                let (leads, refused) = leads_of_batch(batch, Utc::now());
                assert!(refused.is_empty(), "{:?}", refused.first());
                made += black_box(leads).len();
            }
            assert_eq!(made, ROWS);
            made
        })
    });
    group.finish();
    stages(c, &bytes);
}

/// The full path's stages, each over the same 100,000 rows (and each freeing what it makes).
fn stages(c: &mut Criterion, bytes: &[u8]) {
    let (tenant, campaign) = (TenantId::generate(), CampaignId::generate());
    let inputs: Vec<NewLead> = csv_import::parse(bytes, &BTreeMap::new())
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.lead.unwrap())
        .collect();
    let phones: Vec<String> = inputs.iter().map(|l| l.phone.clone().unwrap()).collect();
    let mut group = c.benchmark_group("csv_100k_stages");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.bench_function("parse_and_map", |b| {
        b.iter(|| black_box(csv_import::parse(bytes, &BTreeMap::new()).unwrap().rows.len()))
    });
    group.bench_function("lead_create", |b| {
        b.iter_batched(
            || inputs.clone(),
            |inputs| {
                for input in inputs {
                    black_box(Lead::create(tenant, campaign, input, "/row/2", Utc::now(), None).unwrap());
                }
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("normalise_phone", |b| {
        b.iter(|| {
            phones
                .iter()
                .filter(|p| enrich::normalise_phone(p, Some("DE")).is_ok())
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
