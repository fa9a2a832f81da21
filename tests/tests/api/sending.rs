//! Sequences and sending through the real functions on the local stack: the
//! api launches, the scheduler's tick queues due sends, the sender sends them
//! through the emulator's SES. The clock is fixed and moved by each test.
//! The emulator's SES is shared, so every test sends from its own address.

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc, Weekday};
use integration_tests::{TestApp, fields};
use serde_json::{Value, json};
use std::collections::HashMap;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn time_of(value: &Value) -> DateTime<Utc> {
    at(value.as_str().unwrap_or_else(|| panic!("not a time: {value}")))
}

/// A header of a raw message, unfolded.
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let mut found: Option<String> = None;
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(value) = found.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if found.is_some() {
            break;
        }
        if let Some((key, value)) = line.split_once(':')
            && key.eq_ignore_ascii_case(name)
        {
            found = Some(value.trim().to_string());
        }
    }
    found
}

struct Sending {
    tenant: String,
    key: String,
    campaign: String,
    mailboxes: Vec<String>,
    sender_addresses: Vec<String>,
}

async fn template(app: &TestApp, key: &str, subject: &str, text: &str) -> String {
    let answer = app
        .post(
            "/v1/templates",
            key,
            json!({"name": subject, "category": "marketing", "subject": subject, "text": text,
                   "html": format!("<p>{text}</p>")}),
        )
        .await;
    answer.ok(201);
    answer.id()
}

/// Mailboxes that may send at any hour (the campaign window decides), verified by the emulator's SES.
async fn mailboxes(app: &TestApp, key: &str, count: usize, daily_cap: u32, min_gap: u32) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut addresses = Vec::new();
    for n in 0..count {
        let email = format!("sender{n}-{}@send-test.example.com", uuid::Uuid::new_v4().simple());
        let answer = app
            .post(
                "/v1/mailboxes",
                key,
                json!({"email": email, "display_name": "Sam from Acme", "daily_cap": daily_cap,
                       "min_gap_seconds": min_gap,
                       "window": {"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "23:59"},
                       "timezone": "UTC"}),
            )
            .await;
        answer.ok(201);
        let id = answer.id();
        assert_eq!(app.get(&format!("/v1/mailboxes/{id}"), key).await.ok(200)["status"], "verified");
        ids.push(id);
        addresses.push(email);
    }
    (ids, addresses)
}

/// A campaign with `steps` (each `(template id, delay days, same thread)`) and its mailboxes.
async fn campaign(app: &TestApp, key: &str, mailboxes: &[String], steps: &[(String, u32, bool)], settings: Value) -> String {
    let mut all = json!({"mailbox_ids": mailboxes, "postal_address": "Acme GmbH, Torstr. 1, Berlin"});
    for (k, v) in settings.as_object().unwrap() {
        all[k] = v.clone();
    }
    let answer = app
        .post("/v1/campaigns", key, json!({"name": "Outreach", "settings": all}))
        .await;
    answer.ok(201);
    let id = answer.id();
    let steps: Vec<Value> = steps
        .iter()
        .map(|(template, delay, thread)| {
            json!({"delay_days": delay, "business_days": false, "same_thread": thread,
                   "variants": [{"template_id": template, "weight": 1}]})
        })
        .collect();
    app.put(&format!("/v1/campaigns/{id}/sequence"), key, json!({ "steps": steps }))
        .await
        .ok(200);
    id
}

async fn setup(app: &TestApp, steps: usize) -> Sending {
    let tenant = app.create_tenant("Acme").await;
    let key = tenant.admin_key;
    let tenant = tenant.id;
    let first = template(app, &key, "Hello {{ first_name }}", "Hi {{ first_name }}, a short question.").await;
    let follow = template(app, &key, "ignored in a thread", "Just bumping this, {{ first_name }}.").await;
    let third = template(app, &key, "Last note", "Closing the loop, {{ first_name }}.").await;
    let sequence = [(first, 0, false), (follow, 2, true), (third, 3, false)];
    let (mailboxes, sender_addresses) = mailboxes(app, &key, 1, 100, 0).await;
    let campaign = campaign(app, &key, &mailboxes, &sequence[..steps], json!({})).await;
    Sending {
        tenant,
        key,
        campaign,
        mailboxes,
        sender_addresses,
    }
}

