//! The ses-events handler on a real SQS event from events/ (storage in memory).

use cc_domain::clock::ManualClock;
use cc_domain::memory::MemoryStore;
use ses_events::SesEvents;
use std::sync::Arc;

fn event(file: &str) -> aws_lambda_events::sqs::SqsEvent {
    let path = format!("{}/../../events/{file}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("a valid SQS event")
}

#[tokio::test]
async fn an_event_about_no_email_of_ours_is_acknowledged_and_an_undecodable_record_is_reported_failed() {
    let handler = SesEvents {
        store: Arc::new(MemoryStore::new()),
        clock: Arc::new(ManualClock::at(chrono::Utc::now())),
        // Without a dead-letter queue to park it on, the record must not be acknowledged.
        dead_letters: None,
    };
    let response = handler.handle(event("ses-events-delivery.json")).await;
    let failed: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    // The delivery decodes but carries no email tags (mail sent by another system): acknowledged.
    assert_eq!(failed, ["2a1b0c9d-8e7f-4a6b-9c5d-4e3f2a1b0c9d"]);
}

#[tokio::test]
async fn a_bounce_in_the_older_notification_format_decodes_and_is_acknowledged() {
    let handler = SesEvents {
        store: Arc::new(MemoryStore::new()),
        clock: Arc::new(ManualClock::at(chrono::Utc::now())),
        // Without a dead-letter queue an undecodable record would be reported failed.
        dead_letters: None,
    };
    let response = handler.handle(event("ses-events-notification-bounce.json")).await;
    // Identity notifications carry no message tags: decoded, matched to no email, acknowledged.
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
}
