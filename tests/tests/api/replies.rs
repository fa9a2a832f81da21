//! Inbound replies through the deployed path: a raw message posted to
//! `/dev/inbound` is stored in the inbound bucket and announced on the
//! inbound topic as SES would, and the inbound function takes it from its
//! queue: matched, classified, stored, acted on.

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use cc_domain::clock::Clock;
use chrono::{DateTime, Utc};
use integration_tests::{SendingCampaign, TestApp};
use serde_json::{Value, json};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A header of a raw message, unfolded; the test fails without it.
fn header(raw: &str, name: &str) -> String {
    integration_tests::header(raw, name).unwrap_or_else(|| panic!("no {name} header"))
}

/// Launches the campaign for the leads at `monday_nine` and sends step 1.
async fn launch(app: &TestApp, c: &SendingCampaign, leads: &[&str], first_send: &str) {
    let leads: Vec<Value> = leads.iter().map(|e| json!({"email": e, "first_name": "Ann"})).collect();
    app.add_leads(&c.key, &c.id, json!({ "leads": leads })).await.ok(200);
    app.post(&format!("/v1/campaigns/{}/activate", c.id), &c.key, json!({}))
        .await
        .ok(200);
    app.run_at(at(first_send)).await;
}

/// The raw message SES took for `to`, and the lead's emails.
async fn sent_to(app: &TestApp, c: &SendingCampaign, to: &str) -> String {
    app.sent_from(&c.sender)
        .await
        .into_iter()
        .find(|m| m.destinations[0] == to)
        .unwrap_or_else(|| panic!("nothing sent to {to}"))
        .raw
}

async fn lead(app: &TestApp, c: &SendingCampaign, email: &str) -> Value {
    app.collect_all(&format!("/v1/campaigns/{}/leads", c.id), &c.key, 100)
        .await
        .into_iter()
        .find(|l| l["email"] == email)
        .unwrap()
}

