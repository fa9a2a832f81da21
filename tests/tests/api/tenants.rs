use integration_tests::TestApp;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_operator_creates_a_tenant_with_a_working_admin_key() {
    let app = TestApp::spawn().await;
    let answer = app
        .post("/v1/tenants", &app.operator_key, json!({"name": "  Acme Agency "}))
        .await;
    let body = answer.ok(201);
    assert_eq!(body["name"], "Acme Agency");
    let key = body["admin_api_key"].as_str().unwrap();
    assert!(key.starts_with("cck_"));
    // The key works at once, as an admin.
    app.get("/v1/api-keys", key).await.ok(200);
    let read_back = app
        .get(&format!("/v1/tenants/{}", answer.id()), &app.operator_key)
        .await;
    assert_eq!(read_back.ok(200)["name"], "Acme Agency");
    assert!(
        read_back.body.get("admin_api_key").is_none(),
        "the key is shown only once"
    );
}

#[tokio::test]
async fn creating_a_tenant_needs_the_operator_key() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "Acme"});
    let none = app.call(Method::POST, "/v1/tenants", None, Some(body.clone())).await;
    none.problem(401);
    app.post("/v1/tenants", "cco_not-the-key", body.clone())
        .await
        .problem(401);
    let tenant = app.create_tenant("Acme").await;
    // A valid tenant key is known but not allowed here.
    app.post("/v1/tenants", &tenant.admin_key, body).await.problem(403);
}

#[tokio::test]
async fn bad_tenant_input_is_refused_with_the_field() {
    let app = TestApp::spawn().await;
    let blank = app.post("/v1/tenants", &app.operator_key, json!({"name": "   "})).await;
    assert_eq!(blank.problem(422)["errors"][0]["field"], "/name");
    let missing = app.post("/v1/tenants", &app.operator_key, json!({})).await;
    assert_eq!(missing.problem(422)["errors"][0]["field"], "/");
    let unknown = app
        .post("/v1/tenants", &app.operator_key, json!({"name": "A", "plan": "gold"}))
        .await;
    assert_eq!(unknown.problem(422)["errors"][0]["field"], "/plan");
    let response = app
        .client
        .post(format!("{}/v1/tenants", app.base_url))
        .bearer_auth(&app.operator_key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    TestApp::answer(response).await.problem(400);
}

#[tokio::test]
async fn a_tenant_key_reads_only_its_own_tenant() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("A").await;
    let b = app.create_tenant("B").await;
    app.get(&format!("/v1/tenants/{}", a.id), &a.admin_key).await.ok(200);
    app.get(&format!("/v1/tenants/{}", a.id), &b.admin_key)
        .await
        .problem(404);
    app.get("/v1/tenants/00000000-0000-0000-0000-000000000000", &app.operator_key)
        .await
        .problem(404);
    app.get("/v1/tenants/not-an-id", &app.operator_key).await.problem(404);
}