async fn lead_emails(app: &TestApp, key: &str, lead: &str) -> Vec<Value> {
    app.get(&format!("/v1/leads/{lead}/emails"), key).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn lead_ids(app: &TestApp, key: &str, campaign: &str) -> HashMap<String, String> {
    app.collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 500)
        .await
        .into_iter()
        .map(|l| (l["email"].as_str().unwrap().to_string(), l["id"].as_str().unwrap().to_string()))
        .collect()
}

/// Monday 2 March 2026, before office hours in UTC.
const MONDAY_EARLY: &str = "2026-03-02T07:00:00Z";

#[tokio::test]
async fn a_multi_step_sequence_sends_step_two_in_the_same_thread_after_its_delay() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let s = setup(&app, 2).await;
    app.add_leads(&s.key, &s.campaign, json!({"leads": [{"email": "ann@prospect.io", "first_name": "Ann"}]}))
        .await
        .ok(200);
    let launched = app.post(&format!("/v1/campaigns/{}/activate", s.campaign), &s.key, json!({})).await;
    let body = launched.ok(200);
    assert_eq!(body["status"], "active");
    assert_eq!(body["launch"]["scheduled"], 1);
    // The campaign window defaults to Mon–Fri 09:00–17:00 in the lead's zone (UTC here).
    assert_eq!(time_of(&body["launch"]["first_send_at"]), at("2026-03-02T09:00:00Z"));
    let lead = lead_ids(&app, &s.key, &s.campaign).await["ann@prospect.io"].clone();

    // Nothing goes before its slot.
    assert_eq!(app.run_at(at("2026-03-02T08:30:00Z")).await, 0);
    assert!(app.sent_from(&s.sender_addresses[0]).await.is_empty());
    app.run_at(at("2026-03-02T09:00:00Z")).await;
    let sent = app.sent_from(&s.sender_addresses[0]).await;
    assert_eq!(sent.len(), 1);
    let first = &sent[0].raw;
    assert_eq!(header(first, "Subject").as_deref(), Some("Hello Ann"));
    assert_eq!(sent[0].destinations, ["ann@prospect.io"]);
    let unsubscribe = header(first, "List-Unsubscribe").expect("List-Unsubscribe");
    assert!(unsubscribe.starts_with(&format!("<{}/v1/u/", app.base_url)), "{unsubscribe}");
    assert_eq!(
        header(first, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(first.contains("Acme GmbH, Torstr. 1, Berlin"), "the footer has the postal address");

    let emails = lead_emails(&app, &s.key, &lead).await;
    assert_eq!(emails.len(), 2, "{emails:?}");
    assert_eq!(emails[0]["status"], "sent");
    assert_eq!(emails[0]["step"], 1);
    assert_eq!(emails[0]["subject"], "Hello Ann");
    assert_eq!(emails[0]["template_version"], 1);
    assert_eq!(emails[0]["ses_message_id"], sent[0].id.as_str());
    assert_eq!(emails[0]["mailbox_id"], s.mailboxes[0].as_str());
    assert_eq!(emails[1]["status"], "scheduled");
    assert_eq!(time_of(&emails[1]["scheduled_at"]), at("2026-03-04T09:00:00Z"));
    let lead_status = app.get(&format!("/v1/leads/{lead}"), &s.key).await;
    assert_eq!(lead_status.ok(200)["status"], "contacted");

    // The delay holds: nothing on Tuesday.
    app.run_at(at("2026-03-03T09:00:00Z")).await;
    assert_eq!(app.sent_from(&s.sender_addresses[0]).await.len(), 1);
    app.run_at(at("2026-03-04T09:00:00Z")).await;
    let sent = app.sent_from(&s.sender_addresses[0]).await;
    assert_eq!(sent.len(), 2);
    let (first, second) = (&sent[0].raw, &sent[1].raw);
    let first_id = header(first, "Message-ID").unwrap();
    assert_eq!(header(second, "In-Reply-To"), Some(first_id.clone()));
    assert!(header(second, "References").unwrap().contains(&first_id));
    assert_eq!(header(second, "Subject").as_deref(), Some("Re: Hello Ann"));
    let emails = lead_emails(&app, &s.key, &lead).await;
    assert_eq!(emails[1]["status"], "sent");
    // The campaign's listing shows both.
    let listed = app.get(&format!("/v1/campaigns/{}/emails", s.campaign), &s.key).await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_send_job_delivered_three_times_or_after_a_crash_sends_once() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let s = setup(&app, 1).await;
    app.add_leads(
        &s.key,
        &s.campaign,
        json!({"leads": [{"email": "ann@prospect.io", "first_name": "Ann"}, {"email": "bob@prospect.io", "first_name": "Bob"}]}),
    )
    .await
    .ok(200);
    app.post(&format!("/v1/campaigns/{}/activate", s.campaign), &s.key, json!({}))
        .await
        .ok(200);
    let leads = lead_ids(&app, &s.key, &s.campaign).await;
    let job = |lead: &str| cc_domain::outbound::SendJob {
        tenant_id: s.tenant.parse().unwrap(),
        lead_id: lead.parse().unwrap(),
        email_id: cc_domain::ids::EmailId::for_step(lead.parse().unwrap(), 1),
    };
    app.clock.set(at("2026-03-02T09:00:00Z"));

    // The same job three times (SQS redelivers): one email.
    let ann = job(&leads["ann@prospect.io"]);
    for _ in 0..3 {
        app.functions.sender.send(&ann).await.unwrap();
    }
    let to_ann = |sent: &[devstack::dev_routes::OutboxItem]| {
        sent.iter().filter(|m| m.destinations == ["ann@prospect.io"]).count()
    };
    assert_eq!(to_ann(&app.sent_from(&s.sender_addresses[0]).await), 1);

    // A sender that dies after SES took the message and before it recorded it.
    let bob = job(&leads["bob@prospect.io"]);
    let mut crashing = app.functions.sender.clone();
    crashing.mailer = std::sync::Arc::new(DiesAfterSending(cc_store::SesMailer::new(&app.config)));
    let crashed = tokio::time::timeout(std::time::Duration::from_secs(5), crashing.send(&bob)).await;
    assert!(crashed.is_err(), "the crashing sender never returned");
    for _ in 0..2 {
        app.functions.sender.send(&bob).await.unwrap();
    }
    // And the scheduler's later ticks do not hand it out again.
    app.run_at(at("2026-03-02T09:30:00Z")).await;
    let sent = app.sent_from(&s.sender_addresses[0]).await;
    assert_eq!(sent.iter().filter(|m| m.destinations == ["bob@prospect.io"]).count(), 1);
    assert_eq!(to_ann(&sent), 1);
    let emails = lead_emails(&app, &s.key, &leads["bob@prospect.io"]).await;
    assert_eq!(emails[0]["status"], "sending", "its outcome waits for the SES Send event");
}

/// Sends through SES, then hangs as a function that was killed would.
struct DiesAfterSending(cc_store::SesMailer);

#[async_trait::async_trait]
impl cc_domain::ports::MailSender for DiesAfterSending {
    async fn send_raw(&self, message: cc_domain::ports::RawSend<'_>) -> Result<String, cc_domain::ports::SendError> {
        self.0.send_raw(message).await?;
        std::future::pending().await
    }
}