async fn lead_emails(app: &TestApp, c: &SendingCampaign, lead: &Value) -> Vec<Value> {
    app.get(&format!("/v1/leads/{}/emails", lead["id"].as_str().unwrap()), &c.key)
        .await
        .ok(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

async fn replies(app: &TestApp, c: &SendingCampaign, query: &str) -> Vec<Value> {
    app.get(&format!("/v1/replies{query}"), &c.key).await.ok(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

fn reply_mail(from: &str, to: &str, in_reply_to: Option<&str>, subject: &str, body: &str) -> String {
    let threading = in_reply_to
        .map(|id| format!("In-Reply-To: {id}\r\nReferences: {id}\r\n"))
        .unwrap_or_default();
    format!(
        "From: Ann Lee <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Mon, 2 Mar 2026 10:15:00 +0000\r\n\
         Message-ID: <{}@mail.prospect.io>\r\n{threading}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        uuid::Uuid::new_v4().simple()
    )
}

#[tokio::test]
async fn a_reply_to_its_reply_to_address_is_classified_stops_the_sequence_and_moves_the_kpis() {
    let app = TestApp::spawn().await;
    app.clock.set(at("2026-03-02T07:00:00Z"));
    let c = app.sending_campaign(json!({})).await;
    launch(
        &app,
        &c,
        &["ann@prospect.io", "bob@prospect.io"],
        "2026-03-02T09:00:00Z",
    )
    .await;
    let sent = sent_to(&app, &c, "ann@prospect.io").await;
    let reply_to = header(&sent, "Reply-To").trim_matches(['<', '>']).to_string();
    assert!(reply_to.ends_with("@reply.localhost"), "{reply_to}");
    let message_id = header(&sent, "Message-ID");

    app.clock.set(at("2026-03-02T10:16:00Z"));
    let raw = reply_mail(
        "ann@prospect.io",
        &reply_to,
        Some(&message_id),
        "Re: Hello",
        "Yes, I'm interested. Could we set up a call next week?\r\n\r\nOn Mon, 2 Mar 2026 at 09:00, Sam wrote:\r\n> Hi Ann, a short question.",
    );
    app.receive_mail(&raw).await.ok(202);

    let inbox = replies(&app, &c, "").await;
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let reply = &inbox[0];
    assert_eq!(reply["kind"], "human");
    assert!(
        ["interested", "meeting_request"].contains(&reply["classification"].as_str().unwrap()),
        "{reply}"
    );
    assert_eq!(reply["match"], "token");
    assert_eq!(reply["read"], false);
    assert!(
        reply["visible_text"]
            .as_str()
            .unwrap()
            .starts_with("Yes, I'm interested")
    );
    assert!(
        !reply["visible_text"].as_str().unwrap().contains("short question"),
        "quotes stripped"
    );
    let ann = lead(&app, &c, "ann@prospect.io").await;
    assert_eq!(ann["status"], "interested");
    let emails = lead_emails(&app, &c, &ann).await;
    assert_eq!(reply["matched_email_id"], emails[0]["id"]);
    assert_eq!(emails[1]["status"], "cancelled", "the reply stopped the sequence");

    let detail = app
        .get(&format!("/v1/replies/{}", reply["id"].as_str().unwrap()), &c.key)
        .await;
    let detail = detail.ok(200);
    assert!(detail["full_text"].as_str().unwrap().contains("short question"));
    assert_eq!(detail["email"]["id"], emails[0]["id"]);
    let thread: Vec<&str> = detail["thread"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(thread, ["email", "reply"]);

    let stats = app.get(&format!("/v1/campaigns/{}/stats", c.id), &c.key).await;
    let stats = stats.ok(200);
    assert_eq!(
        (stats["replied"].as_u64(), stats["positive_replies"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(stats["rates"]["reply"], 0.5);

    // The export shows the reply and its classification.
    let (status, _, csv) = app
        .get_text(&format!("/v1/campaigns/{}/export.csv", c.id), &c.key)
        .await;
    assert_eq!(status, 200);
    let ann_row = csv.lines().find(|l| l.contains("ann@prospect.io")).unwrap();
    assert!(
        ann_row.ends_with(&format!(",true,{}", reply["classification"].as_str().unwrap())),
        "{ann_row}"
    );

    // Wednesday's step 2 goes to Bob only.
    app.run_at(at("2026-03-04T09:00:00Z")).await;
    let to_ann = app
        .sent_from(&c.sender)
        .await
        .into_iter()
        .filter(|m| m.destinations[0] == "ann@prospect.io")
        .count();
    assert_eq!(to_ann, 1);

    // A correction is kept with its author and moves the KPIs and the lead.
    let corrected = app
        .patch(
            &format!("/v1/replies/{}", reply["id"].as_str().unwrap()),
            &c.key,
            json!({"classification": "not_interested", "read": true}),
        )
        .await;
    let corrected = corrected.ok(200);
    assert_eq!(corrected["classification"], "not_interested");
    assert_eq!(corrected["read"], true);
    assert_eq!(corrected["corrections"][0]["to"], "not_interested");
    assert!(corrected["corrections"][0]["by"].is_string());
    let stats = app.get(&format!("/v1/campaigns/{}/stats", c.id), &c.key).await;
    assert_eq!(stats.ok(200)["positive_replies"], 0);
    assert_eq!(lead(&app, &c, "ann@prospect.io").await["status"], "not_interested");
    assert!(replies(&app, &c, "?unread=true").await.is_empty());
    let bad = app
        .patch(
            &format!("/v1/replies/{}", reply["id"].as_str().unwrap()),
            &c.key,
            json!({"classification": "bounce"}),
        )
        .await;
    assert_eq!(integration_tests::fields(bad.problem(422)), ["/classification"]);

    // Another tenant sees none of it.
    let other = app.create_tenant("Other").await;
    let foreign = app
        .get(
            &format!("/v1/replies/{}", reply["id"].as_str().unwrap()),
            &other.admin_key,
        )
        .await;
    foreign.problem(404);
}

#[tokio::test]
async fn a_reply_without_token_or_references_matches_by_sender_and_a_redelivery_stores_one_reply() {
    let app = TestApp::spawn().await;
    app.clock.set(at("2026-03-02T07:00:00Z"));
    let c = app.sending_campaign(json!({})).await;
    launch(&app, &c, &["ann@prospect.io"], "2026-03-02T09:00:00Z").await;
    // Mail forwarded from the tenant's mailbox to its forwarding address; the
    // client dropped the threading headers.
    let forwarding = app.get("/v1/inbox/forwarding-address", &c.key).await;
    let forwarding = forwarding.ok(200)["address"].as_str().unwrap().to_string();
    assert!(
        forwarding.starts_with('t') && forwarding.ends_with("@reply.localhost"),
        "{forwarding}"
    );
    let raw = reply_mail(
        "Ann@Prospect.io",
        &forwarding,
        None,
        "Your note",
        "Thanks, but we are not interested at the moment.",
    );
    // The same notification three times: SQS redelivering it.
    let ses_id = app
        .functions
        .receiving
        .receive(raw.into_bytes(), app.clock.now())
        .await
        .unwrap();
    let bucket = app.functions.inbound.bucket.clone();
    let notification = json!({
        "notificationType": "Received",
        // As SES sends it again: the same notification, the same time.
        "mail": {"timestamp": app.clock.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "messageId": ses_id},
        "receipt": {"recipients": [forwarding], "action": {"type": "S3", "bucketName": bucket,
                    "objectKey": format!("inbound/{ses_id}")}}
    });
    let mut message = SqsMessage::default();
    message.message_id = Some("sqs-1".into());
    message.body = Some(json!({"Type": "Notification", "Message": notification.to_string()}).to_string());
    let mut event = SqsEvent::default();
    event.records = vec![message];
    for _ in 0..2 {
        let response = app.functions.inbound.handle(event.clone()).await;
        assert!(response.batch_item_failures.is_empty());
    }
    app.functions.drain_inbound().await.unwrap();

    let inbox = replies(&app, &c, "?kind=all").await;
    assert_eq!(inbox.len(), 1, "one reply for one message: {inbox:?}");
    assert_eq!(inbox[0]["match"], "sender");
    assert_eq!(inbox[0]["classification"], "not_interested");
    let ann = lead(&app, &c, "ann@prospect.io").await;
    assert_eq!(inbox[0]["lead_id"], ann["id"]);
    assert_eq!(ann["status"], "not_interested");
    let stats = app.get(&format!("/v1/campaigns/{}/stats", c.id), &c.key).await;
    let stats = stats.ok(200);
    assert_eq!(
        (stats["replied"].as_u64(), stats["positive_replies"].as_u64()),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn a_bounce_notice_is_a_bounce_and_an_out_of_office_pauses_the_lead_until_after_its_return() {
    let app = TestApp::spawn().await;
    // Friday 27 November 2026: step 1 today, step 2 two days later (Tuesday 1 December).
    app.clock.set(at("2026-11-27T07:00:00Z"));
    let c = app.sending_campaign(json!({})).await;
    launch(
        &app,
        &c,
        &["ann@prospect.io", "bob@prospect.io"],
        "2026-11-27T09:00:00Z",
    )
    .await;
    let to_ann = sent_to(&app, &c, "ann@prospect.io").await;
    let to_bob = sent_to(&app, &c, "bob@prospect.io").await;

    app.clock.set(at("2026-11-27T09:30:00Z"));
    let out_of_office = format!(
        "From: Ann Lee <ann@prospect.io>\r\nTo: {}\r\nSubject: Automatic reply: Hello\r\n\
         Date: Fri, 27 Nov 2026 09:30:00 +0000\r\nAuto-Submitted: auto-replied\r\n\
         Message-ID: <ooo-1@mail.prospect.io>\r\nIn-Reply-To: {}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Thank you for your message. I am out of the office and back on 2 December.\r\n",
        header(&to_ann, "Reply-To"),
        header(&to_ann, "Message-ID")
    );
    app.receive_mail(&out_of_office).await.ok(202);
    app.clock.set(at("2026-11-27T09:31:00Z"));
    let dsn = format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.prospect.io>\r\nTo: {}\r\n\
         Subject: Undelivered Mail Returned to Sender\r\nDate: Fri, 27 Nov 2026 09:31:00 +0000\r\n\
         Message-ID: <dsn-1@mx.prospect.io>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered to bob@prospect.io.\r\n\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.prospect.io\r\n\r\n\
         Final-Recipient: rfc822; bob@prospect.io\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n\
         --b1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {}\r\nSubject: Hello\r\n\r\n--b1--\r\n",
        header(&to_bob, "Reply-To"),
        header(&to_bob, "Message-ID")
    );
    app.receive_mail(&dsn).await.ok(202);

    // Neither is a reply.
    assert!(
        replies(&app, &c, "").await.is_empty(),
        "the inbox shows people's replies"
    );
    let all = replies(&app, &c, "?kind=all").await;
    let kinds: Vec<&str> = all.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["bounce", "auto_reply"], "newest first");
    let ooo = &all[1];
    assert_eq!(ooo["classification"], "out_of_office");
    assert_eq!(ooo["return_date"], "2026-12-02");
    assert_eq!(ooo["resume_on"], "2026-12-03");
    let bounce = &all[0];
    assert_eq!(bounce["bounce"]["type"], "hard");
    assert_eq!(bounce["bounce"]["status"], "5.1.1");
    let stats = app.get(&format!("/v1/campaigns/{}/stats", c.id), &c.key).await;
    let stats = stats.ok(200);
    assert_eq!(stats["replied"], 0, "{stats}");
    assert_eq!(stats["bounced_hard"], 1, "{stats}");

    // Ann's step 2 waits until the day after her return; Bob is bounced and suppressed.
    let ann = lead(&app, &c, "ann@prospect.io").await;
    assert_eq!(ann["status"], "contacted");
    let step_two = &lead_emails(&app, &c, &ann).await[1];
    assert_eq!(step_two["status"], "scheduled");
    assert!(
        step_two["scheduled_at"].as_str().unwrap().starts_with("2026-12-03"),
        "{step_two}"
    );
    let bob = lead(&app, &c, "bob@prospect.io").await;
    assert_eq!(bob["status"], "bounced");
    let bob_emails = lead_emails(&app, &c, &bob).await;
    assert_eq!(bob_emails[0]["status"], "bounced");
    let suppressions = app.get("/v1/suppressions", &c.key).await;
    assert!(suppressions.body.to_string().contains("bob@prospect.io"));

    // Nothing goes on Tuesday; Ann's step 2 goes on Thursday 3 December.
    app.run_at(at("2026-12-01T09:00:00Z")).await;
    app.run_at(at("2026-12-02T09:00:00Z")).await;
    assert_eq!(app.sent_from(&c.sender).await.len(), 2);
    app.run_at(at("2026-12-03T09:00:00Z")).await;
    let sent = app.sent_from(&c.sender).await;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2].destinations, ["ann@prospect.io"]);
}

#[tokio::test]
async fn dev_inbound_refuses_what_is_not_a_message() {
    let app = TestApp::spawn().await;
    let not_mail = app
        .client
        .post(format!("{}/dev/inbound", app.base_url))
        .header("content-type", "message/rfc822")
        .body("\u{0}\u{1}binary junk")
        .send()
        .await
        .unwrap();
    assert_eq!(not_mail.status(), 422);
    let wrong_type = app
        .client
        .post(format!("{}/dev/inbound", app.base_url))
        .header("content-type", "text/plain")
        .body("From: a@b.example\r\n\r\nhi")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
}

#[tokio::test]
async fn the_simulators_out_of_office_address_answers_with_an_auto_reply_that_is_no_reply() {
    let app = TestApp::spawn().await;
    app.clock.set(at("2026-03-02T07:00:00Z"));
    let c = app.sending_campaign(json!({})).await;
    launch(&app, &c, &["ooto@simulator.amazonses.com"], "2026-03-02T09:00:00Z").await;
    let auto = replies(&app, &c, "?kind=auto_reply").await;
    assert_eq!(auto.len(), 1, "{auto:?}");
    assert_eq!(auto[0]["classification"], "out_of_office");
    assert_eq!(auto[0]["match"], "token");
    assert_eq!(auto[0]["return_date"], "2026-03-07");
    assert_eq!(auto[0]["resume_on"], "2026-03-08");
    assert!(replies(&app, &c, "").await.is_empty());
    let stats = app.get(&format!("/v1/campaigns/{}/stats", c.id), &c.key).await;
    assert_eq!(stats.ok(200)["replied"], 0);
    let lead = lead(&app, &c, "ooto@simulator.amazonses.com").await;
    let step_two = &lead_emails(&app, &c, &lead).await[1];
    assert!(
        step_two["scheduled_at"].as_str().unwrap() >= "2026-03-08",
        "paused until after the return: {step_two}"
    );
}

#[tokio::test]
async fn a_reply_stops_the_organisations_other_leads_when_the_campaign_stops_for_company() {
    let app = TestApp::spawn().await;
    app.clock.set(at("2026-03-02T07:00:00Z"));
    let c = app.sending_campaign(json!({"stop_for_company": true})).await;
    launch(
        &app,
        &c,
        &["ann@acme-corp.io", "bob@acme-corp.io", "cy@other-corp.io"],
        "2026-03-02T09:00:00Z",
    )
    .await;
    let sent = sent_to(&app, &c, "ann@acme-corp.io").await;
    let raw = reply_mail(
        "ann@acme-corp.io",
        header(&sent, "Reply-To").trim_matches(['<', '>']),
        Some(&header(&sent, "Message-ID")),
        "Re: Hello",
        "Thanks, please send me more information about pricing.",
    );
    app.receive_mail(&raw).await.ok(202);
    assert_eq!(replies(&app, &c, "").await.len(), 1);
    // Wednesday: step 2 goes to the other company's lead only.
    app.run_at(at("2026-03-04T09:00:00Z")).await;
    let second_round: Vec<String> = app
        .sent_from(&c.sender)
        .await
        .into_iter()
        .skip(3)
        .map(|m| m.destinations[0].clone())
        .collect();
    assert_eq!(second_round, ["cy@other-corp.io"]);
}
