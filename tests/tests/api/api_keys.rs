use integration_tests::TestApp;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn an_admin_creates_lists_and_revokes_keys() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let created = app
        .post(
            "/v1/api-keys",
            &tenant.admin_key,
            json!({"name": "n8n", "role": "manager"}),
        )
        .await;
    let body = created.ok(201);
    let secret = body["key"].as_str().unwrap().to_string();
    assert_eq!(body["role"], "manager");
    // cck_<tenant>_<key id>_<secret>; the secret is base64url and may itself contain '_'.
    let secret_part = secret.splitn(4, '_').nth(3).unwrap();
    assert!(secret_part.len() >= 43, "at least 32 random bytes");

    let listed = app.get("/v1/api-keys", &tenant.admin_key).await;
    let items = listed.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let n8n = items.iter().find(|k| k["name"] == "n8n").unwrap();
    assert_eq!(n8n["role"], "manager");
    let prefix = n8n["prefix"].as_str().unwrap();
    assert!(
        prefix.starts_with("cck_") && secret.contains(&format!("_{}", &prefix[4..])),
        "the prefix identifies the key"
    );
    assert!(n8n.get("created_at").is_some() && n8n.get("last_used_at").is_some());
    let listing_text = listed.body.to_string();
    assert!(!listing_text.contains(secret_part), "secrets are never listed");
    assert!(!listing_text.contains("sha256"), "hashes are never listed");

    // The new key works, with either header; revoking it stops it at once.
    app.get("/v1/campaigns", &secret).await.ok(200);
    let with_header = app
        .client
        .get(format!("{}/v1/campaigns", app.base_url))
        .header("X-Api-Key", &secret)
        .send()
        .await
        .unwrap();
    assert_eq!(with_header.status(), 200);
    app.delete(&format!("/v1/api-keys/{}", created.id()), &tenant.admin_key)
        .await
        .ok(204);
    app.get("/v1/campaigns", &secret).await.problem(401);
    app.delete(&format!("/v1/api-keys/{}", created.id()), &tenant.admin_key)
        .await
        .problem(404);
}

#[tokio::test]
async fn using_a_key_records_when_it_was_last_used() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let viewer = app.create_key(&tenant, "viewer").await;
    app.get("/v1/campaigns", &viewer).await.ok(200);
    let keys = app.get("/v1/api-keys", &tenant.admin_key).await;
    let viewer_entry = keys.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "viewer")
        .unwrap()
        .clone();
    assert!(viewer_entry["last_used_at"].is_string(), "{viewer_entry}");
}

#[tokio::test]
async fn roles_limit_what_a_key_may_do() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let manager = app.create_key(&tenant, "manager").await;
    let viewer = app.create_key(&tenant, "viewer").await;
    let new_key = json!({"name": "x", "role": "viewer"});
    app.post("/v1/api-keys", &manager, new_key.clone()).await.problem(403);
    app.post("/v1/api-keys", &viewer, new_key).await.problem(403);
    app.get("/v1/api-keys", &manager).await.problem(403);
    // viewer reads, never writes; manager writes data.
    app.get("/v1/campaigns", &viewer).await.ok(200);
    app.post("/v1/campaigns", &viewer, json!({"name": "x"}))
        .await
        .problem(403);
    app.post("/v1/organizations", &viewer, json!({"email_domain": "acme.com"}))
        .await
        .problem(403);
    let campaign = app.create_campaign(&manager, "Q1").await;
    app.post(
        &format!("/v1/campaigns/{campaign}/leads"),
        &viewer,
        json!({"email": "a@b.co"}),
    )
    .await
    .problem(403);
    app.post(&format!("/v1/campaigns/{campaign}/activate"), &viewer, json!({}))
        .await
        .problem(403);
    app.delete(&format!("/v1/campaigns/{campaign}"), &viewer)
        .await
        .problem(403);
    // Nothing changed.
    let campaign_now = app.get(&format!("/v1/campaigns/{campaign}"), &viewer).await;
    assert_eq!(campaign_now.ok(200)["status"], "draft");
}

#[tokio::test]
async fn missing_or_bad_keys_are_401() {
    let app = TestApp::spawn().await;
    app.call(Method::GET, "/v1/campaigns", None, None).await.problem(401);
    app.get("/v1/campaigns", "cck_garbage").await.problem(401);
    let tenant = app.create_tenant("Acme").await;
    let mut tampered = tenant.admin_key.clone();
    tampered.pop();
    tampered.push('x');
    app.get("/v1/campaigns", &tampered).await.problem(401);
    let answer = app.call(Method::GET, "/v1/campaigns", None, None).await;
    assert!(answer.body["detail"].as_str().unwrap().contains("X-Api-Key"));
}

