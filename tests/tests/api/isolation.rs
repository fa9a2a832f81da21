//! Tenant B's admin key against every route that takes one of tenant A's ids:
//! always 404, and A's data reads back unchanged afterwards.

use integration_tests::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn another_tenant_sees_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    let campaign = app.create_campaign(&a.admin_key, "A's campaign").await;
    let org = app.create_organization(&a.admin_key, "acme.com").await;
    let lead = app
        .add_leads(&a.admin_key, &campaign, json!({"email": "ann@acme.com"}))
        .await
        .id();
    let a_key = app
        .post("/v1/api-keys", &a.admin_key, json!({"name": "second", "role": "admin"}))
        .await
        .id();

    let a_paths = [
        format!("/v1/campaigns/{campaign}"),
        format!("/v1/organizations/{org}"),
        format!("/v1/leads/{lead}"),
        format!("/v1/tenants/{}", a.id),
        format!("/v1/campaigns/{campaign}/leads"),
        "/v1/api-keys".to_string(),
    ];
    let before = snapshot(&app, &a.admin_key, &a_paths).await;

    let attempts: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/v1/tenants/{}", a.id), None),
        (Method::GET, format!("/v1/campaigns/{campaign}"), None),
        (Method::GET, format!("/v1/campaigns/{campaign}/emails"), None),
        (Method::GET, format!("/v1/leads/{lead}/emails"), None),
        (
            Method::PUT,
            format!("/v1/campaigns/{campaign}/sequence"),
            Some(json!({"steps": [{"variants": [{"template_id": uuid::Uuid::new_v4()}]}]})),
        ),
        (
            Method::POST,
            format!("/v1/campaigns/{campaign}/activate?dry_run=true"),
            Some(json!({})),
        ),
        (
            Method::PATCH,
            format!("/v1/campaigns/{campaign}"),
            Some(json!({"name": "stolen"})),
        ),
        (Method::DELETE, format!("/v1/campaigns/{campaign}"), None),
        (
            Method::POST,
            format!("/v1/campaigns/{campaign}/activate"),
            Some(json!({})),
        ),
        (Method::POST, format!("/v1/campaigns/{campaign}/pause"), Some(json!({}))),
        (
            Method::POST,
            format!("/v1/campaigns/{campaign}/complete"),
            Some(json!({})),
        ),
        (
            Method::POST,
            format!("/v1/campaigns/{campaign}/archive"),
            Some(json!({})),
        ),
        (Method::GET, format!("/v1/campaigns/{campaign}/leads"), None),
        (
            Method::POST,
            format!("/v1/campaigns/{campaign}/leads"),
            Some(json!({"email": "evil@b.com"})),
        ),
        (
            Method::POST,
            format!("/v1/campaigns/{campaign}/leads"),
            Some(json!([{"email": "evil@b.com"}])),
        ),
        (Method::GET, format!("/v1/organizations/{org}"), None),
        (
            Method::PATCH,
            format!("/v1/organizations/{org}"),
            Some(json!({"name": "stolen"})),
        ),
        (Method::DELETE, format!("/v1/organizations/{org}"), None),
        (Method::GET, format!("/v1/leads/{lead}"), None),
        (
            Method::PATCH,
            format!("/v1/leads/{lead}"),
            Some(json!({"first_name": "stolen"})),
        ),
        (Method::DELETE, format!("/v1/leads/{lead}"), None),
        (Method::DELETE, format!("/v1/api-keys/{a_key}"), None),
    ];
    for (method, path, body) in attempts {
        let answer = app.call(method.clone(), &path, Some(&b.admin_key), body).await;
        assert_eq!(
            answer.status, 404,
            "{method} {path} answered {} {}",
            answer.status, answer.body
        );
    }

    // Nothing of A's shows up in B's listings or lookups either.
    let b_leads = app.get("/v1/leads?email=ann@acme.com", &b.admin_key).await;
    assert!(b_leads.ok(200)["items"].as_array().unwrap().is_empty());
    let b_orgs = app.get("/v1/organizations?email_domain=acme.com", &b.admin_key).await;
    assert!(b_orgs.ok(200)["items"].as_array().unwrap().is_empty());
    assert!(
        app.get("/v1/campaigns", &b.admin_key).await.ok(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    assert_eq!(
        snapshot(&app, &a.admin_key, &a_paths).await,
        before,
        "tenant A's data is unchanged"
    );
}

/// What tenant A reads at these paths (key use times aside).
async fn snapshot(app: &TestApp, key: &str, paths: &[String]) -> Vec<Value> {
    let mut state = Vec::new();
    for path in paths {
        let mut body = app.get(path, key).await.ok(200).clone();
        strip_last_used(&mut body);
        state.push(body);
    }
    state
}

fn strip_last_used(body: &mut Value) {
    if let Some(items) = body.get_mut("items").and_then(Value::as_array_mut) {
        for item in items {
            if let Some(object) = item.as_object_mut() {
                object.remove("last_used_at");
            }
        }
    }
}
