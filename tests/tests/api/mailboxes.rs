//! Mailboxes through the HTTP API, with the emulator's SES verifying addresses.
//! The emulator's SES is one account shared by every test, so each test uses
//! addresses of its own.

use integration_tests::{TestApp, fields};
use reqwest::Method;
use serde_json::{Value, json};

/// An address no other test (or earlier run) has asked SES about.
fn address(name: &str) -> String {
    format!("{name}-{}@mailbox-test.example.com", uuid::Uuid::new_v4().simple())
}

fn documented_shape(email: &str) -> Value {
    json!({
        "email": email,
        "display_name": "Ann from Acme",
        "daily_cap": 30,
        "min_gap_seconds": 300,
        "window": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"},
        "timezone": "Europe/Berlin"
    })
}

#[tokio::test]
async fn a_mailbox_is_created_pending_and_becomes_verified_through_ses() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let email = address("ann");
    let created = app.post("/v1/mailboxes", key, documented_shape(&email)).await;
    let body = created.ok(201).clone();
    assert_eq!(body["email"], email.as_str());
    assert_eq!(body["display_name"], "Ann from Acme");
    assert_eq!(
        (body["daily_cap"].clone(), body["min_gap_seconds"].clone()),
        (json!(30), json!(300))
    );
    assert_eq!(body["jitter_seconds"], 0);
    assert_eq!(
        body["window"],
        json!({"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"})
    );
    assert_eq!(body["timezone"], "Europe/Berlin");
    assert_eq!(body["status"], "pending_verification");
    assert_eq!(body["verified_at"], Value::Null);
    assert_eq!(body["version"], 1);
    assert!(body.get("tenant_id").is_none());
    let id = created.id();
    // The tenant's emails will name its SES configuration set (`cc-<stage>-<tenant>`): it exists now.
    let sets = aws_sdk_ses::Client::new(&app.config)
        .list_configuration_sets()
        .max_items(1000)
        .send()
        .await
        .unwrap();
    let wanted = format!("cc-dev-{}", tenant.id);
    assert!(sets.configuration_sets().iter().any(|s| s.name() == wanted), "{wanted}");

    // The emulator's SES verifies at once; the next read picks that up and keeps it.
    let read = app.get(&format!("/v1/mailboxes/{id}"), key).await;
    let read = read.ok(200);
    assert_eq!(read["status"], "verified");
    assert!(read["verified_at"].is_string());
    assert_eq!(read["version"], 2);
    let listed = app.get("/v1/mailboxes", key).await;
    let items = listed.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(
        (items[0]["status"].clone(), items[0]["version"].clone()),
        (json!("verified"), json!(2))
    );

    // A verified mailbox can be paused and resumed; verifying it again makes no sense.
    let paused = app.post(&format!("/v1/mailboxes/{id}/pause"), key, json!({})).await;
    assert_eq!(paused.ok(200)["status"], "paused");
    app.post(&format!("/v1/mailboxes/{id}/verify"), key, json!({}))
        .await
        .problem(409);
    let resumed = app.post(&format!("/v1/mailboxes/{id}/resume"), key, json!({})).await;
    assert_eq!(resumed.ok(200)["status"], "verified");
}

#[tokio::test]
async fn defaults_fill_in_and_a_listing_pages_through_every_mailbox() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let mut ids = Vec::new();
    for n in 0..3 {
        let created = app
            .post("/v1/mailboxes", key, json!({"email": address(&format!("m{n}"))}))
            .await;
        let body = created.ok(201);
        assert_eq!(
            (
                body["daily_cap"].clone(),
                body["min_gap_seconds"].clone(),
                body["timezone"].clone()
            ),
            (json!(50), json!(120), json!("UTC"))
        );
        assert_eq!(
            body["window"],
            json!({"days": ["mon", "tue", "wed", "thu", "fri"], "start": "09:00", "end": "17:00"})
        );
        assert_eq!(body["display_name"], Value::Null);
        ids.push(created.id());
    }
    let all = app.collect_all("/v1/mailboxes", key, 2).await;
    let listed: Vec<_> = all.iter().map(|m| m["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(listed, ids);
    assert!(all.iter().all(|m| m["status"] == "verified"), "{all:?}");
}

#[tokio::test]
async fn mailboxes_change_and_are_deleted() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let email = address("bob");
    let id = app.post("/v1/mailboxes", key, documented_shape(&email)).await.id();
    let path = format!("/v1/mailboxes/{id}");
    let changed = app
        .patch(
            &path,
            key,
            json!({"daily_cap": 80, "jitter_seconds": 45, "reply_to": "replies@acme.example.com",
                   "display_name": null, "timezone": "America/Los_Angeles",
                   "window": {"days": ["sat"], "start": "10:00", "end": "12:00"}}),
        )
        .await;
    let body = changed.ok(200);
    assert_eq!(
        (body["daily_cap"].clone(), body["jitter_seconds"].clone()),
        (json!(80), json!(45))
    );
    assert_eq!(body["reply_to"], "replies@acme.example.com");
    assert_eq!(body["display_name"], Value::Null);
    assert_eq!(body["timezone"], "America/Los_Angeles");
    assert_eq!(body["window"]["days"], json!(["sat"]));
    let read = app.get(&path, key).await;
    assert_eq!(read.ok(200)["daily_cap"], 80);

    let refused = app
        .patch(&path, key, json!({"email": address("other"), "daily_cap": 0}))
        .await;
    assert_eq!(fields(refused.problem(422)), ["/email"]);
    let refused = app.patch(&path, key, json!({"daily_cap": 0, "window": null})).await;
    assert_eq!(fields(refused.problem(422)), ["/daily_cap", "/window"]);
    assert_eq!(app.get(&path, key).await.ok(200)["daily_cap"], 80, "nothing changed");

    app.delete(&path, key).await.ok(204);
    app.get(&path, key).await.problem(404);
    app.delete(&path, key).await.problem(404);
    // The address is free again.
    app.post("/v1/mailboxes", key, documented_shape(&email)).await.ok(201);
}

