//! The devstack's `/dev` controls, served as `make dev` serves them: the
//! clock fast-forward runs the real scheduler and sender, and the outbox shows
//! what the emulator's SES accepted.

use cc_domain::clock::{Clock, OffsetClock};
use devstack::dev_routes::{DevControls, dev_routes};
use devstack::{LocalFunctions, Wiring};
use integration_tests::{emulator_config, project_template, unique_prefix};
use serde_json::{Value, json};
use std::sync::Arc;

#[tokio::test]
async fn advancing_the_clock_sends_a_sequence_on_time_and_the_outbox_lists_it_newest_first() {
    let config = emulator_config().await;
    let template = project_template();
    let stack = devstack::provision(&config, &template, &unique_prefix()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let clock = OffsetClock::new();
    let operator_key = cc_domain::api_key::OperatorKey::generate_secret();
    let wiring = Wiring {
        operator_key: operator_key.clone(),
        link_key: cc_domain::unsubscribe::LinkSigner::generate_key(),
        public_url: base.clone(),
        clock: Arc::new(clock.clone()),
    };
    let functions = LocalFunctions::wire(&config, &template, &stack, &wiring).unwrap();
    let dev = DevControls {
        functions: functions.clone(),
        clock: clock.clone(),
        emulator_endpoint: integration_tests::emulator_endpoint(),
        ticking: Default::default(),
        http: reqwest::Client::new(),
    };
    let router = api::router(functions.api.clone()).merge(dev_routes(dev));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, key: &str, body: Option<Value>| {
        let mut request = http.request(method, format!("{base}{path}")).bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    use reqwest::Method;
    let (_, tenant) = call(Method::POST, "/v1/tenants", &operator_key, Some(json!({"name": "Dev"}))).await;
    let key = tenant["admin_api_key"].as_str().unwrap().to_string();
    let sender = format!("dev-{}@send-test.example.com", uuid::Uuid::new_v4().simple());
    let (_, mailbox) = call(
        Method::POST,
        "/v1/mailboxes",
        &key,
        Some(json!({"email": sender, "daily_cap": 50, "min_gap_seconds": 0,
                    "window": {"days": ["mon","tue","wed","thu","fri","sat","sun"], "start": "00:00", "end": "23:59"},
                    "timezone": "UTC"})),
    )
    .await;
    let mailbox = mailbox["id"].as_str().unwrap().to_string();
    call(Method::GET, &format!("/v1/mailboxes/{mailbox}"), &key, None).await;
    let (_, first) = call(
        Method::POST,
        "/v1/templates",
        &key,
        Some(json!({"name": "a", "category": "marketing", "subject": "Hi {{ first_name }}", "text": "Hello"})),
    )
    .await;
    let (_, campaign) = call(
        Method::POST,
        "/v1/campaigns",
        &key,
        Some(json!({"name": "Dev", "settings": {"mailbox_ids": [mailbox]}})),
    )
    .await;
    let campaign = campaign["id"].as_str().unwrap().to_string();
    let steps = json!({"steps": [
        {"delay_days": 0, "variants": [{"template_id": first["id"]}]},
        {"delay_days": 1, "same_thread": true, "variants": [{"template_id": first["id"]}]}
    ]});
    assert_eq!(
        call(
            Method::PUT,
            &format!("/v1/campaigns/{campaign}/sequence"),
            &key,
            Some(steps)
        )
        .await
        .0,
        200
    );
    let leads = json!({"leads": [{"email": "a@prospect.io", "first_name": "A"}, {"email": "b@prospect.io", "first_name": "B"}]});
    call(
        Method::POST,
        &format!("/v1/campaigns/{campaign}/leads"),
        &key,
        Some(leads),
    )
    .await;
    let (status, launched) = call(Method::POST, &format!("/v1/campaigns/{campaign}/activate"), &key, None).await;
    assert_eq!(status, 200, "{launched}");

    let (status, problem) = call(Method::POST, "/dev/clock/advance", &key, Some(json!({"seconds": -1}))).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (422, Some("/seconds"))
    );
    let before = clock.now();
    let (status, advanced) = call(
        Method::POST,
        "/dev/clock/advance",
        &key,
        Some(json!({"seconds": 7 * 24 * 3600})),
    )
    .await;
    assert_eq!(status, 200, "{advanced}");
    assert!(clock.now() - before >= chrono::TimeDelta::days(7));

    let (status, outbox) = call(Method::GET, "/dev/outbox", &key, None).await;
    assert_eq!(status, 200);
    let mine: Vec<&Value> = outbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["source"] == sender.as_str())
        .collect();
    assert_eq!(mine.len(), 4, "two steps to two leads");
    for item in &mine {
        for field in ["id", "source", "destinations", "sent_at", "raw"] {
            assert!(!item[field].is_null(), "{field} in {item}");
        }
    }
    let times: Vec<&str> = mine.iter().map(|m| m["sent_at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");

    // Each went at its planned time, within the minute.
    let (_, emails) = call(Method::GET, &format!("/v1/campaigns/{campaign}/emails"), &key, None).await;
    for email in emails["items"].as_array().unwrap() {
        assert_eq!(
            email["status"], "delivered",
            "sent, and delivered by the local SES simulator: {email}"
        );
        let item = mine.iter().find(|m| m["id"] == email["ses_message_id"]).unwrap();
        let sent = chrono::DateTime::parse_from_rfc3339(item["sent_at"].as_str().unwrap()).unwrap();
        let planned = chrono::DateTime::parse_from_rfc3339(email["scheduled_at"].as_str().unwrap()).unwrap();
        assert!((sent - planned).num_seconds().abs() <= 60, "{sent} vs {planned}");
    }
}
