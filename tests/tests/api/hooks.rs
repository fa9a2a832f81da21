use integration_tests::{TestApp, TestTenant};
use serde_json::{Value, json};

async fn webhook_source(app: &TestApp, tenant: &TestTenant, campaign: &str, mapping: Value) -> (String, String) {
    let created = app
        .post(
            "/v1/lead-sources",
            &tenant.admin_key,
            json!({"type": "webhook", "campaign_id": campaign, "name": "Typeform", "mapping": mapping}),
        )
        .await;
    let body = created.ok(201).clone();
    (created.id(), body["secret"].as_str().unwrap().to_string())
}

async fn signed_post(
    app: &TestApp,
    source: &str,
    secret: &str,
    body: &str,
    signed_at: i64,
) -> integration_tests::Answer {
    let signature = format!(
        "t={signed_at},v1={}",
        cc_domain::lead_source::sign(secret, signed_at, body.as_bytes())
    );
    let response = app
        .client
        .post(format!("{}/v1/hooks/leads/{source}", app.base_url))
        .header("content-type", "application/json")
        .header("x-signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    TestApp::answer(response).await
}

/// The stack's time in Unix seconds: signatures are checked against the
/// app's clock, which stands still in tests (the wall clock moves on, and a
/// slow run would bring a "stale" timestamp back inside the window).
fn now(app: &TestApp) -> i64 {
    use cc_domain::clock::Clock;
    app.clock.now().timestamp()
}

#[tokio::test]
async fn a_signed_webhook_call_becomes_leads() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Inbound").await;
    let (source, secret) = webhook_source(&app, &tenant, &campaign, json!({"your_email": "email"})).await;
    assert!(secret.starts_with("whsec_"));
    let listed = app.get("/v1/lead-sources", key).await;
    assert!(
        !listed.ok(200).to_string().contains(&secret),
        "the secret is shown once"
    );

    let body =
        r#"[{"your_email": "ann@acme.com", "First Name": "Ann", "plan": "pro"}, {"your_email": "bob@acme.com"}]"#;
    let answer = signed_post(&app, &source, &secret, body, now(&app)).await;
    let import = answer.id();
    assert_eq!(answer.ok(202)["status"], "queued");
    app.deliver_lead_batches().await;
    let job = app.get(&format!("/v1/imports/{import}"), key).await;
    assert_eq!(job.ok(200)["created"], 2);
    assert_eq!(job.body["source"], "webhook");
    let ann = app.get("/v1/leads?email=ann@acme.com", key).await;
    let ann = &ann.ok(200)["items"][0];
    assert_eq!(ann["first_name"], "Ann");
    assert_eq!(ann["custom_fields"]["plan"], "pro");
    assert_eq!(ann["source"], "webhook");
    assert_eq!(ann["campaign_id"], campaign.as_str());
}