#[tokio::test]
async fn bad_mailbox_input_names_every_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let answer = app
        .post(
            "/v1/mailboxes",
            key,
            json!({"email": "not-an-email", "daily_cap": 0, "timezone": "Mars/Olympus_Mons",
                   "window": {"days": ["mon", "mon"], "start": "17:00", "end": "09:00"}}),
        )
        .await;
    assert_eq!(
        fields(answer.problem(422)),
        ["/email", "/daily_cap", "/window/days", "/window/end", "/timezone"]
    );
    let answer = app
        .post(
            "/v1/mailboxes",
            key,
            json!({"email": address("x"), "daily_cap": 2001, "min_gap_seconds": 86401,
                   "window": {"days": ["funday"], "start": "09:00", "end": "17:00"}}),
        )
        .await;
    assert_eq!(
        fields(answer.problem(422)),
        ["/daily_cap", "/min_gap_seconds", "/window/days/0"]
    );
    let answer = app
        .post(
            "/v1/mailboxes",
            key,
            json!({"email": address("x"), "window": {"days": ["mon"], "start": "9am", "end": "17:00"}}),
        )
        .await;
    assert_eq!(fields(answer.problem(422)), ["/window/start"]);
    let answer = app
        .post(
            "/v1/mailboxes",
            key,
            json!({"email": address("x"), "daily_cap": "lots"}),
        )
        .await;
    assert_eq!(fields(answer.problem(422)), ["/daily_cap"]);
    let listed = app.get("/v1/mailboxes", key).await;
    assert!(listed.ok(200)["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_mailbox_address_is_unique_within_a_tenant() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let email = address("carol");
    let id = app.post("/v1/mailboxes", key, json!({"email": email})).await.id();
    let again = app
        .post("/v1/mailboxes", key, json!({"email": email.to_uppercase()}))
        .await;
    assert_eq!(again.problem(409)["existing_id"], id.as_str());
}

#[tokio::test]
async fn another_tenant_finds_nothing_and_viewers_only_read() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    let id = app
        .post("/v1/mailboxes", &a.admin_key, json!({"email": address("dave")}))
        .await
        .id();
    let path = format!("/v1/mailboxes/{id}");
    let before = app.get(&path, &a.admin_key).await.ok(200).clone();
    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, path.clone(), None),
        (Method::PATCH, path.clone(), Some(json!({"daily_cap": 1}))),
        (Method::DELETE, path.clone(), None),
        (Method::POST, format!("{path}/pause"), Some(json!({}))),
        (Method::POST, format!("{path}/resume"), Some(json!({}))),
        (Method::POST, format!("{path}/verify"), Some(json!({}))),
    ];
    for (method, path, body) in attempts {
        let answer = app.call(method.clone(), &path, Some(&b.admin_key), body).await;
        assert_eq!(answer.status, 404, "{method} {path}: {}", answer.body);
    }
    assert!(
        app.get("/v1/mailboxes", &b.admin_key).await.ok(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(app.get(&path, &a.admin_key).await.ok(200), &before);

    let viewer = app.create_key(&a, "viewer").await;
    app.post("/v1/mailboxes", &viewer, json!({"email": address("eve")}))
        .await
        .problem(403);
    app.patch(&path, &viewer, json!({"daily_cap": 1})).await.problem(403);
    app.post(&format!("{path}/pause"), &viewer, json!({}))
        .await
        .problem(403);
    app.delete(&path, &viewer).await.problem(403);
    app.get(&path, &viewer).await.ok(200);
    app.call(Method::GET, "/v1/mailboxes", None, None).await.problem(401);
    let manager = app.create_key(&a, "manager").await;
    app.post("/v1/mailboxes", &manager, json!({"email": address("frank")}))
        .await
        .ok(201);
}

#[tokio::test]
async fn a_sending_address_belongs_to_one_tenant_until_it_deletes_its_mailbox() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    let email = address("shared");
    let created = app.post("/v1/mailboxes", &a.admin_key, documented_shape(&email)).await;
    created.ok(201);
    let id = created.id();
    assert_eq!(
        app.get(&format!("/v1/mailboxes/{id}"), &a.admin_key).await.ok(200)["status"],
        "verified"
    );
    // SES now reports the address verified for the whole account: B must not get it.
    let refused = app
        .post("/v1/mailboxes", &b.admin_key, documented_shape(&email.to_uppercase()))
        .await;
    assert!(
        refused.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("another account")
    );
    let listed = app.get("/v1/mailboxes", &b.admin_key).await;
    assert_eq!(listed.ok(200)["items"], json!([]));

    app.delete(&format!("/v1/mailboxes/{id}"), &a.admin_key).await.ok(204);
    app.post("/v1/mailboxes", &b.admin_key, documented_shape(&email))
        .await
        .ok(201);
}
