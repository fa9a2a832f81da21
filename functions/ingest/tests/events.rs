//! The ingest handler on real SQS events from events/ (storage in memory).

use cc_domain::memory::MemoryStore;
use ingest::Ingest;
use std::sync::Arc;

fn event(file: &str) -> aws_lambda_events::sqs::SqsEvent {
    let path = format!("{}/../../events/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("a valid SQS event")
}

#[tokio::test]
async fn an_undecodable_record_is_reported_failed_when_it_cannot_be_parked() {
    // Without a dead-letter queue to park it on, the record must not be
    // acknowledged: SQS's redrive policy then takes it to the DLQ.
    let ingest = Ingest {
        store: Arc::new(MemoryStore::new()),
        dead_letters: None,
    };
    let response = ingest.handle(event("ingest-undecodable.json")).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["059f36b4-87a3-44ab-83d2-661975830a7d"]);
}

#[tokio::test]
async fn a_batch_of_an_unknown_import_is_reported_failed_not_dropped() {
    let mut event = event("ingest-undecodable.json");
    let batch = serde_json::json!({
        "tenant_id": "01a20000-0000-7000-8000-000000000001",
        "campaign_id": "01a20000-0000-7000-8000-000000000002",
        "job_id": "01a20000-0000-7000-8000-000000000003",
        "batch": 0,
        "rows": [{"row": 2, "lead": {"email": "ann@acme.com"}}]
    });
    event.records[0].body = Some(batch.to_string());
    let ingest = Ingest {
        store: Arc::new(MemoryStore::new()),
        dead_letters: None,
    };
    let response = ingest.handle(event).await;
    assert_eq!(response.batch_item_failures.len(), 1);
}
