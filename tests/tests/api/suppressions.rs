//! The suppression list and the recipients' one-click unsubscribe, through
//! the HTTP API against the local stack.

use cc_domain::ids::{EmailId, LeadId, TenantId};
use integration_tests::{TestApp, fields};
use reqwest::Method;
use serde_json::{Value, json};

fn values(listing: &[Value]) -> Vec<String> {
    listing
        .iter()
        .map(|e| e["value"].as_str().unwrap().to_string())
        .collect()
}

/// A POST as a mail client makes it under RFC 8058: a form body, no key.
async fn one_click(app: &TestApp, token: &str) -> (u16, String, String) {
    let response = app
        .client
        .post(format!("{}/v1/u/{token}", app.base_url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, content_type, response.text().await.unwrap())
}

fn token(app: &TestApp, tenant: &str, lead: &str) -> String {
    app.functions.api.link_signer.token(
        tenant.parse::<TenantId>().unwrap(),
        lead.parse::<LeadId>().unwrap(),
        EmailId::generate(),
    )
}

async fn lead_status(app: &TestApp, key: &str, lead: &str) -> (String, u64) {
    let answer = app.get(&format!("/v1/leads/{lead}"), key).await;
    let body = answer.ok(200);
    (
        body["status"].as_str().unwrap().to_string(),
        body["version"].as_u64().unwrap(),
    )
}

#[tokio::test]
async fn entries_are_added_listed_and_removed_with_field_errors_for_bad_input() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;

    let added = app
        .post(
            "/v1/suppressions",
            key,
            json!({"email": "Ann@Acme.com", "note": "asked by phone"}),
        )
        .await;
    let body = added.ok(201);
    assert_eq!(body["email"], "Ann@acme.com");
    assert_eq!(body["domain"], Value::Null);
    assert_eq!(body["value"], "ann@acme.com");
    assert_eq!(
        (body["reason"].clone(), body["source"].clone()),
        (json!("manual"), json!("api"))
    );
    assert!(body.get("tenant_id").is_none());
    let domain = app
        .post(
            "/v1/suppressions",
            key,
            json!({"domain": "Globex.com", "reason": "do_not_contact"}),
        )
        .await;
    assert_eq!(domain.ok(201)["value"], "globex.com");
    // The same target again replaces its entry.
    app.post(
        "/v1/suppressions",
        key,
        json!({"email": "ann@acme.com", "reason": "complained"}),
    )
    .await
    .ok(201);
    for extra in ["a@initech.com", "b@initech.com"] {
        app.post("/v1/suppressions", key, json!({ "email": extra }))
            .await
            .ok(201);
    }

    let listed = app.collect_all("/v1/suppressions", key, 2).await;
    assert_eq!(
        values(&listed),
        ["a@initech.com", "ann@acme.com", "b@initech.com", "globex.com"]
    );
    assert_eq!(listed[1]["reason"], "complained");
    assert_eq!(listed[1]["note"], Value::Null);

    for (input, expected) in [
        (json!({"email": "a@b.co", "domain": "b.co"}), vec!["/domain"]),
        (json!({}), vec!["/email"]),
        (json!({"email": "not-an-address"}), vec!["/email"]),
        (json!({"domain": "nodot"}), vec!["/domain"]),
        (json!({"email": "a@b.co", "reason": "spam"}), vec!["/reason"]),
    ] {
        let refused = app.post("/v1/suppressions", key, input.clone()).await;
        assert_eq!(fields(refused.problem(422)), expected, "{input}");
    }

    let unknown = app
        .post("/v1/suppressions", key, json!({"email": "a@b.co", "colour": "red"}))
        .await;
    assert!(unknown.problem(422)["detail"].as_str().unwrap().contains("colour"));

    app.delete("/v1/suppressions/ANN%40acme.com", key).await.ok(204);
    app.delete("/v1/suppressions/globex.com", key).await.ok(204);
    app.delete("/v1/suppressions/globex.com", key).await.problem(404);
    app.delete("/v1/suppressions/not%20a%20value", key).await.problem(404);
    let listed = app.collect_all("/v1/suppressions", key, 50).await;
    assert_eq!(values(&listed), ["a@initech.com", "b@initech.com"]);

    // A viewer reads the list but cannot change it; no key, no list.
    let viewer = app.create_key(&tenant, "viewer").await;
    app.get("/v1/suppressions", &viewer).await.ok(200);
    app.post("/v1/suppressions", &viewer, json!({"email": "x@y.co"}))
        .await
        .problem(403);
    app.call(Method::GET, "/v1/suppressions", None, None).await.problem(401);
}