#[tokio::test]
async fn a_bad_or_stale_signature_is_401_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Inbound").await;
    let (source, secret) = webhook_source(&app, &tenant, &campaign, json!({})).await;
    let body = r#"{"email": "ann@acme.com"}"#;
    signed_post(&app, &source, "whsec_wrong", body, now(&app))
        .await
        .problem(401);
    signed_post(&app, &source, &secret, body, now(&app) - 301)
        .await
        .problem(401);
    signed_post(&app, &source, &secret, body, now(&app) + 301)
        .await
        .problem(401);
    let unsigned = app
        .client
        .post(format!("{}/v1/hooks/leads/{source}", app.base_url))
        .body(body)
        .send()
        .await
        .unwrap();
    TestApp::answer(unsigned).await.problem(401);
    // Signed for another source's secret, or for an unknown source: the same 401.
    signed_post(&app, "01a20000-0000-7000-8000-000000000000", &secret, body, now(&app))
        .await
        .problem(401);
    assert_eq!(app.deliver_lead_batches().await, 0, "nothing was queued");
    assert!(
        app.get(&format!("/v1/campaigns/{campaign}/leads"), key).await.ok(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn api_keys_forms_and_the_default_hook_work_too() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Inbound").await;
    // No webhook source yet: the alias says what to do.
    app.post("/api/hooks", key, json!({"email": "x@acme.com"}))
        .await
        .problem(409);
    let (source, _) = webhook_source(&app, &tenant, &campaign, json!({})).await;

    let with_key = app
        .post(
            &format!("/v1/hooks/leads/{source}"),
            key,
            json!({"email": "ann@acme.com"}),
        )
        .await;
    with_key.ok(202);
    let form = app
        .client
        .post(format!("{}/v1/hooks/leads/{source}", app.base_url))
        .header("X-Api-Key", key)
        .form(&[("email", "bob@acme.com"), ("full_name", "Bob Stone")])
        .send()
        .await
        .unwrap();
    TestApp::answer(form).await.ok(202);
    app.post("/api/hooks", key, json!({"leads": [{"email": "cat@acme.com"}]}))
        .await
        .ok(202);
    app.deliver_lead_batches().await;
    let leads = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 100)
        .await;
    let mut emails: Vec<_> = leads.iter().map(|l| l["email"].as_str().unwrap().to_string()).collect();
    emails.sort();
    assert_eq!(emails, ["ann@acme.com", "bob@acme.com", "cat@acme.com"]);
    let bob = leads.iter().find(|l| l["email"] == "bob@acme.com").unwrap();
    assert_eq!(
        (bob["first_name"].as_str(), bob["last_name"].as_str()),
        (Some("Bob"), Some("Stone"))
    );

    let viewer = app.create_key(&tenant, "viewer").await;
    app.post(
        &format!("/v1/hooks/leads/{source}"),
        &viewer,
        json!({"email": "dan@acme.com"}),
    )
    .await
    .problem(403);
}

#[tokio::test]
async fn a_source_of_tenant_a_is_404_for_tenant_b() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    let campaign = app.create_campaign(&a.admin_key, "Inbound").await;
    let (source, _) = webhook_source(&app, &a, &campaign, json!({})).await;
    app.get(&format!("/v1/lead-sources/{source}"), &b.admin_key)
        .await
        .problem(404);
    app.delete(&format!("/v1/lead-sources/{source}"), &b.admin_key)
        .await
        .problem(404);
    app.post(
        &format!("/v1/hooks/leads/{source}"),
        &b.admin_key,
        json!({"email": "evil@b.com"}),
    )
    .await
    .problem(404);
    // B cannot point a source at A's campaign either.
    let foreign = app
        .post(
            "/v1/lead-sources",
            &b.admin_key,
            json!({"type": "webhook", "campaign_id": campaign}),
        )
        .await;
    assert_eq!(foreign.problem(422)["errors"][0]["field"], "/campaign_id");
    app.get(&format!("/v1/lead-sources/{source}"), &a.admin_key)
        .await
        .ok(200);
    app.delete(&format!("/v1/lead-sources/{source}"), &a.admin_key)
        .await
        .ok(204);
    app.post(
        &format!("/v1/hooks/leads/{source}"),
        &a.admin_key,
        json!({"email": "x@a.com"}),
    )
    .await
    .problem(404);
}

#[tokio::test]
async fn sheet_sources_need_a_url_and_a_sane_interval() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let campaign = app.create_campaign(&tenant.admin_key, "Sheets").await;
    let missing = app
        .post(
            "/v1/lead-sources",
            &tenant.admin_key,
            json!({"type": "google_sheet", "campaign_id": campaign}),
        )
        .await;
    assert_eq!(missing.problem(422)["errors"][0]["field"], "/url");
    let fast = app
        .post(
            "/v1/lead-sources",
            &tenant.admin_key,
            json!({"type": "google_sheet", "campaign_id": campaign, "url": "https://docs.google.com/spreadsheets/d/x/export?format=csv", "poll_interval_seconds": 5}),
        )
        .await;
    assert_eq!(fast.problem(422)["errors"][0]["field"], "/poll_interval_seconds");
    let ok = app
        .post(
            "/v1/lead-sources",
            &tenant.admin_key,
            json!({"type": "google_sheet", "campaign_id": campaign, "url": "https://docs.google.com/spreadsheets/d/x/export?format=csv"}),
        )
        .await;
    let body = ok.ok(201);
    assert_eq!(body["poll_interval_seconds"], 300);
    assert!(body.get("secret").is_none());
}
