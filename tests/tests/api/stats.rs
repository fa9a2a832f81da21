//! KPIs, the live feed and bounce protection through the real functions:
//! sends go out through the emulator's SES, the local SES simulator publishes
//! what SES would (SNS → SQS → ses-events), and the API reads the counters.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use axum::body::Body;
use chrono::{DateTime, TimeDelta, Utc};
use devstack::request_counts::{RequestCounts, counting_client};
use integration_tests::TestApp;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Monday 2 March 2026, before the default window (Mon–Fri 09:00–17:00).
const MONDAY_EARLY: &str = "2026-03-02T07:00:00Z";
const MONDAY_NINE: &str = "2026-03-02T09:00:00Z";

use integration_tests::SendingCampaign as Campaign;

async fn campaign(app: &TestApp, settings: Value) -> Campaign {
    app.sending_campaign(settings).await
}

async fn add(app: &TestApp, c: &Campaign, addresses: &[&str]) {
    let leads: Vec<Value> = addresses.iter().map(|e| json!({"email": e})).collect();
    app.add_leads(&c.key, &c.id, json!({ "leads": leads })).await.ok(200);
}

async fn stats(app: &TestApp, c: &Campaign) -> Value {
    app.get(&format!("/v1/campaigns/{}/stats", c.id), &c.key)
        .await
        .ok(200)
        .clone()
}

fn kinds(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect()
}

fn count(kinds: &[String], kind: &str) -> usize {
    kinds.iter().filter(|k| *k == kind).count()
}

