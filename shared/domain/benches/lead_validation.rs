//! CPU cost of turning submitted JSON into validated leads: the part of every
//! bulk call and import that runs per row. `make bench` runs it.

use cc_domain::email::EmailAddress;
use cc_domain::ids::{CampaignId, TenantId};
use cc_domain::input::decode;
use cc_domain::lead::{Lead, NewLead};
use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use std::hint::black_box;

fn rows(count: usize) -> Vec<Value> {
    (0..count)
        .map(|n| {
            json!({
                "email": format!("  Person.{n}@Company{}.COM ", n % 97),
                "first_name": "Ann", "last_name": "Example", "company_name": "Example GmbH",
                "job_title": "Head of Growth", "website": "https://example.com", "country": "DE",
                "phone": format!("030 {:06}", 100_000 + n % 800_000),
                "timezone": "Europe/Berlin", "score": 42,
                "custom_fields": {"plan": "pro", "seats": 12},
                "personalization": {"icebreaker": "Loved your post on outbound."}
            })
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let tenant = TenantId::generate();
    let campaign = CampaignId::generate();
    let batch = rows(1000);
    let mut group = c.benchmark_group("leads");
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("decode_and_validate_1000", |b| {
        b.iter(|| {
            for (i, row) in batch.iter().enumerate() {
                let base = format!("/leads/{i}");
                let input: NewLead = decode(row.clone(), &base).unwrap();
                black_box(Lead::create(tenant, campaign, input, &base, Utc::now(), Some("DE")).unwrap());
            }
        })
    });
    group.finish();
    c.bench_function("email_parse", |b| {
        b.iter(|| EmailAddress::parse(black_box("  Jane.Doe+tag@Sub.Example.COM ")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
