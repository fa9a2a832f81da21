//! `GET /v1/campaigns/{id}/export.csv` on the local stack: a launched campaign
//! whose emails were sent, delivered, opened and clicked (through the SES
//! simulator), read back as CSV; and another tenant's key finds nothing.

use crate::tracking::{DEMO, at, launched, mailbox};
use integration_tests::TestApp;
use serde_json::json;
use std::collections::HashMap;

fn rows(csv: &str) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header.iter().cloned().zip(r.iter().map(str::to_string)).collect()
        })
        .collect();
    (header, rows)
}

#[tokio::test]
async fn a_sent_and_opened_campaign_exports_one_row_per_lead_with_what_its_emails_did() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = tenant.admin_key.clone();
    let (mailbox, _) = mailbox(&app, &key).await;
    app.clock.set(at("2026-03-02T07:00:00Z"));
    let addresses = [
        "opener@prospect.io",
        "clicker@prospect.io",
        "quiet@prospect.io",
        "bounce@simulator.amazonses.com",
    ];
    let campaign = launched(
        &app,
        &key,
        &mailbox,
        json!({"track_opens": true, "track_clicks": true}),
        &addresses,
    )
    .await;
    // One lead added after the launch: no email yet.
    app.add_leads(
        &key,
        &campaign,
        json!({"leads": [{"email": "late@prospect.io", "first_name": "=1+1", "last_name": "O'Brien, Jr.",
                          "company_name": "Late \"Co\""}]}),
    )
    .await
    .ok(200);
    app.run_at(at("2026-03-02T09:00:00Z")).await;
    let leads: HashMap<String, String> = app
        .collect_all(&format!("/v1/campaigns/{campaign}/leads"), &key, 100)
        .await
        .into_iter()
        .map(|l| {
            (
                l["email"].as_str().unwrap().to_string(),
                l["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let email_of = |lead: &str| {
        let app = &app;
        let key = &key;
        let lead = leads[lead].clone();
        async move {
            let emails = app.get(&format!("/v1/leads/{lead}/emails"), key).await;
            emails.ok(200)["items"][0]["id"].as_str().unwrap().to_string()
        }
    };
    app.simulate_open(&email_of("opener@prospect.io").await).await.ok(202);
    app.simulate_click(&email_of("clicker@prospect.io").await, DEMO)
        .await
        .ok(202);

    let response = app
        .client
        .get(format!("{}/v1/campaigns/{campaign}/export.csv", app.base_url))
        .header("X-Api-Key", app.create_key(&tenant, "viewer").await)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_string();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header("content-disposition"),
        format!("attachment; filename=\"campaign-{campaign}.csv\"")
    );
    assert_eq!(header("transfer-encoding"), "chunked", "streamed, not buffered");
    let csv = response.text().await.unwrap();
    let (columns, rows) = rows(&csv);
    assert_eq!(
        columns,
        [
            "lead_id",
            "email",
            "first_name",
            "last_name",
            "company",
            "status",
            "score",
            "score_band",
            "last_email_status",
            "last_email_step",
            "last_email_sent_at",
            "opened",
            "clicked",
            "replied",
            "reply_classification"
        ]
    );
    assert_eq!(rows.len(), 5, "{csv}");
    let row = |email: &str| {
        rows.iter()
            .find(|r| r["email"] == email)
            .unwrap_or_else(|| panic!("{email}: {csv}"))
    };
    let expect = |email: &str, status: &str, last: &str, opened: &str, clicked: &str| {
        let r = row(email);
        assert_eq!(r["lead_id"], leads[email], "{email}");
        assert_eq!(
            (
                r["status"].as_str(),
                r["last_email_status"].as_str(),
                r["opened"].as_str(),
                r["clicked"].as_str(),
                r["replied"].as_str(),
                r["reply_classification"].as_str()
            ),
            (status, last, opened, clicked, "false", ""),
            "{email}"
        );
    };
    expect("opener@prospect.io", "contacted", "opened", "true", "false");
    expect("clicker@prospect.io", "contacted", "clicked", "true", "true");
    expect("quiet@prospect.io", "contacted", "delivered", "false", "false");
    expect("bounce@simulator.amazonses.com", "bounced", "bounced", "false", "false");
    expect("late@prospect.io", "new", "", "false", "false");
    let opener = row("opener@prospect.io");
    assert_eq!(opener["first_name"], "Pat");
    assert_eq!(opener["last_email_step"], "1");
    assert_eq!(opener["last_email_sent_at"], "2026-03-02T09:00:00Z");
    assert!(!opener["score"].is_empty() && ["hot", "warm", "cold"].contains(&opener["score_band"].as_str()));
    let late = row("late@prospect.io");
    assert_eq!(
        (
            late["first_name"].as_str(),
            late["last_name"].as_str(),
            late["company"].as_str()
        ),
        ("'=1+1", "O'Brien, Jr.", "Late \"Co\""),
        "quoted by the csv crate; a formula is defused"
    );
    assert_eq!(
        (late["last_email_step"].as_str(), late["last_email_sent_at"].as_str()),
        ("", "")
    );
}

#[tokio::test]
async fn another_tenants_campaign_is_not_found_and_nothing_leaks() {
    let app = TestApp::spawn().await;
    let owner = app.create_tenant("Owner").await;
    let other = app.create_tenant("Other").await;
    let campaign = app.create_campaign(&owner.admin_key, "Secret").await;
    app.add_leads(
        &owner.admin_key,
        &campaign,
        json!({"leads": [{"email": "secret@prospect.io"}]}),
    )
    .await
    .ok(200);
    let path = format!("/v1/campaigns/{campaign}/export.csv");
    let (status, content_type, body) = app.get_text(&path, &other.admin_key).await;
    assert_eq!(
        (status.as_u16(), content_type.as_str()),
        (404, "application/problem+json")
    );
    assert!(!body.contains("secret@prospect.io"));
    let answer = app.get(&path, &other.admin_key).await;
    assert_eq!(answer.problem(404)["type"], "/problems/not-found");
    // No key, and a malformed id.
    app.call(reqwest::Method::GET, &path, None, None).await.problem(401);
    app.get("/v1/campaigns/not-an-id/export.csv", &owner.admin_key)
        .await
        .problem(404);
    // The owner gets it.
    let (status, content_type, body) = app.get_text(&path, &owner.admin_key).await;
    assert_eq!(
        (status.as_u16(), content_type.as_str()),
        (200, "text/csv; charset=utf-8")
    );
    assert_eq!(body.lines().count(), 2, "{body}");
}