#[tokio::test]
async fn tenants_cannot_see_or_remove_each_others_entries() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    app.post("/v1/suppressions", &a.admin_key, json!({"email": "ann@acme.com"}))
        .await
        .ok(201);
    app.post("/v1/suppressions", &a.admin_key, json!({"domain": "globex.com"}))
        .await
        .ok(201);

    let seen_by_b = app.get("/v1/suppressions", &b.admin_key).await;
    assert_eq!(seen_by_b.ok(200)["items"], json!([]));
    app.delete("/v1/suppressions/ann@acme.com", &b.admin_key)
        .await
        .problem(404);
    app.delete("/v1/suppressions/globex.com", &b.admin_key)
        .await
        .problem(404);
    // A's cursor is refused when B presents it.
    let first = app.get("/v1/suppressions?limit=1", &a.admin_key).await;
    let cursor = first.ok(200)["next_cursor"].as_str().unwrap().to_string();
    app.get(&format!("/v1/suppressions?cursor={cursor}"), &b.admin_key)
        .await
        .problem(400);

    let listed = app.collect_all("/v1/suppressions", &a.admin_key, 50).await;
    assert_eq!(values(&listed), ["ann@acme.com", "globex.com"]);
}

#[tokio::test]
async fn one_click_unsubscribes_every_lead_of_the_tenant_with_the_address() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let (spring, autumn) = (
        app.create_campaign(key, "Spring").await,
        app.create_campaign(key, "Autumn").await,
    );
    let ann = app.add_leads(key, &spring, json!({"email": "ann@acme.com"})).await.id();
    let ann_again = app.add_leads(key, &autumn, json!({"email": "ANN@Acme.com"})).await.id();
    let bob = app.add_leads(key, &spring, json!({"email": "bob@acme.com"})).await.id();
    let other = app.create_tenant("Other").await;
    let other_campaign = app.create_campaign(&other.admin_key, "Theirs").await;
    let theirs = app
        .add_leads(&other.admin_key, &other_campaign, json!({"email": "ann@acme.com"}))
        .await
        .id();

    let token = token(&app, &tenant.id, &ann);
    // Opening the link only shows the confirmation page; nothing changes yet.
    let (status, content_type, page) = app.get_text(&format!("/v1/u/{token}"), "").await;
    assert_eq!(status.as_u16(), 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(page.contains("<form method=\"post\""), "{page}");
    assert_eq!(lead_status(&app, key, &ann).await.0, "new");

    let (status, content_type, page) = one_click(&app, &token).await;
    assert_eq!(status, 200, "{page}");
    assert!(content_type.starts_with("text/html"));
    assert!(page.contains("You are unsubscribed"));
    for lead in [&ann, &ann_again] {
        assert_eq!(lead_status(&app, key, lead).await, ("unsubscribed".into(), 2));
    }
    assert_eq!(lead_status(&app, key, &bob).await, ("new".into(), 1));
    let listed = app.collect_all("/v1/suppressions", key, 50).await;
    assert_eq!(values(&listed), ["ann@acme.com"]);
    assert_eq!(
        (listed[0]["reason"].clone(), listed[0]["source"].clone()),
        (json!("unsubscribed"), json!("one_click"))
    );

    // The other tenant's lead with the same address is not theirs to change.
    assert_eq!(lead_status(&app, &other.admin_key, &theirs).await, ("new".into(), 1));
    let theirs_listed = app.get("/v1/suppressions", &other.admin_key).await;
    assert_eq!(theirs_listed.ok(200)["items"], json!([]));

    // Mail clients may post twice: the same answer, nothing changes again.
    let (status, _, page) = one_click(&app, &token).await;
    assert_eq!(status, 200);
    assert!(page.contains("You are unsubscribed"));
    assert_eq!(lead_status(&app, key, &ann).await, ("unsubscribed".into(), 2));
}

#[tokio::test]
async fn a_tampered_or_foreign_token_changes_nothing() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let key = &tenant.admin_key;
    let campaign = app.create_campaign(key, "Spring").await;
    let ann = app
        .add_leads(key, &campaign, json!({"email": "ann@acme.com"}))
        .await
        .id();
    let token = token(&app, &tenant.id, &ann);

    let mut tampered: Vec<char> = token.chars().collect();
    tampered[30] = if tampered[30] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let forged = cc_domain::unsubscribe::LinkSigner::new(&[1; 32]).unwrap().token(
        tenant.id.parse().unwrap(),
        ann.parse().unwrap(),
        EmailId::generate(),
    );
    for bad in [tampered.as_str(), forged.as_str(), "not-a-token"] {
        let (status, content_type, page) = one_click(&app, bad).await;
        assert_eq!(status, 404, "{page}");
        assert!(content_type.starts_with("text/html"));
        assert!(page.contains("not valid"), "{page}");
        let (status, _, _) = app.get_text(&format!("/v1/u/{bad}"), "").await;
        assert_eq!(status.as_u16(), 404);
    }
    assert_eq!(lead_status(&app, key, &ann).await, ("new".into(), 1));
    assert_eq!(app.get("/v1/suppressions", key).await.ok(200)["items"], json!([]));
}
