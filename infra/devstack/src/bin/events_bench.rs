//! End-to-end SES events benchmark through the local stack (issue 5, `make
//! bench`): DynamoDB write requests per event over a realistic mix, and
//! events/s through the ses-events function on the emulator.
//!
//! Setup (not timed): its own emulator, template.yaml provisioned, the real
//! functions wired (`devstack::LocalFunctions`); a tenant, a verified mailbox,
//! a template and a one-step campaign with EMAILS leads through the HTTP API;
//! the campaign launched and its emails sent by the real scheduler and sender
//! (to the emulator's SES, without the local SES simulator, so that this
//! bench alone decides which events each email gets). Then the mix is
//! published to the SES events topic (SNS → SQS, as SES publishes):
//!
//! - every email: `Send`; 97% `Delivery`, 2% a hard bounce (half of them in
//!   SES's older notification format, without tags: found through the
//!   `SESMSG#` pointer), 1% a soft bounce and then a delivery;
//! - of the delivered: 0.5% a complaint; 45% a person's open (a third of
//!   them a second open), 15% Apple's privacy proxy fetching the pixel
//!   (machine), 10% a person's click, 4% a link scanner's click seconds after
//!   delivery (machine);
//! - then 3% of the queued messages are redelivered (SQS at least once:
//!   the same body, SNS message id included, twice).
//!
//! Timed: SES_WORKERS (default 4) workers deliver the queue to the ses-events
//! handler, ten records per event as the event source mapping does, until it
//! is empty. Every DynamoDB request the functions send is counted by an SDK
//! interceptor. Last, the emulator's raw TransactWriteItems rate on the same
//! table: up to 20 transactions of the drain's mean size, 4 in flight.
//!
//! `cargo run --profile stack-bench -p devstack --bin events-bench [-- EMAILS]` (default 200: the
//! emulator takes seconds per transaction, so a run of 200 emails takes about 6 minutes)

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use cc_domain::clock::{Clock, ManualClock};
use cc_domain::operations::sending::Delays;
use chrono::{DateTime, TimeDelta, Utc};
use devstack::provision::LocalResource;
use devstack::request_counts::{Counts, RequestCounts, counting_client};
use devstack::ses_simulator::{BROWSER, READER_IP, mail_object};
use devstack::{Emulator, LocalFunctions, Template};
use futures::stream::{self, StreamExt};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

