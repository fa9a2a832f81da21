use integration_tests::TestApp;
use reqwest::Method;

#[tokio::test]
async fn health_needs_no_key() {
    let app = TestApp::spawn().await;
    let answer = app.call(Method::GET, "/v1/health", None, None).await;
    assert_eq!(answer.ok(200)["status"], "ok");
}

#[tokio::test]
async fn the_served_openapi_document_is_the_committed_one() {
    let app = TestApp::spawn().await;
    let answer = app.call(Method::GET, "/v1/openapi.json", None, None).await;
    let committed: serde_json::Value = serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
    assert_eq!(answer.ok(200), &committed);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problem_json() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("Acme").await;
    app.get("/v1/nothing-here", &tenant.admin_key).await.problem(404);
    app.call(Method::PUT, "/v1/campaigns", Some(&tenant.admin_key), None)
        .await
        .problem(405);
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/v1/health", app.base_url))
        .send()
        .await
        .unwrap();
    assert!(response.headers().get("x-request-id").is_some());
}