#[tokio::test]
async fn events_move_the_campaign_stats_the_overview_the_timeline_and_the_live_feed() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let c = campaign(&app, json!({})).await;
    let simulator = [
        "ann@prospect.io",
        "bob@prospect.io",
        "bounce@simulator.amazonses.com",
        "complaint@simulator.amazonses.com",
    ];
    add(&app, &c, &simulator).await;
    let before = stats(&app, &c).await;
    assert_eq!((before["leads"].as_i64(), before["sent"].as_u64()), (Some(4), Some(0)));

    // The feed shows what settled (2 s): nothing yet at the same instant, the new leads after.
    let first = app.get("/v1/activity", &c.key).await;
    assert_eq!(first.ok(200)["items"], json!([]));
    app.clock.set(at(MONDAY_EARLY) + TimeDelta::seconds(3));
    let feed = app.get("/v1/activity", &c.key).await.ok(200).clone();
    assert_eq!(kinds(&feed["items"]), ["lead.created"; 4]);
    let cursor = feed["cursor"].as_str().unwrap().to_string();

    app.post(&format!("/v1/campaigns/{}/activate", c.id), &c.key, json!({}))
        .await
        .ok(200);
    app.run_at(at(MONDAY_NINE)).await;

    let s = stats(&app, &c).await;
    assert_eq!(s["leads"], 4);
    assert_eq!(s["sent"], 4, "{s}");
    assert_eq!(s["delivered"], 3, "the bounce is not delivered: {s}");
    assert_eq!((s["bounced"].as_u64(), s["bounced_hard"].as_u64()), (Some(1), Some(1)));
    assert_eq!(s["bounced_soft"], 0);
    assert_eq!(s["complained"], 1);
    assert_eq!(s["unsubscribed"], 1, "the complaint unsubscribed its lead");
    assert_eq!(s["rates"]["bounce"], 0.25);
    assert_eq!(s["rates"]["complaint"], 0.25);
    assert_eq!(s["rates"]["delivery"], 0.75);
    assert!(s["scheduled"].as_u64().unwrap() >= 4, "{s}");
    let steps = s["steps"].as_array().unwrap();
    assert_eq!(steps[0]["step"], 1);
    assert_eq!(steps[0]["sent"], 4);
    let variants = s["variants"].as_array().unwrap();
    assert_eq!(
        (variants[0]["step"].as_u64(), variants[0]["variant"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(variants[0]["delivered"], 3);
    for field in [
        "opened",
        "clicked",
        "machine_opens",
        "machine_clicks",
        "replied",
        "positive_replies",
    ] {
        assert_eq!(s[field], 0, "{field}");
    }

    let daily = app
        .get(
            &format!("/v1/campaigns/{}/stats/daily?from=2026-03-01&to=2026-03-03", c.id),
            &c.key,
        )
        .await;
    let days = daily.ok(200)["days"].as_array().unwrap().clone();
    assert_eq!(days.len(), 3, "every day of the range, zeros included");
    assert_eq!(
        (days[0]["date"].as_str(), days[0]["sent"].as_u64()),
        (Some("2026-03-01"), Some(0))
    );
    assert_eq!(
        (days[1]["date"].as_str(), days[1]["sent"].as_u64()),
        (Some("2026-03-02"), Some(4))
    );
    let backwards = app
        .get(
            &format!("/v1/campaigns/{}/stats/daily?from=2026-03-03&to=2026-03-01", c.id),
            &c.key,
        )
        .await;
    assert_eq!(integration_tests::fields(backwards.problem(400)), ["from"]);

    let overview = app.get("/v1/stats/overview", &c.key).await.ok(200).clone();
    assert_eq!(overview["total_leads"], 4);
    assert_eq!(
        overview["active_leads"], 2,
        "bounced and unsubscribed leads are not active"
    );
    assert_eq!(overview["contacted_leads"], 4);
    assert_eq!(overview["conversion_rate"], 0.0);
    assert_eq!(overview["response_rate"], 0.0);
    assert_eq!(overview["last_30_days"].as_array().unwrap().len(), 30);
    assert_eq!(overview["last_30_days"][29]["sent"], 4);

    // Only what is new since the cursor, oldest first.
    app.clock.set(at(MONDAY_NINE) + TimeDelta::seconds(5));
    let feed = app
        .get(&format!("/v1/activity?since={cursor}"), &c.key)
        .await
        .ok(200)
        .clone();
    let new = kinds(&feed["items"]);
    assert_eq!(count(&new, "lead.created"), 0, "{new:?}");
    assert_eq!(count(&new, "email.sent"), 4, "{new:?}");
    assert_eq!(count(&new, "email.delivered"), 3, "{new:?}");
    assert_eq!(count(&new, "email.bounced"), 1, "{new:?}");
    assert_eq!(count(&new, "email.complained"), 1, "{new:?}");
    let cursor = feed["cursor"].as_str().unwrap();
    let again = app.get(&format!("/v1/activity?since={cursor}"), &c.key).await;
    assert_eq!(again.ok(200)["items"], json!([]), "nothing new");
    assert_eq!(again.body["cursor"], cursor);
    let bad = app.get("/v1/activity?since=yesterday", &c.key).await;
    assert_eq!(integration_tests::fields(bad.problem(400)), ["since"]);

    // A lead's timeline, newest first.
    let leads = app
        .collect_all(&format!("/v1/campaigns/{}/leads", c.id), &c.key, 100)
        .await;
    let ann = leads.iter().find(|l| l["email"] == "ann@prospect.io").unwrap();
    let timeline = app
        .get(&format!("/v1/leads/{}/activities", ann["id"].as_str().unwrap()), &c.key)
        .await;
    assert_eq!(
        kinds(&timeline.ok(200)["items"]),
        ["email.delivered", "email.sent", "lead.created"]
    );

    // Another tenant sees none of it.
    let other = app.create_tenant("Other").await;
    let foreign = app
        .get(&format!("/v1/campaigns/{}/stats", c.id), &other.admin_key)
        .await;
    foreign.problem(404);
    let their_feed = app.get("/v1/activity", &other.admin_key).await;
    assert_eq!(their_feed.ok(200)["items"], json!([]));
}

#[tokio::test]
async fn bounce_protection_pauses_a_campaign_over_its_limit_and_not_before_the_minimum_sample() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let addresses = [
        "ann@prospect.io",
        "bob@prospect.io",
        "cy@prospect.io",
        "bounce@simulator.amazonses.com",
    ];
    // One hard bounce in four sends: 25%.
    let strict = campaign(&app, json!({"protection_min_sends": 4, "max_bounce_rate": 0.2})).await;
    let lenient = campaign(&app, json!({})).await; // 5%, but only after 50 sends
    for c in [&strict, &lenient] {
        add(&app, c, &addresses).await;
        app.post(&format!("/v1/campaigns/{}/activate", c.id), &c.key, json!({}))
            .await
            .ok(200);
    }
    app.run_at(at(MONDAY_NINE)).await;

    let paused = app.get(&format!("/v1/campaigns/{}", strict.id), &strict.key).await;
    let paused = paused.ok(200);
    assert_eq!(paused["status"], "paused");
    assert_eq!(
        paused["paused_reason"],
        "bounce rate 25.00% (1 of 4 emails) is above the limit of 20%"
    );
    app.clock.set(at(MONDAY_NINE) + TimeDelta::seconds(5));
    let feed = app.get("/v1/activity?limit=500", &strict.key).await.ok(200).clone();
    let auto_paused: Vec<&Value> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "campaign.auto_paused")
        .collect();
    assert_eq!(auto_paused.len(), 1, "{feed}");
    assert_eq!(auto_paused[0]["campaign_id"], strict.id.as_str());
    assert!(
        auto_paused[0]["data"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("bounce rate")
    );

    let lenient_now = app.get(&format!("/v1/campaigns/{}", lenient.id), &lenient.key).await;
    assert_eq!(
        lenient_now.ok(200)["status"],
        "active",
        "4 sends are below the 50 minimum"
    );
    assert_eq!(stats(&app, &lenient).await["bounced_hard"], 1);

    // The paused campaign sends no second step; activating it again clears the reason.
    app.run_at(at("2026-03-04T09:00:00Z")).await;
    assert_eq!(app.sent_from(&strict.sender).await.len(), 4);
    let resumed = app
        .post(&format!("/v1/campaigns/{}/activate", strict.id), &strict.key, json!({}))
        .await;
    assert!(resumed.ok(200).get("paused_reason").is_none(), "{}", resumed.body);
}

/// An SQS record of the SES events queue: an SES event in its SNS envelope.
fn ses_record(sns_id: &str, event: Value) -> SqsMessage {
    let body = json!({
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": "arn:aws:sns:us-east-1:000000000000:SesEventsTopic",
        "Message": event.to_string(),
        "Timestamp": Utc::now().to_rfc3339(),
    });
    let mut message = SqsMessage::default();
    message.message_id = Some(format!("sqs-{sns_id}"));
    message.body = Some(body.to_string());
    message
}

#[tokio::test]
async fn replaying_a_whole_batch_of_events_changes_no_counter() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let c = campaign(&app, json!({})).await;
    add(&app, &c, &["ann@prospect.io"]).await;
    app.post(&format!("/v1/campaigns/{}/activate", c.id), &c.key, json!({}))
        .await
        .ok(200);
    app.run_at(at(MONDAY_NINE)).await;
    let emails = app.get(&format!("/v1/campaigns/{}/emails", c.id), &c.key).await;
    let email = emails.ok(200)["items"][0].clone();
    assert_eq!(email["status"], "delivered");
    let mail = json!({
        "timestamp": "2026-03-02T09:00:00.000Z",
        "messageId": email["ses_message_id"],
        "source": c.sender,
        "destination": ["ann@prospect.io"],
        "tags": {
            "tenant_id": [c.tenant],
            "campaign_id": [c.id],
            "lead_id": [email["lead_id"]],
            "step": ["1"],
            "email_id": [email["id"]]
        }
    });
    let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";
    let mut batch = SqsEvent::default();
    batch.records = vec![
        ses_record(
            "replay-open",
            json!({"eventType": "Open", "mail": mail,
                    "open": {"timestamp": "2026-03-02T09:05:00.000Z", "userAgent": browser, "ipAddress": "198.51.100.7"}}),
        ),
        ses_record(
            "replay-click",
            json!({"eventType": "Click", "mail": mail,
                    "click": {"timestamp": "2026-03-02T09:06:00.000Z", "userAgent": browser,
                              "ipAddress": "198.51.100.7", "link": "https://acme.example/pricing"}}),
        ),
        ses_record(
            "replay-scanner",
            json!({"eventType": "Click", "mail": mail,
                    "click": {"timestamp": "2026-03-02T09:00:02.000Z", "userAgent": "Barracuda Sentinel",
                              "ipAddress": "203.0.113.9", "link": "https://acme.example/pricing"}}),
        ),
    ];
    let response = app.functions.ses_events.handle(batch.clone()).await;
    assert!(response.batch_item_failures.is_empty());
    let once = stats(&app, &c).await;
    assert_eq!(
        (
            once["opened"].as_u64(),
            once["clicked"].as_u64(),
            once["machine_clicks"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{once}"
    );
    assert_eq!(once["rates"]["open"], 1.0);
    let response = app.functions.ses_events.handle(batch).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(stats(&app, &c).await, once, "the replay changed nothing");
    let emails = app.get(&format!("/v1/campaigns/{}/emails", c.id), &c.key).await;
    let email = &emails.ok(200)["items"][0];
    assert_eq!(email["status"], "clicked");
    assert_eq!(
        (email["events"]["opens"].as_u64(), email["events"]["clicks"].as_u64()),
        (Some(1), Some(1))
    );
}

#[tokio::test]
async fn the_stats_of_a_10000_lead_campaign_take_at_most_three_reads() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Big").await;
    let key = tenant.admin_key;
    let campaign = app.create_campaign(&key, "Ten thousand").await;
    for chunk in 0..10 {
        let leads: Vec<Value> = (0..1000)
            .map(|i| json!({"email": format!("lead{}@big-{}.example", chunk * 1000 + i, chunk)}))
            .collect();
        let answer = app.add_leads(&key, &campaign, json!({ "leads": leads })).await;
        assert_eq!(answer.ok(200)["summary"]["created"], 1000);
    }

    // The same API, its DynamoDB client counting reads (the API key's lookup included).
    let counts = Arc::new(RequestCounts::default());
    let client = counting_client(&app.config, counts.clone());
    let mut state = app.functions.api.clone();
    state.store = Arc::new(cc_store::DynamoStore::new(client, app.store.table_name()));
    let router = api::router(state);
    for path in [
        format!("/v1/campaigns/{campaign}/stats"),
        format!("/v1/campaigns/{campaign}/stats/daily"),
        "/v1/stats/overview".to_string(),
    ] {
        let before = counts.snapshot();
        let request = axum::http::Request::get(&path)
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        let counted = counts.snapshot().since(&before).read_calls;
        assert!(counted <= 3, "{path}: {counted} reads");
        if path.ends_with("/stats") {
            assert_eq!(body["leads"], 10_000, "{body}");
        }
        if path.ends_with("overview") {
            assert_eq!(body["total_leads"], 10_000, "{body}");
        }
    }
}