async fn call(client: &reqwest::Client, method: reqwest::Method, url: String, key: &str, body: Value) -> Value {
    let response = client
        .request(method, url)
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .expect("the API answers");
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON answer");
    assert!(status.is_success(), "{status}: {body}");
    body
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A sent email, as the API lists it.
struct Sent {
    ses_message_id: String,
    to: String,
    sent_at: DateTime<Utc>,
    tags: Vec<(&'static str, String)>,
}

/// Which events an email gets; `n` spreads the shares evenly over the emails.
fn events_for(sent: &Sent, n: usize, from: &str, set: &str) -> Vec<Value> {
    let mail = mail_object(
        &sent.ses_message_id,
        from,
        &sent.to,
        &sent.tags,
        Some(set),
        sent.sent_at,
    );
    let at = |seconds: i64| stamp(sent.sent_at + TimeDelta::seconds(seconds));
    let event = |kind: &str, key: &str, detail: Value| {
        let mut event = json!({"eventType": kind, "mail": mail});
        event[key] = detail;
        event
    };
    let delivery = || {
        event(
            "Delivery",
            "delivery",
            json!({"timestamp": at(2), "processingTimeMillis": 1500, "recipients": [sent.to],
                   "smtpResponse": "250 2.6.0 Message received", "reportingMTA": "a8-70.smtp-out.amazonses.com"}),
        )
    };
    let mut events = vec![event("Send", "send", json!({}))];
    let per_thousand = n % 1000;
    let per_hundred = n % 100;
    if per_hundred < 2 {
        let bounce = json!({"bounceType": "Permanent", "bounceSubType": "General", "timestamp": at(3),
            "feedbackId": format!("{}-bounce", sent.ses_message_id),
            "bouncedRecipients": [{"emailAddress": sent.to, "action": "failed", "status": "5.1.1",
                                   "diagnosticCode": "smtp; 550 5.1.1 user unknown"}]});
        if per_hundred == 0 {
            events.push(event("Bounce", "bounce", bounce));
        } else {
            // SES's older notification format (identity notifications): no tags.
            let mut mail = mail.clone();
            if let Some(m) = mail.as_object_mut() {
                m.remove("tags");
            }
            events.push(json!({"notificationType": "Bounce", "bounce": bounce, "mail": mail}));
        }
        return events;
    }
    if per_hundred == 2 {
        events.push(event(
            "Bounce",
            "bounce",
            json!({"bounceType": "Transient", "bounceSubType": "MailboxFull", "timestamp": at(2),
                   "bouncedRecipients": [{"emailAddress": sent.to, "status": "4.2.2"}]}),
        ));
    }
    events.push(delivery());
    if per_thousand % 200 == 7 {
        events.push(event(
            "Complaint",
            "complaint",
            json!({"timestamp": at(3600), "complaintFeedbackType": "abuse", "userAgent": "Yahoo!-Mail-Feedback/2.0",
                   "complainedRecipients": [{"emailAddress": sent.to}]}),
        ));
    }
    let human_open = |seconds: i64| {
        event(
            "Open",
            "open",
            json!({"timestamp": at(seconds), "userAgent": BROWSER, "ipAddress": READER_IP}),
        )
    };
    let link = "https://acme.example/demo?utm_source=mail";
    match per_hundred {
        10..55 => {
            events.push(human_open(600));
            if per_hundred < 25 {
                events.push(human_open(7200));
            }
            // A tenth of the mail: a person's click after the open.
            if per_hundred < 20 {
                events.push(event(
                    "Click",
                    "click",
                    json!({"timestamp": at(660), "userAgent": BROWSER, "ipAddress": READER_IP, "link": link, "linkTags": {}}),
                ));
            }
        }
        55..70 => events.push(event(
            "Open",
            "open",
            json!({"timestamp": at(300), "userAgent": "Mozilla/5.0", "ipAddress": "17.58.63.1"}),
        )),
        _ => {}
    }
    if (70..74).contains(&per_hundred) {
        events.push(event(
            "Click",
            "click",
            json!({"timestamp": at(4), "userAgent": "Mozilla/5.0 (compatible; Barracuda Link Protection)",
                   "ipAddress": "198.51.100.99", "link": link, "linkTags": {}}),
        ));
    }
    events
}

/// The emulator's raw TransactWriteItems rate on `table`: `transactions` of
/// `items` puts each (items of `item_bytes`), 4 in flight.
async fn raw_transaction_rate(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    transactions: usize,
    items: usize,
    item_bytes: usize,
) -> f64 {
    let payload = "x".repeat(item_bytes.saturating_sub(100));
    let started = Instant::now();
    stream::iter(0..transactions)
        .map(|t| {
            let payload = payload.clone();
            async move {
                let actions: Vec<TransactWriteItem> = (0..items)
                    .map(|i| {
                        let item = HashMap::from([
                            ("PK".to_string(), AttributeValue::S(format!("RAW#{t}"))),
                            ("SK".to_string(), AttributeValue::S(format!("#RAW#{i}"))),
                            ("payload".to_string(), AttributeValue::S(payload.clone())),
                        ]);
                        let put = Put::builder().table_name(table).set_item(Some(item)).build().unwrap();
                        TransactWriteItem::builder().put(put).build()
                    })
                    .collect();
                client
                    .transact_write_items()
                    .set_transact_items(Some(actions))
                    .send()
                    .await
                    .expect("TransactWriteItems works");
            }
        })
        .buffer_unordered(4)
        .collect::<Vec<_>>()
        .await;
    transactions as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    cc_runtime::init_dev_tracing();
    let emails: usize = std::env::args().nth(1).map(|n| n.parse()).transpose()?.unwrap_or(200);
    let workers: usize = std::env::var("SES_WORKERS")
        .ok()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(4);
    let root = devstack::project_root();
    let log = std::env::temp_dir().join("cc-events-bench-emulator.log");
    let emulator = Emulator::start(&root, 0, Some(&log), None)?;
    let config = devstack::sdk_config(emulator.endpoint()).await;
    let template = Template::load(&root.join("template.yaml"))?;
    let stack = devstack::provision(&config, &template, "evbench-").await?;
    let counters = Arc::new(RequestCounts::default());
    let dynamodb = counting_client(&config, counters.clone());
    let start: DateTime<Utc> = "2026-03-02T07:00:00Z".parse()?;
    let clock = ManualClock::at(start);
    let wiring = devstack::Wiring {
        operator_key: cc_domain::api_key::OperatorKey::generate_secret(),
        link_key: cc_domain::unsubscribe::LinkSigner::generate_key(),
        public_url: "http://127.0.0.1:3000".into(),
        clock: Arc::new(clock.clone()),
    };
    let functions = LocalFunctions::wire_with(&config, dynamodb.clone(), &template, &stack, &wiring)?;
    let table = stack.table("MainTable").ok_or("no MainTable")?.to_string();
    let Some(LocalResource::Topic { arn: topic, .. }) = stack.resources.get("SesEventsTopic").cloned() else {
        return Err("no SesEventsTopic".into());
    };
    println!(
        "events-bench: {emails} emails, {workers} ses-events workers, emulator {}",
        emulator.endpoint()
    );

    // A tenant, a mailbox that may send at any hour, a template with a link, a one-step campaign.
    let router = api::router(functions.api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::Client::new();
    let post = |path: &str, key: &str, body: Value| {
        let (http, url, key) = (http.clone(), format!("{base}{path}"), key.to_string());
        async move { call(&http, reqwest::Method::POST, url, &key, body).await }
    };
    let tenant = post("/v1/tenants", &wiring.operator_key, json!({"name": "Events bench"})).await;
    let tenant_id = tenant["id"].as_str().ok_or("no tenant id")?.to_string();
    let key = tenant["admin_api_key"].as_str().ok_or("no admin key")?.to_string();
    let from = "sam@events-bench.example.com";
    let mailbox = post(
        "/v1/mailboxes",
        &key,
        json!({"email": from, "daily_cap": 2000, "min_gap_seconds": 0, "timezone": "UTC",
               "window": {"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "23:59"}}),
    )
    .await;
    let mailbox = mailbox["id"].as_str().ok_or("no mailbox id")?.to_string();
    // Reading it asks SES again: the emulator has verified it by now.
    let read = call(
        &http,
        reqwest::Method::GET,
        format!("{base}/v1/mailboxes/{mailbox}"),
        &key,
        Value::Null,
    )
    .await;
    assert_eq!(read["status"], "verified", "{read}");
    let template_id = post(
        "/v1/templates",
        &key,
        json!({"name": "Intro", "subject": "Hello {{ first_name }}", "text": "Hi {{ first_name }}",
               "html": "<p>Hi {{ first_name }}, see <a href=\"https://acme.example/demo?utm_source=mail\">our demo</a>.</p>"}),
    )
    .await["id"]
        .as_str()
        .ok_or("no template id")?
        .to_string();
    let campaign = post(
        "/v1/campaigns",
        &key,
        json!({"name": "Events bench", "settings": {"mailbox_ids": [mailbox], "track_opens": true, "track_clicks": true}}),
    )
    .await["id"]
        .as_str()
        .ok_or("no campaign id")?
        .to_string();
    call(
        &http,
        reqwest::Method::PUT,
        format!("{base}/v1/campaigns/{campaign}/sequence"),
        &key,
        json!({"steps": [{"variants": [{"template_id": template_id}]}]}),
    )
    .await;
    for chunk in (0..emails).collect::<Vec<_>>().chunks(1000) {
        let leads: Vec<Value> = chunk
            .iter()
            .map(|n| json!({"email": format!("lead{n}@prospect{}.example.com", n % 97), "first_name": "Pat"}))
            .collect();
        post(
            &format!("/v1/campaigns/{campaign}/leads"),
            &key,
            json!({ "leads": leads }),
        )
        .await;
    }
    post(&format!("/v1/campaigns/{campaign}/activate"), &key, json!({})).await;

    // Sent by the real scheduler and sender, minute by minute, to the emulator's SES.
    let setup = Instant::now();
    let mut scheduler = functions.scheduler.clone();
    scheduler.delays = Delays::None;
    let mut sender = functions.sender.clone();
    sender.mailer = Arc::new(cc_store::SesMailer::new(&config));
    clock.set("2026-03-02T09:00:00Z".parse()?);
    let mut sent_count = 0;
    for _ in 0..240 {
        scheduler.tick(clock.now()).await?;
        let sends = stream::iter(0..workers)
            .map(|_| {
                let (sqs, sender, trigger) = (functions.sqs.clone(), sender.clone(), functions.send_trigger.clone());
                async move {
                    let mut handled = 0;
                    loop {
                        let sender = sender.clone();
                        let delivery = devstack::sqs_driver::deliver_once(&sqs, &trigger, 0, 0, |event| async move {
                            sender.handle(event).await
                        })
                        .await
                        .expect("SQS works");
                        if delivery.received == 0 {
                            return handled;
                        }
                        handled += delivery.received;
                    }
                }
            })
            .buffer_unordered(workers)
            .collect::<Vec<usize>>()
            .await;
        sent_count += sends.iter().sum::<usize>();
        if sent_count >= emails {
            break;
        }
        clock.advance(TimeDelta::minutes(1));
    }
    let mut sent = Vec::with_capacity(emails);
    let mut cursor: Option<String> = None;
    loop {
        let page = call(
            &http,
            reqwest::Method::GET,
            reqwest::Url::parse_with_params(
                &format!("{base}/v1/campaigns/{campaign}/emails"),
                std::iter::once(("limit", "500".to_string())).chain(cursor.clone().map(|c| ("cursor", c))),
            )?
            .to_string(),
            &key,
            Value::Null,
        )
        .await;
        for email in page["items"].as_array().ok_or("no items")? {
            let (Some(ses_message_id), Some(sent_at)) = (email["ses_message_id"].as_str(), email["sent_at"].as_str())
            else {
                continue;
            };
            let text = |name: &str| email[name].as_str().unwrap_or_default().to_string();
            sent.push(Sent {
                ses_message_id: ses_message_id.to_string(),
                to: text("to"),
                sent_at: sent_at.parse()?,
                tags: vec![
                    ("tenant_id", tenant_id.clone()),
                    ("campaign_id", campaign.clone()),
                    ("lead_id", text("lead_id")),
                    ("step", email["step"].to_string()),
                    ("email_id", text("id")),
                ],
            });
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    println!(
        "sent {} of {emails} emails through the sender in {:.1} s (setup, not timed)",
        sent.len(),
        setup.elapsed().as_secs_f64()
    );

    // The mix, published to the topic (10 per PublishBatch), then 3% redelivered by SQS.
    let set = format!(
        "{}{tenant_id}",
        sender.configuration_set_prefix.clone().unwrap_or_default()
    );
    let published: Vec<Value> = sent
        .iter()
        .enumerate()
        .flat_map(|(n, s)| events_for(s, n, from, &set))
        .collect();
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for event in &published {
        let kind = event["eventType"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} (older format)", event["notificationType"].as_str().unwrap_or("?")));
        *kinds.entry(kind).or_default() += 1;
    }
    let sns = aws_sdk_sns::Client::new(&config);
    for (c, chunk) in published.chunks(10).enumerate() {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, event)| {
                aws_sdk_sns::types::PublishBatchRequestEntry::builder()
                    .id(format!("e{c}-{i}"))
                    .message(event.to_string())
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()?;
        sns.publish_batch()
            .topic_arn(&topic)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await?;
    }
    let queue = functions.ses_events_trigger.url.clone();
    let redeliver = published.len() * 3 / 100;
    let mut redelivered = 0;
    while redelivered < redeliver {
        let out = functions
            .sqs
            .receive_message()
            .queue_url(&queue)
            .max_number_of_messages(((redeliver - redelivered) as i32).min(10))
            .send()
            .await?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        for message in messages {
            functions
                .sqs
                .send_message()
                .queue_url(&queue)
                .message_body(message.body().unwrap_or_default())
                .send()
                .await?;
            functions
                .sqs
                .change_message_visibility()
                .queue_url(&queue)
                .receipt_handle(message.receipt_handle().unwrap_or_default())
                .visibility_timeout(0)
                .send()
                .await?;
            redelivered += 1;
        }
    }
    let queued = published.len() + redelivered;
    println!(
        "published {} events {kinds:?}; {redelivered} redelivered: {queued} SQS messages",
        published.len()
    );

    // Timed: the queue drained through the ses-events handler by several workers.
    let before = counters.snapshot();
    let started = Instant::now();
    let handled: Vec<(usize, usize)> = stream::iter(0..workers)
        .map(|_| {
            let functions = functions.clone();
            async move {
                let (mut received, mut failed, mut idle) = (0, 0, 0);
                // A few empty receives in a row: the queue is drained (SQS samples its hosts).
                while idle < 3 {
                    let delivery = functions.deliver_to_ses_events(0, 0).await.expect("SQS works");
                    if delivery.received == 0 {
                        idle += 1;
                    } else {
                        idle = 0;
                        received += delivery.received;
                        failed += delivery.failed;
                    }
                }
                (received, failed)
            }
        })
        .buffer_unordered(workers)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let Counts {
        write_calls,
        written_items: items,
        transactions,
        transaction_items,
        read_calls,
        queries,
        ..
    } = counters.snapshot().since(&before);
    let received: usize = handled.iter().map(|h| h.0).sum();
    let failed: usize = handled.iter().map(|h| h.1).sum();

    // What landed, from the counters (the API's stats).
    let stats = call(
        &http,
        reqwest::Method::GET,
        format!("{base}/v1/campaigns/{campaign}/stats"),
        &key,
        Value::Null,
    )
    .await;
    let counts: Vec<String> = [
        "sent",
        "delivered",
        "opened",
        "clicked",
        "machine_opens",
        "machine_clicks",
        "bounced_hard",
        "bounced_soft",
        "complained",
    ]
    .iter()
    .map(|name| format!("{name} {}", stats[*name]))
    .collect();
    let mean_items = transaction_items as f64 / transactions.max(1) as f64;
    // Capped: on the emulator a transaction of ~20 puts takes seconds.
    let raw_transactions = (transactions as usize).clamp(1, 20);
    let raw = raw_transaction_rate(&dynamodb, &table, raw_transactions, mean_items.round() as usize, 1200).await;
    let per_event = |n: u64| n as f64 / received.max(1) as f64;
    println!("campaign stats: {}", counts.join(", "));
    println!(
        "events/s end to end         : {:.0} ({received} SQS messages in {elapsed:.1} s, {failed} reported failed and retried)",
        received as f64 / elapsed
    );
    println!(
        "DynamoDB write requests/event: {:.3} ({write_calls} requests: {transactions} TransactWriteItems of {mean_items:.1} items on average, {} single writes)",
        per_event(write_calls),
        write_calls - transactions
    );
    println!("items written per event     : {:.3} ({items} items)", per_event(items));
    println!(
        "DynamoDB read requests/event : {:.3} ({read_calls} requests, {queries} of them Query)",
        per_event(read_calls)
    );
    println!(
        "raw TransactWriteItems/s     : {raw:.2} ({raw_transactions} transactions of {} puts, 4 in flight); the drain's {:.2}/s is {:.2} of it",
        mean_items.round(),
        transactions as f64 / elapsed,
        transactions as f64 / elapsed / raw
    );
    drop(emulator);
    Ok(())
}
