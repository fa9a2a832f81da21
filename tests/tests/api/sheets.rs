use integration_tests::TestApp;
use serde_json::json;
use std::sync::{Arc, Mutex};

/// A local HTTP server serving a "sheet" export whose rows the test appends.
async fn serve_sheet(sheet: Arc<Mutex<String>>) -> String {
    let app = axum::Router::new().route(
        "/export",
        axum::routing::get(move || {
            let sheet = sheet.clone();
            async move { ([("content-type", "text/csv")], sheet.lock().unwrap().clone()) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}/export?format=csv")
}

#[tokio::test]
async fn three_polls_of_a_growing_sheet_take_each_row_once() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Sheet").await;
    let sheet = Arc::new(Mutex::new("Email,First Name\nann@acme.com,Ann\n".to_string()));
    let url = serve_sheet(sheet.clone()).await;
    let source = app
        .post(
            "/v1/lead-sources",
            key,
            json!({"type": "google_sheet", "campaign_id": campaign, "url": url, "poll_interval_seconds": 60}),
        )
        .await
        .id();

    let mut now = chrono::Utc::now();
    let first = app.scheduler.tick(now).await.unwrap();
    assert_eq!(first.sheets_polled, 1);
    // Not due again until its interval has passed.
    assert_eq!(
        app.scheduler
            .tick(now + chrono::Duration::seconds(30))
            .await
            .unwrap()
            .sheets_polled,
        0
    );

    sheet.lock().unwrap().push_str("bob@acme.com,Bob\ncat@acme.com,Cat\n");
    now += chrono::Duration::seconds(61);
    assert_eq!(app.scheduler.tick(now).await.unwrap().sheets_polled, 1);
    sheet.lock().unwrap().push_str("dan@acme.com,Dan\n");
    now += chrono::Duration::seconds(61);
    app.scheduler.tick(now).await.unwrap();
    app.deliver_lead_batches().await;

    let leads = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), key, 100)
        .await;
    let mut emails: Vec<_> = leads.iter().map(|l| l["email"].as_str().unwrap().to_string()).collect();
    emails.sort();
    assert_eq!(emails, ["ann@acme.com", "bob@acme.com", "cat@acme.com", "dan@acme.com"]);
    assert!(leads.iter().all(|l| l["source"] == "google_sheet"));

    let source = app.get(&format!("/v1/lead-sources/{source}"), key).await;
    let poll = &source.ok(200)["last_poll"];
    assert_eq!(
        (poll["status"].as_str(), poll["new_rows"].as_u64()),
        (Some("ok"), Some(1))
    );
    // No import job counted a row twice.
    let job = app
        .get(&format!("/v1/imports/{}", poll["import_id"].as_str().unwrap()), key)
        .await;
    assert_eq!(
        (job.ok(200)["created"].as_u64(), job.body["duplicates"].as_u64()),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn an_unreachable_sheet_is_recorded_on_its_source() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Sheet").await;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{closed}/export");
    let source = app
        .post(
            "/v1/lead-sources",
            key,
            json!({"type": "google_sheet", "campaign_id": campaign, "url": url}),
        )
        .await
        .id();
    let report = app.scheduler.tick(chrono::Utc::now()).await.unwrap();
    assert_eq!((report.sheets_polled, report.sheets_failed), (1, 1));
    let source = app.get(&format!("/v1/lead-sources/{source}"), key).await;
    let poll = &source.ok(200)["last_poll"];
    assert_eq!(poll["status"], "error");
    assert!(poll["error"].as_str().unwrap().contains("could not fetch"));
    assert!(source.body["next_poll_at"].is_string());
}
