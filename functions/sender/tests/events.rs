//! The sender handler on a real SQS event from events/ (storage in memory).

use cc_domain::clock::ManualClock;
use cc_domain::memory::{MemoryMailer, MemoryStore};
use cc_domain::unsubscribe::{LinkSigner, SignedLinks};
use sender::Sender;
use std::sync::Arc;

fn event(file: &str) -> aws_lambda_events::sqs::SqsEvent {
    let path = format!("{}/../../events/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("a valid SQS event")
}

#[tokio::test]
async fn a_job_for_an_unknown_email_is_done_and_an_undecodable_record_is_reported_failed() {
    let mailer = Arc::new(MemoryMailer::default());
    let sender = Sender {
        store: Arc::new(MemoryStore::new()),
        mailer: mailer.clone(),
        links: Arc::new(SignedLinks::new(
            LinkSigner::new(&[3; 32]).unwrap(),
            "https://api.example.com",
        )),
        configuration_set_prefix: Some("cc-test-".into()),
        clock: Arc::new(ManualClock::at(chrono::Utc::now())),
        // Without a dead-letter queue to park it on, the record must not be
        // acknowledged: SQS's redrive policy then takes it to the DLQ.
        dead_letters: None,
        templates: Default::default(),
        replies: None,
    };
    let response = sender.handle(event("sender-send-jobs.json")).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    // The job decodes; its email does not exist (deleted, or another stack's), so it is acknowledged.
    assert_eq!(failed, ["9e8f7a6b-5c4d-4e3f-8a2b-1c0d9e8f7a6b"]);
    assert!(mailer.sent.lock().unwrap().is_empty());
}
