//! Sequences and sending through the real functions on the local stack: the
//! api launches, the scheduler's tick queues due sends, the sender sends them
//! through the emulator's SES. The clock is fixed and moved by each test.
//! The emulator's SES is shared, so every test sends from its own address.

use chrono::{DateTime, Utc};
use integration_tests::{TestApp, fields, header};
use serde_json::{Value, json};
use std::collections::HashMap;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn time_of(value: &Value) -> DateTime<Utc> {
    at(value.as_str().unwrap_or_else(|| panic!("not a time: {value}")))
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
        assert_eq!(
            app.get(&format!("/v1/mailboxes/{id}"), key).await.ok(200)["status"],
            "verified"
        );
        ids.push(id);
        addresses.push(email);
    }
    (ids, addresses)
}

/// A campaign with `steps` (each `(template id, delay days, same thread)`) and its mailboxes.
async fn campaign(
    app: &TestApp,
    key: &str,
    mailboxes: &[String],
    steps: &[(String, u32, bool)],
    settings: Value,
) -> String {
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
    let first = template(
        app,
        &key,
        "Hello {{ first_name }}",
        "Hi {{ first_name }}, a short question.",
    )
    .await;
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
        .map(|l| {
            (
                l["email"].as_str().unwrap().to_string(),
                l["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Adds Ann and Bob to the campaign and launches it.
async fn launch_ann_and_bob(app: &TestApp, key: &str, campaign: &str) {
    let leads = json!({"leads": [{"email": "ann@prospect.io", "first_name": "Ann"}, {"email": "bob@prospect.io", "first_name": "Bob"}]});
    app.add_leads(key, campaign, leads).await.ok(200);
    app.post(&format!("/v1/campaigns/{campaign}/activate"), key, json!({}))
        .await
        .ok(200);
}

/// Monday 2 March 2026, before office hours in UTC.
const MONDAY_EARLY: &str = "2026-03-02T07:00:00Z";

#[tokio::test]
async fn a_multi_step_sequence_sends_step_two_in_the_same_thread_after_its_delay() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let s = setup(&app, 2).await;
    app.add_leads(
        &s.key,
        &s.campaign,
        json!({"leads": [{"email": "ann@prospect.io", "first_name": "Ann"}]}),
    )
    .await
    .ok(200);
    let launched = app
        .post(&format!("/v1/campaigns/{}/activate", s.campaign), &s.key, json!({}))
        .await;
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
    assert!(
        unsubscribe.starts_with(&format!("<{}/v1/u/", app.base_url)),
        "{unsubscribe}"
    );
    assert_eq!(
        header(first, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        first.contains("Acme GmbH, Torstr. 1, Berlin"),
        "the footer has the postal address"
    );

    let emails = lead_emails(&app, &s.key, &lead).await;
    assert_eq!(emails.len(), 2, "{emails:?}");
    assert_eq!(
        emails[0]["status"], "delivered",
        "sent, then delivered by the local SES simulator"
    );
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
    assert_eq!(emails[1]["status"], "delivered");
    // The campaign's listing shows both.
    let listed = app.get(&format!("/v1/campaigns/{}/emails", s.campaign), &s.key).await;
    assert_eq!(listed.ok(200)["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_send_job_delivered_three_times_or_after_a_crash_sends_once() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let s = setup(&app, 1).await;
    launch_ann_and_bob(&app, &s.key, &s.campaign).await;
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
    assert_eq!(
        emails[0]["status"], "sending",
        "its outcome waits for the SES Send event"
    );
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

#[tokio::test]
async fn missing_variables_block_the_launch_and_name_the_leads_until_a_fallback_unblocks_it() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let s = setup(&app, 1).await;
    app.add_leads(
        &s.key,
        &s.campaign,
        json!({"leads": [{"email": "ann@prospect.io", "first_name": "Ann"}, {"email": "nameless@prospect.io"}]}),
    )
    .await
    .ok(200);
    let leads = lead_ids(&app, &s.key, &s.campaign).await;
    let refused = app
        .post(&format!("/v1/campaigns/{}/activate", s.campaign), &s.key, json!({}))
        .await;
    let problem = refused.problem(422);
    assert_eq!(problem["type"], "/problems/missing-variables");
    let blocked = problem["blocked_leads"].as_array().unwrap();
    assert_eq!(blocked.len(), 1);
    assert_eq!(blocked[0]["lead_id"], leads["nameless@prospect.io"].as_str());
    assert_eq!(blocked[0]["email"], "nameless@prospect.io");
    assert_eq!(blocked[0]["missing"][0]["step"], 1);
    assert_eq!(blocked[0]["missing"][0]["variables"], json!(["first_name"]));
    assert_eq!(fields(problem), [format!("/leads/{}", leads["nameless@prospect.io"])]);
    // Nothing changed: still a draft, nothing planned.
    let campaign = app.get(&format!("/v1/campaigns/{}", s.campaign), &s.key).await;
    assert_eq!(campaign.ok(200)["status"], "draft");
    let emails = app.get(&format!("/v1/campaigns/{}/emails", s.campaign), &s.key).await;
    assert_eq!(emails.ok(200)["items"], json!([]));

    // A dry run answers the same report, with a preview for the lead asked for.
    let ann = &leads["ann@prospect.io"];
    let dry = app
        .post(
            &format!(
                "/v1/campaigns/{}/activate?dry_run=true&preview_lead_id={ann}",
                s.campaign
            ),
            &s.key,
            json!({}),
        )
        .await;
    let report = dry.ok(200);
    assert_eq!(report["ready"], false);
    assert_eq!(
        report["blocked_leads"][0]["lead_id"],
        leads["nameless@prospect.io"].as_str()
    );
    assert_eq!(report["preview"]["lead_id"], ann.as_str());
    assert_eq!(report["preview"]["steps"][0]["subject"], "Hello Ann");
    assert_eq!(
        app.get(&format!("/v1/campaigns/{}", s.campaign), &s.key).await.ok(200)["status"],
        "draft"
    );

    // A fallback in the template unblocks it.
    let template = app.get(&format!("/v1/campaigns/{}", s.campaign), &s.key).await.ok(200)["sequence"][0]["variants"]
        [0]["template_id"]
        .as_str()
        .unwrap()
        .to_string();
    app.patch(
        &format!("/v1/templates/{template}"),
        &s.key,
        json!({"subject": "Hello {{ first_name | default(\"there\") }}",
               "text": "Hi {{ first_name | default(\"there\") }}, a short question.",
               "html": "<p>Hi {{ first_name | default(\"there\") }}</p>"}),
    )
    .await
    .ok(200);
    let launched = app
        .post(&format!("/v1/campaigns/{}/activate", s.campaign), &s.key, json!({}))
        .await;
    assert_eq!(launched.ok(200)["launch"]["scheduled"], 2);
    app.run_at(at("2026-03-02T09:00:00Z")).await;
    let sent = app.sent_from(&s.sender_addresses[0]).await;
    let subjects: Vec<_> = sent.iter().map(|m| header(&m.raw, "Subject").unwrap()).collect();
    assert_eq!(sent.len(), 2);
    assert!(subjects.contains(&"Hello there".to_string()), "{subjects:?}");
    let emails = lead_emails(&app, &s.key, &leads["nameless@prospect.io"]).await;
    assert_eq!(
        emails[0]["template_version"], 2,
        "the email records the version it used"
    );
}

#[tokio::test]
async fn a_one_click_unsubscribe_stops_every_later_step_to_that_address_in_every_campaign() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let s = setup(&app, 2).await;
    // A second campaign of the same tenant, from the same mailbox, to the same address.
    let first = app.get(&format!("/v1/campaigns/{}", s.campaign), &s.key).await.ok(200)["sequence"].clone();
    let other = app
        .post(
            "/v1/campaigns",
            &s.key,
            json!({"name": "Other", "settings": {"mailbox_ids": s.mailboxes}}),
        )
        .await;
    other.ok(201);
    let other = other.id();
    app.put(
        &format!("/v1/campaigns/{other}/sequence"),
        &s.key,
        json!({ "steps": first }),
    )
    .await
    .ok(200);
    for campaign in [&s.campaign, &other] {
        launch_ann_and_bob(&app, &s.key, campaign).await;
    }
    app.run_at(at("2026-03-02T09:00:00Z")).await;
    app.run_at(at("2026-03-02T09:01:00Z")).await;
    let sent = app.sent_from(&s.sender_addresses[0]).await;
    assert_eq!(sent.len(), 4);
    let to_ann = sent.iter().find(|m| m.destinations[0] == "ann@prospect.io").unwrap();
    let link = header(&to_ann.raw, "List-Unsubscribe").unwrap();
    let url = link.trim_start_matches('<').trim_end_matches('>');
    // What a mail client does for RFC 8058 one-click.
    let answer = app
        .client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    // Step 2 falls due on Wednesday for all four; only Bob's two go.
    app.run_at(at("2026-03-04T09:00:00Z")).await;
    app.run_at(at("2026-03-04T09:01:00Z")).await;
    let sent = app.sent_from(&s.sender_addresses[0]).await;
    let to = |address: &str| sent.iter().filter(|m| m.destinations[0] == address).count();
    assert_eq!((to("ann@prospect.io"), to("bob@prospect.io")), (2, 4));
    for campaign in [&s.campaign, &other] {
        let leads = lead_ids(&app, &s.key, campaign).await;
        let emails = lead_emails(&app, &s.key, &leads["ann@prospect.io"]).await;
        assert_eq!(emails[1]["status"], "suppressed", "{emails:?}");
        let lead = app
            .get(&format!("/v1/leads/{}", leads["ann@prospect.io"]), &s.key)
            .await;
        assert_eq!(lead.ok(200)["status"], "unsubscribed");
    }
    // Nothing more to Ann, ever.
    app.run_at(at("2026-03-09T09:00:00Z")).await;
    let sent = app.sent_from(&s.sender_addresses[0]).await;
    assert_eq!(
        sent.iter().filter(|m| m.destinations[0] == "ann@prospect.io").count(),
        2
    );
}

#[tokio::test]
async fn leads_get_slots_inside_their_own_window_across_a_weekend_and_a_dst_change() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = tenant.admin_key;
    let template = template(&app, &key, "Hello {{ first_name }}", "Hi {{ first_name }}").await;
    let (mailboxes, addresses) = mailboxes(&app, &key, 1, 100, 0).await;
    let campaign = campaign(
        &app,
        &key,
        &mailboxes,
        &[(template, 0, false)],
        json!({"timezone": "UTC"}),
    )
    .await;
    let zones = [
        ("la@prospect.io", "America/Los_Angeles"),
        ("berlin@prospect.io", "Europe/Berlin"),
        ("tokyo@prospect.io", "Asia/Tokyo"),
    ];
    let mut leads: Vec<Value> = zones
        .iter()
        .map(|(email, tz)| json!({"email": email, "first_name": "Pat", "timezone": tz}))
        .collect();
    // A lead without a zone of its own is timed by its organisation's.
    let org = app
        .post(
            "/v1/organizations",
            &key,
            json!({"email_domain": "osaka-trading.example", "timezone": "Asia/Tokyo"}),
        )
        .await;
    assert_eq!(org.ok(201)["timezone"], "Asia/Tokyo");
    leads.push(json!({"email": "ken@osaka-trading.example", "first_name": "Ken", "organization_id": org.id()}));
    app.add_leads(&key, &campaign, json!({ "leads": leads })).await.ok(200);
    // Saturday 7 March 2026, noon UTC; the US moves to summer time on Sunday 8 March.
    app.clock.set(at("2026-03-07T12:00:00Z"));
    app.post(&format!("/v1/campaigns/{campaign}/activate"), &key, json!({}))
        .await
        .ok(200);
    let ids = lead_ids(&app, &key, &campaign).await;
    let expected = [
        // Monday 09:00 in each zone: PDT (UTC-7) after the change, CET (UTC+1), JST (UTC+9).
        ("la@prospect.io", at("2026-03-09T16:00:00Z")),
        ("berlin@prospect.io", at("2026-03-09T08:00:00Z")),
        ("tokyo@prospect.io", at("2026-03-09T00:00:00Z")),
        ("ken@osaka-trading.example", at("2026-03-09T00:00:00Z")),
    ];
    for (email, slot) in expected {
        let emails = lead_emails(&app, &key, &ids[email]).await;
        assert_eq!(time_of(&emails[0]["scheduled_at"]), slot, "{email}");
    }
    // Sent at those instants, not before: Tokyo first, then Berlin, then Los Angeles.
    for (minute, count) in [
        ("2026-03-08T23:59:00Z", 0),
        ("2026-03-09T00:00:00Z", 2),
        ("2026-03-09T08:00:00Z", 3),
        ("2026-03-09T15:00:00Z", 3),
        ("2026-03-09T16:00:00Z", 4),
    ] {
        app.run_at(at(minute)).await;
        assert_eq!(app.sent_from(&addresses[0]).await.len(), count, "at {minute}");
    }
    let sent = app.sent_from(&addresses[0]).await;
    let order: Vec<_> = sent.iter().map(|m| m.destinations[0].clone()).collect();
    assert_eq!(order[2..], ["berlin@prospect.io", "la@prospect.io"]);
    for message in &sent {
        let (_, slot) = expected
            .iter()
            .find(|(email, _)| *email == message.destinations[0])
            .unwrap();
        assert_eq!(message.sent_at, Some(*slot), "{}", message.destinations[0]);
    }
}

#[tokio::test]
async fn three_mailboxes_with_a_cap_of_30_never_send_more_than_30_a_day_and_keep_their_gap() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = tenant.admin_key;
    let template = template(&app, &key, "Hello {{ first_name }}", "Hi {{ first_name }}").await;
    let (mailboxes, addresses) = mailboxes(&app, &key, 3, 30, 120).await;
    let campaign = campaign(&app, &key, &mailboxes, &[(template, 0, false)], json!({})).await;
    let leads: Vec<Value> = (0..200)
        .map(|n| json!({"email": format!("lead{n}@prospect.io"), "first_name": "Pat"}))
        .collect();
    app.add_leads(&key, &campaign, json!({ "leads": leads })).await.ok(200);
    app.clock.set(at(MONDAY_EARLY));
    let launched = app
        .post(&format!("/v1/campaigns/{campaign}/activate"), &key, json!({}))
        .await;
    assert_eq!(launched.ok(200)["launch"]["scheduled"], 200);
    let emails = app
        .collect_all(&format!("/v1/campaigns/{campaign}/emails"), &key, 500)
        .await;
    assert_eq!(emails.len(), 200);
    let mut per_mailbox_day: HashMap<(String, chrono::NaiveDate), u32> = HashMap::new();
    let mut times: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
    for email in &emails {
        let mailbox = email["mailbox_id"].as_str().unwrap().to_string();
        let slot = time_of(&email["scheduled_at"]);
        *per_mailbox_day.entry((mailbox.clone(), slot.date_naive())).or_insert(0) += 1;
        times.entry(mailbox).or_default().push(slot);
    }
    assert!(per_mailbox_day.values().all(|n| *n <= 30), "{per_mailbox_day:?}");
    for slots in times.values_mut() {
        slots.sort();
        assert!(slots.windows(2).all(|w| w[1] - w[0] >= chrono::TimeDelta::seconds(120)));
    }
    // Monday's sends, as the ticks run through the day: 30 per mailbox, no more.
    let mut minute = at("2026-03-02T09:00:00Z");
    while minute < at("2026-03-02T17:00:00Z") {
        app.run_at(minute).await;
        minute += chrono::TimeDelta::minutes(30);
    }
    app.run_at(at("2026-03-02T17:00:00Z")).await;
    for address in &addresses {
        assert_eq!(app.sent_from(address).await.len(), 30, "{address}");
    }
}

#[tokio::test]
async fn pausing_stops_sends_at_once_and_resuming_replans_them() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let s = setup(&app, 1).await;
    launch_ann_and_bob(&app, &s.key, &s.campaign).await;
    app.clock.set(at("2026-03-02T08:00:00Z"));
    app.post(&format!("/v1/campaigns/{}/pause", s.campaign), &s.key, json!({}))
        .await
        .ok(200);
    app.run_at(at("2026-03-02T09:00:00Z")).await;
    app.run_at(at("2026-03-02T12:00:00Z")).await;
    assert!(app.sent_from(&s.sender_addresses[0]).await.is_empty());

    app.clock.set(at("2026-03-03T10:30:00Z"));
    let resumed = app
        .post(&format!("/v1/campaigns/{}/activate", s.campaign), &s.key, json!({}))
        .await;
    let body = resumed.ok(200);
    assert_eq!(body["status"], "active");
    assert_eq!(body["launch"]["scheduled"], 2, "both held emails are planned again");
    assert_eq!(time_of(&body["launch"]["first_send_at"]), at("2026-03-03T10:30:00Z"));
    app.run_at(at("2026-03-03T10:30:00Z")).await;
    let sent = app.sent_from(&s.sender_addresses[0]).await;
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|m| m.sent_at == Some(at("2026-03-03T10:30:00Z"))));
}

#[tokio::test]
async fn ses_events_reach_the_emails_through_sns_and_a_bounce_or_complaint_protects_the_address() {
    let app = TestApp::spawn().await;
    app.clock.set(at(MONDAY_EARLY));
    let s = setup(&app, 2).await;
    let simulator = [
        "success@simulator.amazonses.com",
        "bounce@simulator.amazonses.com",
        "complaint@simulator.amazonses.com",
    ];
    let leads: Vec<Value> = simulator
        .iter()
        .map(|e| json!({"email": e, "first_name": "Sim"}))
        .collect();
    app.add_leads(&s.key, &s.campaign, json!({ "leads": leads }))
        .await
        .ok(200);
    app.post(&format!("/v1/campaigns/{}/activate", s.campaign), &s.key, json!({}))
        .await
        .ok(200);
    // The sends, then SES's events (SNS → SQS → ses-events), in the same minute.
    app.run_at(at("2026-03-02T09:00:00Z")).await;
    let ids = lead_ids(&app, &s.key, &s.campaign).await;
    let first = |emails: &[Value]| emails[0].clone();
    let success = first(&lead_emails(&app, &s.key, &ids[simulator[0]]).await);
    assert_eq!(success["status"], "delivered", "{success}");
    assert!(success["events"]["delivered_at"].is_string());
    let bounced = lead_emails(&app, &s.key, &ids[simulator[1]]).await;
    assert_eq!(bounced[0]["status"], "bounced");
    assert_eq!(bounced[0]["events"]["bounce"]["kind"], "hard");
    assert_eq!(bounced[0]["events"]["bounce"]["status"], "5.1.1");
    assert_eq!(bounced[1]["status"], "suppressed", "its sequence stopped");
    let complained = lead_emails(&app, &s.key, &ids[simulator[2]]).await;
    assert_eq!(complained[0]["status"], "complained");
    for (address, lead_status) in [(simulator[1], "bounced"), (simulator[2], "unsubscribed")] {
        let lead = app.get(&format!("/v1/leads/{}", ids[address]), &s.key).await;
        assert_eq!(lead.ok(200)["status"], lead_status, "{address}");
    }
    let list = app.get("/v1/suppressions", &s.key).await;
    let entries: Vec<String> = list.ok(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}:{}", e["value"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    assert!(entries.contains(&format!("{}:bounced", simulator[1])), "{entries:?}");
    assert!(entries.contains(&format!("{}:complained", simulator[2])), "{entries:?}");
    // Step 2 on Wednesday goes to the delivered lead only.
    app.run_at(at("2026-03-04T09:00:00Z")).await;
    let sent = app.sent_from(&s.sender_addresses[0]).await;
    let to = |address: &str| sent.iter().filter(|m| m.destinations[0] == address).count();
    assert_eq!((to(simulator[0]), to(simulator[1]), to(simulator[2])), (2, 1, 1));
}
