//! SES's older notification format (feedback notifications set on the
//! identity: `notificationType`, no message tags) lands on the email through
//! the pointer the sender wrote from the SES message id (decisions.md §19).

use crate::tracking::{at, launched, mailbox};
use devstack::provision::LocalResource;
use integration_tests::TestApp;
use serde_json::{Value, json};

/// Publishes an older-format notification to the SES events topic, as SES
/// does for an identity whose feedback notifications go to it.
async fn publish_notification(app: &TestApp, message: Value) {
    let Some(LocalResource::Topic { arn, .. }) = app.stack.resources.get("SesEventsTopic") else {
        panic!("the SES events topic was provisioned");
    };
    aws_sdk_sns::Client::new(&app.config)
        .publish()
        .topic_arn(arn)
        .message(message.to_string())
        .send()
        .await
        .expect("SNS takes it");
}

#[tokio::test]
async fn an_older_format_bounce_without_tags_bounces_the_email_suppresses_and_counts() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let other = app.create_tenant("Other").await;
    let key = tenant.admin_key;
    let (mailbox, sender) = mailbox(&app, &key).await;
    app.clock.set(at("2026-03-02T07:00:00Z"));
    let lead = "gone@prospect.io";
    let campaign = launched(&app, &key, &mailbox, json!({}), &[lead]).await;
    app.run_at(at("2026-03-02T09:00:00Z")).await;
    let emails = app.get(&format!("/v1/campaigns/{campaign}/emails"), &key).await;
    let email = emails.ok(200)["items"][0].clone();
    assert_eq!(email["status"], "delivered", "{email}");
    let ses_id = email["ses_message_id"]
        .as_str()
        .expect("the SES message id")
        .to_string();

    let bounce = json!({
        "notificationType": "Bounce",
        "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "timestamp": "2026-03-02T09:00:05.000Z",
                   "feedbackId": format!("{ses_id}-bounce"), "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
                   "bouncedRecipients": [{"emailAddress": lead, "action": "failed", "status": "5.1.1",
                                          "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]},
        "mail": {"timestamp": "2026-03-02T09:00:00.000Z", "source": sender, "sourceIp": "192.0.2.1",
                 "sendingAccountId": "123456789012", "messageId": ses_id, "destination": [lead]}
    });
    publish_notification(&app, bounce.clone()).await;
    assert_eq!(app.deliver_ses_events().await, 1);

    let emails = app.get(&format!("/v1/campaigns/{campaign}/emails"), &key).await;
    let email = emails.ok(200)["items"][0].clone();
    assert_eq!(email["status"], "bounced", "{email}");
    assert_eq!(email["events"]["bounce"]["kind"], "hard");
    assert_eq!(email["events"]["bounce"]["status"], "5.1.1");
    let lead_id = email["lead_id"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/v1/leads/{lead_id}"), &key).await.ok(200)["status"],
        "bounced"
    );
    let list = app.get("/v1/suppressions", &key).await;
    let suppressed: Vec<Value> = list.ok(200)["items"].as_array().unwrap().clone();
    assert!(
        suppressed
            .iter()
            .any(|e| e["value"] == lead && e["reason"] == "bounced"),
        "{suppressed:?}"
    );
    let stats = app.get(&format!("/v1/campaigns/{campaign}/stats"), &key).await;
    let stats = stats.ok(200).clone();
    assert_eq!(
        (stats["bounced_hard"].as_u64(), stats["bounced"].as_u64()),
        (Some(1), Some(1)),
        "{stats}"
    );

    // The same notice again (SNS redelivers with the same id; a second notice has its own) counts once.
    publish_notification(&app, bounce).await;
    app.deliver_ses_events().await;
    let again = app.get(&format!("/v1/campaigns/{campaign}/stats"), &key).await;
    assert_eq!(again.ok(200)["bounced_hard"], 1);

    // Nothing crossed to the other tenant.
    let theirs = app.get("/v1/suppressions", &other.admin_key).await;
    assert_eq!(theirs.ok(200)["items"], json!([]));
    let overview = app.get("/v1/stats/overview", &other.admin_key).await;
    assert_eq!(overview.ok(200)["total_leads"], 0);
}
