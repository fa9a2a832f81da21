//! The ingest handler on real SQS events from events/ (storage in memory).

use cc_domain::api_key::{Principal, Role};
use cc_domain::campaign::NewCampaign;
use cc_domain::import::ImportStatus;
use cc_domain::memory::{MemoryFiles, MemoryQueue, MemoryStore};
use cc_domain::operations::{campaigns, imports};
use cc_domain::ports::ImportStore;
use ingest::{Ingest, Uploads};
use std::collections::BTreeMap;
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
        uploads: None,
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
        uploads: None,
    };
    let response = ingest.handle(event).await;
    assert_eq!(response.batch_item_failures.len(), 1);
}

#[tokio::test]
async fn an_upload_notification_starts_its_job_once_whatever_is_redelivered() {
    let store = Arc::new(MemoryStore::new());
    let files = Arc::new(MemoryFiles::default());
    let queue = Arc::new(MemoryQueue::default());
    let caller = Principal {
        tenant_id: cc_domain::ids::TenantId::generate(),
        key_id: cc_domain::ids::ApiKeyId::generate(),
        role: Role::Admin,
    };
    let input: NewCampaign = serde_json::from_value(serde_json::json!({"name": "Q1"})).unwrap();
    let campaign = campaigns::create(store.as_ref(), &caller, input, chrono::Utc::now())
        .await
        .unwrap();
    let (job, _) = imports::create_upload(
        store.as_ref(),
        files.as_ref(),
        &caller,
        campaign.id,
        BTreeMap::new(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    files.put(&job.upload_key(), b"email,name\nann@acme.com,Ann\nbob@globex.com,Bob\n");
    let ingest = Ingest {
        store: store.clone(),
        dead_letters: None,
        uploads: Some(Uploads {
            files: files.clone(),
            lead_batches: queue.clone(),
        }),
    };
    // The sample's object key, pointed at this job (URL-encoded, as S3 sends it).
    let mut event = event("ingest-s3-upload.json");
    let body = event.records[0].body.take().unwrap();
    let key = urlencode(&job.upload_key());
    let body = body.replace(
        "uploads/01a20000-0000-7000-8000-000000000001/01a20000-0000-7000-8000-000000000003.csv",
        &key,
    );
    event.records[0].body = Some(body);

    assert!(ingest.handle(event.clone()).await.batch_item_failures.is_empty());
    assert!(ingest.handle(event).await.batch_item_failures.is_empty());
    let batches = queue.take();
    assert_eq!(batches.len(), 1, "queued once");
    assert_eq!(batches[0].rows.len(), 2);
    let started = store.get_import(caller.tenant_id, job.id).await.unwrap().unwrap();
    assert_eq!((started.status, started.total_rows), (ImportStatus::Queued, 2));
    assert!(!files.contains(&job.upload_key()), "the file is removed once queued");
}

fn urlencode(key: &str) -> String {
    key.replace('/', "%2F")
}