#[tokio::test]
async fn the_last_admin_key_cannot_be_revoked() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let keys = app.get("/v1/api-keys", &tenant.admin_key).await;
    let admin_id = keys.body["items"][0]["id"].as_str().unwrap().to_string();
    let refused = app.delete(&format!("/v1/api-keys/{admin_id}"), &tenant.admin_key).await;
    assert!(
        refused.problem(409)["detail"]
            .as_str()
            .unwrap()
            .contains("last admin key")
    );
    // With a second admin key the first can go.
    let second = app.create_key(&tenant, "admin").await;
    app.delete(&format!("/v1/api-keys/{admin_id}"), &second).await.ok(204);
    app.get("/v1/api-keys", &tenant.admin_key).await.problem(401);
}

#[tokio::test]
async fn bad_key_requests_name_the_field() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let answer = app
        .post("/v1/api-keys", &tenant.admin_key, json!({"name": "x", "role": "owner"}))
        .await;
    assert_eq!(answer.problem(422)["errors"][0]["field"], "/role");
    let answer = app
        .post("/v1/api-keys", &tenant.admin_key, json!({"name": "", "role": "viewer"}))
        .await;
    assert_eq!(answer.problem(422)["errors"][0]["field"], "/name");
}

/// Every tenant route: no key is 401; a viewer key on a writing route is 403
/// and changes nothing.
#[tokio::test]
async fn every_route_checks_the_key_and_its_role() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    let viewer = app.create_key(&tenant, "viewer").await;
    let campaign = app.create_campaign(&tenant.admin_key, "Q1").await;
    let org = app.create_organization(&tenant.admin_key, "acme.com").await;
    let lead = app
        .add_leads(&tenant.admin_key, &campaign, json!({"email": "ann@acme.com"}))
        .await
        .id();
    let key_id = app
        .post(
            "/v1/api-keys",
            &tenant.admin_key,
            json!({"name": "x", "role": "viewer"}),
        )
        .await
        .id();

    let reads = [
        format!("/v1/tenants/{}", tenant.id),
        "/v1/api-keys".to_string(),
        "/v1/campaigns".to_string(),
        format!("/v1/campaigns/{campaign}"),
        format!("/v1/campaigns/{campaign}/leads"),
        "/v1/organizations".to_string(),
        format!("/v1/organizations/{org}"),
        "/v1/leads?email=ann@acme.com".to_string(),
        format!("/v1/leads/{lead}"),
    ];
    let writes: Vec<(Method, String, serde_json::Value)> = vec![
        (
            Method::POST,
            "/v1/api-keys".into(),
            json!({"name": "y", "role": "admin"}),
        ),
        (Method::DELETE, format!("/v1/api-keys/{key_id}"), json!(null)),
        (Method::POST, "/v1/campaigns".into(), json!({"name": "new"})),
        (
            Method::PATCH,
            format!("/v1/campaigns/{campaign}"),
            json!({"name": "renamed"}),
        ),
        (Method::DELETE, format!("/v1/campaigns/{campaign}"), json!(null)),
        (Method::POST, format!("/v1/campaigns/{campaign}/activate"), json!({})),
        (Method::POST, format!("/v1/campaigns/{campaign}/pause"), json!({})),
        (Method::POST, format!("/v1/campaigns/{campaign}/complete"), json!({})),
        (Method::POST, format!("/v1/campaigns/{campaign}/archive"), json!({})),
        (
            Method::POST,
            format!("/v1/campaigns/{campaign}/leads"),
            json!({"email": "bob@acme.com"}),
        ),
        (
            Method::POST,
            "/v1/organizations".into(),
            json!({"email_domain": "globex.com"}),
        ),
        (
            Method::PATCH,
            format!("/v1/organizations/{org}"),
            json!({"name": "renamed"}),
        ),
        (Method::DELETE, format!("/v1/organizations/{org}"), json!(null)),
        (
            Method::PATCH,
            format!("/v1/leads/{lead}"),
            json!({"first_name": "renamed"}),
        ),
        (Method::DELETE, format!("/v1/leads/{lead}"), json!(null)),
    ];
    for path in &reads {
        app.call(Method::GET, path, None, None).await.problem(401);
        if !path.starts_with("/v1/api-keys") {
            app.get(path, &viewer).await.ok(200);
        }
    }
    for (method, path, body) in writes {
        let body = (!body.is_null()).then_some(body);
        let answer = app.call(method.clone(), &path, None, body.clone()).await;
        assert_eq!(answer.status, 401, "{method} {path} without a key");
        let answer = app.call(method.clone(), &path, Some(&viewer), body).await;
        assert_eq!(answer.status, 403, "{method} {path} with a viewer key: {}", answer.body);
    }
    // The viewer changed nothing.
    let read = app.get(&format!("/v1/campaigns/{campaign}"), &viewer).await;
    assert_eq!(read.ok(200)["name"], "Q1");
    assert_eq!(read.body["status"], "draft");
    app.get(&format!("/v1/leads/{lead}"), &viewer).await.ok(200);
    app.get(&format!("/v1/organizations/{org}"), &viewer).await.ok(200);
    let campaigns = app.get("/v1/campaigns", &viewer).await;
    assert_eq!(campaigns.ok(200)["items"].as_array().unwrap().len(), 1);
}
